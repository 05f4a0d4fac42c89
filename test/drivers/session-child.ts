/**
 * The compositor of the session tests (test/drivers/session.test.ts), run as a
 * normal user through seatd or as root directly: a Session, one card through
 * it (KmsDevice.openInSession), every connected head in one scene
 * (KmsSceneHeads, hotplug followed), a background and two windows. It prints
 * one JSON line per event on stdout and takes commands on stdin:
 *   state | switch N | animate MS | quit
 * argv: CARD [BACKEND]   (BACKEND: auto, libseat, direct)
 */
import { createInterface } from 'node:readline';
import { KmsDevice } from '../../lib/kms';
import { Scene, KmsSceneHeads, type KmsSceneOutput } from '../../lib/scene';
import { Session } from '../../lib/session';

const [card, backend = 'auto'] = process.argv.slice(2);
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

export const BACKGROUND = 0xff203040;
export const WINDOW_COLOURS = [0xffe02010, 0xff10c040];

async function main(): Promise<void> {
  const session = await Session.open({ backend: backend as 'auto' | 'libseat' | 'direct', activeTimeoutMs: 20000 });
  const device = KmsDevice.openInSession(session, card);
  const scene = new Scene({ background: BACKGROUND });
  const windows = scene.createTree();
  const heads = new KmsSceneHeads(scene, [device], { windows });
  const layout = (): object => ({
    heads: heads.heads.map((h) => ({ name: h.kms.pipe.connector.name, x: h.output.x, y: h.output.y, width: h.output.width, height: h.output.height, crtc: h.kms.pipe.crtc.id })),
    windows: windows.children.map((w, i) => ({ x: w.layoutX, y: w.layoutY, width: 160, height: 120, colour: WINDOW_COLOURS[i] })),
  });
  // One window near the top-left of each of the first two heads (or both on the one head).
  const hs = heads.heads;
  WINDOW_COLOURS.forEach((colour, i) => {
    const h = hs[Math.min(i, hs.length - 1)]!.output;
    const w = scene.createRect(160, 120, colour, windows);
    w.setPosition(h.x + 40 + i * 200, h.y + 30 + i * 20);
  });
  const watch = (h: KmsSceneOutput): void => {
    h.on('presented', (frame, path) => say({ ev: 'presented', head: h.kms.pipe.connector.name, frame, path }));
    h.on('error', (e) => say({ ev: 'error', head: h.kms.pipe.connector.name, message: e.message }));
  };
  heads.heads.forEach(watch);
  heads.on('added', (h) => {
    watch(h);
    say({ ev: 'added', head: h.kms.pipe.connector.name, ...layout() });
  });
  heads.on('removed', (h) => say({ ev: 'removed', head: h.kms.pipe.connector.name, ...layout() }));
  heads.on('error', (e) => say({ ev: 'error', message: e.message }));
  session.on('pause', () => say({ ev: 'pause', master: device.drm.isMaster }));
  session.on('resume', () => say({ ev: 'resume', master: device.drm.isMaster }));
  session.on('error', (e) => say({ ev: 'error', message: e.message }));
  say({ ev: 'ready', backend: session.backend, seat: session.seatName, uid: process.getuid!(), master: device.drm.isMaster, ...layout() });

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    try {
      if (cmd === 'state') {
        say({ ev: 'state', active: session.active, master: device.drm.isMaster, ...layout() });
      } else if (cmd === 'switch') {
        session.switchSession(Number(arg));
        say({ ev: 'switching', to: Number(arg) });
      } else if (cmd === 'animate') {
        animate(Number(arg));
      } else if (cmd === 'quit') {
        rl.close();
        heads.close();
        device.unref();
        session.close();
        process.stdin.destroy();
        say({ ev: 'bye' });
        // Everything is closed: nothing may keep the process alive. If something does, say what.
        setTimeout(() => {
          const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => h.constructor.name);
          process.stderr.write(`still alive 5 s after quit: ${handles.join(', ')}\n`);
          process.exit(3);
        }, 5000).unref();
      }
    } catch (e) {
      say({ ev: 'error', message: (e as Error).message, code: (e as { code?: string }).code });
    }
  });

  /** A small square on each head changes colour at each of that head's flips, for `ms`: each head's rate is its own. */
  function animate(ms: number): void {
    const list = heads.heads;
    const flips = list.map(() => [] as { t: bigint; crtc: number }[]);
    const squares = list.map((h) => {
      const r = scene.createRect(16, 16, 0xff000000);
      r.setPosition(h.output.x + h.output.width - 32, h.output.y + h.output.height - 32);
      return r;
    });
    const handlers = list.map((h, i) => (e: { timeNs: bigint; crtcId: number }): void => {
      flips[i]!.push({ t: e.timeNs, crtc: e.crtcId });
      squares[i]!.setColor((0xff000000 | ((flips[i]!.length * 40) & 0xff) << 8) >>> 0);
    });
    list.forEach((h, i) => h.kms.on('flip', handlers[i]!));
    squares.forEach((s) => s.setColor(0xff0000ff));
    setTimeout(() => {
      list.forEach((h, i) => h.kms.off('flip', handlers[i]!));
      for (const s of squares) s.destroy();
      say({
        ev: 'animated',
        heads: list.map((h, i) => {
          const f = flips[i]!;
          const span = f.length > 1 ? Number(f[f.length - 1]!.t - f[0]!.t) / 1e9 : 0;
          return {
            name: h.kms.pipe.connector.name, crtc: h.kms.pipe.crtc.id, flips: f.length, ownCrtcOnly: f.every((x) => x.crtc === h.kms.pipe.crtc.id),
            rate: span > 0 ? (f.length - 1) / span : 0, modeMilliHz: h.kms.describe().refreshMilliHz,
          };
        }),
      });
    }, ms);
  }
}

main().catch((e) => {
  say({ ev: 'fatal', message: (e as Error).message, code: (e as { code?: string }).code });
  process.exitCode = 1;
});
