/**
 * xdg_activation_v1: one client asks that a window (its own, or another
 * client's it launched) be activated: focused and raised. A client gets a token
 * (xdg_activation_token_v1: set_serial, set_app_id, set_surface, then commit ->
 * done(token)), hands it on (XDG_ACTIVATION_TOKEN in a child's environment),
 * and the window's client calls activate(token, surface). The compositor sees
 * it as the surface's 'windowRequest' { kind: 'activate' } and decides (the demo
 * raises and focuses it).
 *
 * Tokens are ours (random, 128 bits), valid once and for TOKEN_LIFETIME_MS;
 * an unknown, used or expired token is ignored, as the protocol allows (no
 * error: a stale token from a launcher is not the client's fault). At most
 * MAX_TOKENS live at once: the oldest is dropped first.
 */
import { randomBytes } from 'node:crypto';
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { xdg_activation_token_v1, xdg_activation_v1 } from '../protocol/xdg-activation';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';

const ALREADY_USED = (xdg_activation_token_v1.enums.error as { already_used: number }).already_used;
export const TOKEN_LIFETIME_MS = 30_000;
export const MAX_TOKENS = 256;

export function activationGlobal(): Global {
  /** Live tokens, oldest first (a Map keeps insertion order): when each expires. */
  const tokens = new Map<string, number>();
  const issue = (): string => {
    const token = randomBytes(16).toString('hex');
    const now = performance.now();
    for (const [t, expires] of tokens) if (expires <= now || tokens.size >= MAX_TOKENS) tokens.delete(t);
    tokens.set(token, now + TOKEN_LIFETIME_MS);
    return token;
  };
  const redeem = (token: string): boolean => {
    const expires = tokens.get(token);
    if (expires === undefined) return false;
    tokens.delete(token);
    return expires > performance.now();
  };
  return {
    spec: xdg_activation_v1,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, xdg_activation_v1, version, {
        get_activation_token: (_r, [tid]) => {
          let committed = false;
          const notYet = (t: Resource<unknown>, what: string): void => {
            if (committed) throw t.error(ALREADY_USED, `${what} after commit`);
          };
          client.create(tid as number, xdg_activation_token_v1, version, {
            set_serial: (t) => notYet(t, 'set_serial'),
            set_app_id: (t) => notYet(t, 'set_app_id'),
            set_surface: (t) => notYet(t, 'set_surface'),
            commit: (t) => {
              notYet(t, 'commit');
              committed = true;
              t.post('done', issue());
            },
          }, undefined);
        },
        activate: (_r, [token, surfaceId]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          if (!redeem(token as string) || surface.destroyed) return;
          surface.emit('windowRequest', { kind: 'activate' });
        },
      }, undefined);
    },
  };
}
