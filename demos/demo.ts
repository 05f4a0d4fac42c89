/**
 * npm run demo: the compositor and both clients, as three processes.
 *
 *   npm run demo [-- --port N] [-- --headless --frames N --screenshot out.png]
 *                [-- --clients none] [-- --wayland NAME] [-- --output kms[:/dev/dri/cardN]]
 *                [-- --scale 2]   (HiDPI: Wayland clients draw at twice the pixels)
 *
 * The compositor takes Wayland clients too: it prints the WAYLAND_DISPLAY to
 * give them (`--wayland NAME`: a name in $XDG_RUNTIME_DIR or an absolute path;
 * default wayland-0 in the demo's private runtime dir). `--clients none` starts
 * no demo client, so an outside Wayland client is shown alone; headless, the
 * screenshot is then taken once one surface shows pixels.
 *
 * Makes a private runtime directory (0700, in the temp dir) for the socket,
 * starts the compositor, waits until it listens, then starts basic and
 * fingerpaint, and prints the viewer's URL. Ctrl-C (SIGINT) or SIGTERM stops the
 * clients, then the compositor, and removes the directory: no socket and no
 * process is left behind. The compositor also stops by itself if this launcher
 * dies (its IPC channel closes), and the clients stop when the compositor goes.
 * A client that dies does not stop the others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' }, headless: { type: 'boolean' }, frames: { type: 'string' }, screenshot: { type: 'string' },
    clients: { type: 'string' }, wayland: { type: 'string' }, output: { type: 'string' }, scale: { type: 'string' },
  },
});

/** Runs a sibling demo module the way this one runs: through tsx from source, or plain node from dist/. */
function start(name: string, args: string[], extraStdio: 'ipc' | undefined = undefined): ChildProcess {
  const fromSource = __filename.endsWith('.ts');
  const file = join(__dirname, `${name}${fromSource ? '.ts' : '.js'}`);
  const nodeArgs = fromSource ? ['--require', 'tsx/cjs', file, ...args] : [file, ...args];
  const stdio: ('ignore' | 'pipe' | 'inherit' | 'ipc')[] = ['ignore', 'pipe', 'inherit'];
  if (extraStdio) stdio.push(extraStdio);
  const child = spawn(process.execPath, nodeArgs, { stdio });
  createInterface({ input: child.stdout! }).on('line', (line) => console.log(`[${name}] ${line}`));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function main(): Promise<void> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'bufshare-demo-')); // mkdtemp makes it 0700
  const socket = join(runtimeDir, 'bufshare-0');
  if (values.clients !== undefined && values.clients !== 'none' && values.clients !== 'demo') {
    console.error(`demo: --clients must be none or demo, got ${values.clients}`);
    process.exit(2);
  }
  const demoClients = values.clients !== 'none';
  // A plain name lives in $XDG_RUNTIME_DIR, as for any Wayland server; without one, in the demo's own dir.
  const named = values.wayland ?? 'wayland-0';
  const wayland = isAbsolute(named) || (values.wayland !== undefined && process.env.XDG_RUNTIME_DIR) ? named : join(runtimeDir, named);
  const compositorArgs = ['--socket', socket, '--port', values.port ?? '8080', '--wayland', wayland];
  if (values.output !== undefined) compositorArgs.push('--output', values.output); // kms[:/dev/dri/cardN]: a real screen too
  if (values.scale !== undefined) compositorArgs.push('--scale', values.scale);
  if (values.headless) {
    compositorArgs.push('--headless', '--wait-surfaces', demoClients ? '2' : '1', '--frames', values.frames ?? '90', '--screenshot', values.screenshot ?? 'screenshot.png');
  }
  const compositor = start('compositor', compositorArgs, 'ipc');
  console.log(`demo: compositor pid ${compositor.pid}, runtime dir ${runtimeDir}`);
  const clients: ChildProcess[] = [];
  let stopping = false;

  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      for (const c of clients) c.kill('SIGTERM');
      await Promise.all(clients.map(exited));
      compositor.kill('SIGTERM');
      // A compositor that does not stop within 5 s is killed: the launcher never leaves one behind.
      const timer = setTimeout(() => compositor.kill('SIGKILL'), 5000);
      await exited(compositor);
      clearTimeout(timer);
      rmSync(runtimeDir, { recursive: true, force: true });
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  compositor.once('exit', (code, signal) => {
    if (!stopping) {
      if (code !== 0) console.error(`demo: the compositor exited (${signal ?? code})`);
      void stop(code ?? 1);
    }
  });

  // The compositor prints "socket: PATH" once it listens, then "viewer: URL".
  let clientsStarted = false;
  createInterface({ input: compositor.stdout! }).on('line', (line) => {
    const waylandDisplay = /^wayland: (WAYLAND_DISPLAY=\S+)/.exec(line)?.[1];
    if (waylandDisplay) console.log(`\n  Wayland clients: ${waylandDisplay} foot\n`);
    if (line.startsWith('socket: ') && !clientsStarted && demoClients) {
      clientsStarted = true;
      for (const [name, args] of [['basic', []], ['fingerpaint', values.headless ? ['--scripted'] : []]] as const) {
        const c = start(name, ['--socket', socket, ...args]);
        c.once('exit', (code, signal) => {
          if (stopping) return;
          // Exit 0: it saw the compositor go (headless runs end that way). Otherwise it crashed or was killed.
          console.log(code === 0 ? `demo: ${name} finished` : `demo: ${name} exited (${signal ?? code}); the others go on`);
        });
        clients.push(c);
      }
    }
    const url = /^viewer: (\S+)/.exec(line)?.[1];
    if (url) console.log(`\n  bufshare demo: open ${url} in a browser (Ctrl-C stops it)\n`);
  });
}

void main();
