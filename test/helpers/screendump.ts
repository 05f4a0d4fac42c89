/**
 * qemu's own view of an emulated display, from inside the VM: asks the host's
 * QMP helper (test/vm/qmp-screendump.js, started by run.sh) for a `screendump`
 * of one display device through the shared job directory, and parses the PPM.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Screendump {
  readonly width: number;
  readonly height: number;
  /** RGB, 3 bytes per pixel, rows packed. */
  readonly rgb: Uint8Array;
}

/** The QMP device id run.sh gives each emulated GPU, by DRM driver name. */
export function qemuDisplayId(driver: string): string | undefined {
  return { 'bochs-drm': 'gpu-bochs', virtio_gpu: 'gpu-virtio', qxl: 'gpu-qxl', cirrus: 'gpu-cirrus' }[driver];
}

export function screendumpAvailable(): boolean {
  const dir = process.env.BUFSHARE_VM_SCREENDUMP;
  return dir !== undefined && existsSync(dir);
}

let counter = 0;

export async function screendump(device: string, timeoutMs = 15000): Promise<Screendump> {
  const dir = process.env.BUFSHARE_VM_SCREENDUMP!;
  const n = `${process.pid}-${++counter}`;
  // Written whole, then renamed: the host polls for *.req and must never read it half-written.
  writeFileSync(join(dir, `${n}.tmp`), device);
  renameSync(join(dir, `${n}.tmp`), join(dir, `${n}.req`));
  const done = join(dir, `${n}.done`);
  const end = Date.now() + timeoutMs;
  while (!existsSync(done)) {
    if (Date.now() > end) throw new Error(`no screendump of ${device} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const status = readFileSync(done, 'utf8');
  if (status !== 'ok') throw new Error(`screendump of ${device}: ${status}`);
  return parsePpm(readFileSync(join(dir, `${n}.ppm`)));
}

/** Binary PPM (P6, maxval 255): the header is three numbers after "P6", then one whitespace byte. */
export function parsePpm(data: Buffer): Screendump {
  let at = 2;
  const numbers: number[] = [];
  if (data.toString('latin1', 0, 2) !== 'P6') throw new Error('not a P6 PPM');
  while (numbers.length < 3) {
    while (/\s/.test(String.fromCharCode(data[at]!))) at++;
    if (data[at] === 0x23) { // comment
      while (data[at] !== 0x0a) at++;
      continue;
    }
    let s = '';
    while (/\d/.test(String.fromCharCode(data[at]!))) s += String.fromCharCode(data[at++]!);
    numbers.push(Number(s));
  }
  at++;
  const [width, height, max] = numbers as [number, number, number];
  if (max !== 255) throw new Error(`PPM maxval ${max}`);
  const rgb = new Uint8Array(data.buffer, data.byteOffset + at, width * height * 3);
  if (rgb.length < width * height * 3) throw new Error('short PPM');
  return { width, height, rgb };
}
