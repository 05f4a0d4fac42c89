import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTs } from '../helpers/spawn';

const ROOT = join(__dirname, '..', '..');

/** The ```ts block that follows `<!-- example: NAME -->` in the README or the docs it sends readers to. */
function readmeExample(name: string): string {
  for (const page of ['README.md', 'docs/guide.md', 'docs/wayland.md']) {
    const text = readFileSync(join(ROOT, page), 'utf8');
    const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(text);
    if (m) return m[1]!;
  }
  throw new Error(`no page has the example ${name}`);
}

describe('README examples run as written', function () {
  this.timeout(30000);

  it('the scene compositor, the compositor and the client examples are the files tests run (scene-example, ipc-examples)', () => {
    for (const name of ['scene-compositor', 'compositor', 'client']) {
      expect(readmeExample(name), name).to.equal(readFileSync(join(ROOT, `examples/${name}.ts`), 'utf8'));
    }
  });

  it('software buffer: allocate, map, draw, read the descriptor', async () => {
    const code = readmeExample('software-buffer');
    expect(code).to.equal(readFileSync(join(ROOT, 'examples/software-buffer.ts'), 'utf8').split('\n').slice(1).join('\n'));
    // Inside the package, so `import ... from 'bufshare'` resolves to this checkout (package.json exports).
    const file = join(ROOT, 'test', `.readme-example-${process.pid}.ts`);
    writeFileSync(file, code);
    try {
      const res = await runTs(file.slice(ROOT.length + 1), []);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.match(/^shm \{ offset: 0, stride: 1280 \} fds: 1\ndamage 256 px\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('the Wayland example is the file, and shows weston-simple-shm\'s window and frames', async function () {
    if (!existsSync('/usr/bin/weston-simple-shm')) this.skip(); // .ci/run installs weston
    expect(readmeExample('wayland')).to.equal(readFileSync(join(ROOT, 'examples/wayland.ts'), 'utf8'));
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-readme-wl-'));
    const display = join(dir, 'wayland-readme');
    const example = runTs('examples/wayland.ts', [display, '3']);
    try {
      const start = Date.now();
      while (!existsSync(display) && Date.now() - start < 10000) await new Promise((r) => setTimeout(r, 20));
      const client = spawn('weston-simple-shm', [], { stdio: 'ignore', env: { ...process.env, WAYLAND_DISPLAY: display } });
      const res = await example;
      client.kill('SIGKILL');
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.match(/window "simple-shm" 250x250 XRGB8888 from pid \d+\nframe 1: 62500 px damaged, top-left 0xffffffff\nframe 2: 44100 px damaged/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
