/**
 * wp_presentation (presentation-time, stable, version 1): when a surface's
 * commit reached the screen. Timestamps are CLOCK_MONOTONIC (clock_id 1).
 *
 * A feedback object belongs to the commit it was asked with (double-buffered
 * like the rest of wl_surface's state, see surface.ts). When an output
 * presents that commit's frame (the compositor's frameDone with a
 * FramePresentation) it gets sync_output for each of the client's bindings of
 * the wl_output, then presented; a commit replaced by a newer one before it was
 * shown, or whose surface went, gets discarded. Either destroys the object.
 */
import type { FramePresentation } from '../../surface-model';
import type { Global } from '../global';
import { wp_presentation, wp_presentation_feedback } from '../protocol/presentation-time';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';

/** clockid_t of CLOCK_MONOTONIC on Linux: process.hrtime's clock and a page flip's timestamp. */
export const CLOCK_MONOTONIC = 1;

const KIND = wp_presentation_feedback.enums.kind as { vsync: number; hw_clock: number; hw_completion: number; zero_copy: number };

export function presentationGlobal(): Global {
  return {
    spec: wp_presentation,
    version: 1,
    bind(client, id, version) {
      const r = client.create(id, wp_presentation, version, {
        feedback: (_r, [surfaceId, fid]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          surface.addFeedback(client.create(fid as number, wp_presentation_feedback, 1, {}, undefined));
        },
      }, undefined);
      r.post('clock_id', CLOCK_MONOTONIC);
    },
  };
}

/** Sends sync_output for each of `outputs`, then presented; destroys the feedback. */
export function sendPresented(feedback: Resource<unknown>, p: FramePresentation, outputs: readonly Resource<unknown>[]): void {
  for (const o of outputs) feedback.post('sync_output', o.id);
  const sec = p.timeNs / 1_000_000_000n;
  const nsec = Number(p.timeNs % 1_000_000_000n);
  const seq = Math.max(0, Math.trunc(p.sequence));
  const flags = (p.vsync ? KIND.vsync : 0) | (p.hardware ? KIND.hw_clock | KIND.hw_completion : 0);
  feedback.post('presented',
    Number(sec >> 32n) >>> 0, Number(sec & 0xffffffffn) >>> 0, nsec,
    Math.min(0xffffffff, Math.max(0, Math.round(p.refreshNs))),
    Math.floor(seq / 2 ** 32) >>> 0, seq >>> 0, flags);
  feedback.destroy();
}

/** Sends discarded (the content update was never shown); destroys the feedback. */
export function sendDiscarded(feedback: Resource<unknown>): void {
  feedback.post('discarded');
  feedback.destroy();
}
