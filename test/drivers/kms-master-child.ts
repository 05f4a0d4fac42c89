/**
 * The "second process" of the device-ownership test: opens each card node given
 * in argv (a plain open(2), as a compositor or logind would), reports whether
 * that open made it DRM master, and modesets: a dumb XRGB8888 framebuffer on the
 * first connected connector's preferred mode with legacy SETCRTC (which needs
 * master). Prints one JSON line: per node, { path, master, modeset, error? }.
 */
import { DrmDevice } from '../../lib/drm';
import { discoverKms, preferredMode } from '../../lib/kms';
import * as native from '../../lib/native';
import { resolveFormat } from '../../lib/format';

interface Outcome {
  path: string;
  master: boolean;
  modeset: boolean;
  error?: string;
}

function modeset(path: string): Outcome {
  const fd = native.drmOpen(path);
  let master = false;
  try {
    master = native.drmIsMaster(fd);
    const device = DrmDevice.fromFd(fd);
    const kms = discoverKms(device);
    const connector = kms.connectors.find((c) => c.status === 'connected' && c.modes.length > 0);
    if (!connector) return { path, master, modeset: false, error: 'no connected connector' };
    const mode = preferredMode(connector)!;
    const crtc = kms.crtcs.find((c) => (connector.possibleCrtcs & (1 << c.index)) !== 0);
    if (!crtc) return { path, master, modeset: false, error: 'no CRTC for the connector' };
    const dumb = native.drmCreateDumb(fd, mode.hdisplay, mode.vdisplay, 32);
    const fb = native.kmsAddFb2(fd, mode.hdisplay, mode.vdisplay, resolveFormat('XRGB8888').fourcc,
      Uint32Array.of(dumb.handle), Uint32Array.of(dumb.pitch), Uint32Array.of(0));
    native.kmsSetCrtc(fd, crtc.id, fb, 0, 0, Uint32Array.of(connector.id), mode.raw);
    return { path, master, modeset: true };
  } catch (e) {
    return { path, master, modeset: false, error: `${(e as { code?: string }).code ?? ''} ${(e as Error).message}` };
  } finally {
    native.closeFd(fd); // closing also releases master and the framebuffer
  }
}

process.stdout.write(`${JSON.stringify(process.argv.slice(2).map(modeset))}\n`);
