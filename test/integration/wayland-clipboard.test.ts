/**
 * The clipboard between real clients (Debian's wl-clipboard) on the demo
 * compositor: text and a PNG copied by wl-copy are pasted by wl-paste, byte for
 * byte, the data going from one client's pipe to the other's; the compositor
 * reads the selection through its API (bounded) and sets one of its own that
 * wl-paste pastes.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Compositor } from '../../demos/compositor/compositor';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('clipboard: wl-copy and wl-paste on the demo compositor', function () {
  this.timeout(60000);
  let dir: string;
  let compositor: Compositor;
  let env: NodeJS.ProcessEnv;

  beforeEach(async function () {
    if (!existsSync('/usr/bin/wl-copy')) this.skip(); // .ci/run installs wl-clipboard
    dir = mkdtempSync(join(tmpdir(), 'bufshare-clipboard-'));
    chmodSync(dir, 0o700);
    compositor = await Compositor.start({ socketPath: join(dir, 'bufshare'), wayland: join(dir, 'wayland-clip') });
    env = { ...process.env, XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: 'wayland-clip' };
  });
  afterEach(async () => {
    // wl-copy stays in the background serving its selection until it is replaced: end it.
    await new Promise((r) => execFile('pkill', ['-x', 'wl-copy'], { env, timeout: 5000 }, () => r(undefined)));
    await compositor?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** wl-copy: it forks a child that serves the selection and keeps running, so only its exit is waited for. */
  function copy(args: string[], input: Buffer): Promise<number | null> {
    return new Promise((resolve) => {
      const child = spawn('wl-copy', args, { env, stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('exit', (code) => resolve(code));
      child.stdin.end(input);
    });
  }

  function run(cmd: string, args: string[], input?: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
      child.stdin.end(input ?? Buffer.alloc(0));
    });
  }

  async function copied(mime: string): Promise<void> {
    const end = Date.now() + 10000;
    while (!(compositor.wayland!.selectionMimeTypes ?? []).includes(mime)) {
      if (Date.now() > end) expect.fail(`no ${mime} on the clipboard`);
      await sleep(50);
    }
  }

  it('text copied by one client is pasted by another, and read by the compositor', async () => {
    const text = 'bufshare clipboard: ünïcode ✓\nsecond line';
    expect(await copy([], Buffer.from(text))).to.equal(0);
    await copied('text/plain;charset=utf-8');
    const paste = await run('wl-paste', ['--no-newline']);
    expect(paste.code, paste.stderr).to.equal(0);
    expect(paste.stdout.toString('utf8')).to.equal(text);
    expect((await compositor.wayland!.readSelection('text/plain;charset=utf-8')).toString('utf8')).to.equal(text);
  });

  it('a PNG copied by one client is pasted by another, byte for byte', async () => {
    const png = readFileSync(join(__dirname, '..', '..', 'docs', 'kms-screendump.png'));
    expect(await copy(['--type', 'image/png'], png)).to.equal(0);
    await copied('image/png');
    const paste = await run('wl-paste', ['--type', 'image/png']);
    expect(paste.code, paste.stderr).to.equal(0);
    expect(paste.stdout.equals(png), `pasted ${paste.stdout.length} bytes of ${png.length}`).to.equal(true);
  });

  it('the compositor sets the selection; a client pastes it; a read past its bound fails and keeps nothing', async () => {
    compositor.wayland!.setSelection({ 'text/plain;charset=utf-8': 'from the compositor', 'text/plain': 'from the compositor' });
    const paste = await run('wl-paste', ['--no-newline']);
    expect(paste.code, paste.stderr).to.equal(0);
    expect(paste.stdout.toString()).to.equal('from the compositor');
    const big = 'x'.repeat(200000);
    compositor.wayland!.setSelection({ 'text/plain': big });
    const error = await compositor.wayland!.readSelection('text/plain', { maxBytes: 1000 }).then(() => undefined, (e: { code?: string }) => e);
    expect(error?.code).to.equal('ERR_BUFSHARE_LIMIT_EXCEEDED');
    expect((await compositor.wayland!.readSelection('text/plain')).length).to.equal(big.length);
  });

  it('the primary selection (zwp_primary_selection_v1) is its own: wl-copy --primary, wl-paste --primary, the compositor reads and sets it', async () => {
    const clip = 'on the clipboard';
    const selected = 'selected text, for the middle button';
    expect(await copy([], Buffer.from(clip))).to.equal(0);
    await copied('text/plain;charset=utf-8');
    expect(await copy(['--primary'], Buffer.from(selected))).to.equal(0);
    const end = Date.now() + 10000;
    while (!(compositor.wayland!.primarySelectionMimeTypes ?? []).includes('text/plain;charset=utf-8')) {
      if (Date.now() > end) expect.fail('no primary selection');
      await sleep(50);
    }
    const primary = await run('wl-paste', ['--primary', '--no-newline']);
    expect(primary.code, primary.stderr).to.equal(0);
    expect(primary.stdout.toString('utf8')).to.equal(selected);
    const clipboard = await run('wl-paste', ['--no-newline']);
    expect(clipboard.stdout.toString('utf8'), 'the clipboard is untouched').to.equal(clip);
    expect((await compositor.wayland!.readSelection('text/plain;charset=utf-8', { which: 'primary' })).toString('utf8')).to.equal(selected);
    compositor.wayland!.setSelection({ 'text/plain;charset=utf-8': 'primary from the compositor' }, 'primary');
    const after = await run('wl-paste', ['--primary', '--no-newline']);
    expect(after.stdout.toString('utf8')).to.equal('primary from the compositor');
    expect((await run('wl-paste', ['--no-newline'])).stdout.toString('utf8')).to.equal(clip);
  });
});
