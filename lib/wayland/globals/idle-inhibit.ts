/**
 * zwp_idle_inhibit_manager_v1: a client (a video player, a presentation) asks
 * that the screen not blank while its surface shows. The compositor reads
 * `IdleInhibitors.inhibited` and its change callback (WaylandServer's
 * `idleInhibited` and 'idleInhibit' event) and keeps its screen awake, as a
 * kiosk's blanking timer would otherwise not know. An inhibitor counts while it
 * and its surface live and the surface is mapped (the server calls update()
 * when a surface is mapped or withdrawn).
 */
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import { zwp_idle_inhibit_manager_v1, zwp_idle_inhibitor_v1 } from '../protocol/idle-inhibit';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';

/** Inhibitors per client: one per surface is what players make; past this, no_memory. */
export const MAX_INHIBITORS_PER_CLIENT = 64;

export class IdleInhibitors {
  private readonly live = new Set<{ surface: WaylandSurface; client: WaylandClient }>();
  private was = false;

  constructor(private readonly changed: (inhibited: boolean) => void) {}

  /** Some live inhibitor's surface shows pixels. */
  get inhibited(): boolean {
    for (const i of this.live) if (!i.surface.destroyed && i.surface.mapped) return true;
    return false;
  }

  /** @internal re-evaluates after an inhibitor or a surface came or went */
  update(): void {
    const now = this.inhibited;
    if (now === this.was) return;
    this.was = now;
    this.changed(now);
  }

  global(): Global {
    return {
      spec: zwp_idle_inhibit_manager_v1,
      version: 1,
      bind: (client, id, version) => {
        client.create(id, zwp_idle_inhibit_manager_v1, version, {
          create_inhibitor: (_r, [iid, surfaceId]) => {
            const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
            let mine = 0;
            for (const i of this.live) if (i.client === client) mine++;
            if (mine >= MAX_INHIBITORS_PER_CLIENT) throw client.display.error(DISPLAY_ERROR.no_memory, `over ${MAX_INHIBITORS_PER_CLIENT} idle inhibitors`);
            const entry = { surface, client };
            const inhibitor = client.create(iid as number, zwp_idle_inhibitor_v1, version, {}, undefined);
            this.live.add(entry);
            const gone = (): void => {
              if (!this.live.delete(entry)) return;
              surface.off('destroy', gone);
              this.update();
            };
            inhibitor.onDestroy(gone);
            surface.once('destroy', gone);
            this.update();
          },
        }, undefined);
      },
    };
  }
}
