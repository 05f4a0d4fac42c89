/**
 * wp_single_pixel_buffer_manager_v1: a wl_buffer of one pixel of a colour
 * given as four 32-bit channels (premultiplied; 0xffffffff is 1.0). Clients
 * stretch it with a viewport into solid backgrounds, borders and dimming
 * layers without allocating a pool; the scene scales it like any buffer.
 * Opaque colours are XRGB8888 (the scene then treats the node as opaque),
 * others ARGB8888, rounded to 8 bits per channel.
 */
import { alignedPixelMemory } from '../../compose';
import { resolveFormat } from '../../format';
import { GraphicsRegion } from '../../mapping/graphics-region';
import { registerBuffer, type BufferHold, type WaylandBuffer } from '../buffer';
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { wp_single_pixel_buffer_manager_v1 } from '../protocol/single-pixel-buffer';
import { wl_buffer } from '../protocol/wayland';
import type { Resource } from '../resource';

const XRGB = resolveFormat('XRGB8888');
const ARGB = resolveFormat('ARGB8888');

/** A 32-bit channel (0..2^32-1 is 0.0..1.0) to 8 bits, rounded to nearest. */
function channel8(v: number): number {
  return Math.round((v * 255) / 0xffffffff);
}

class SinglePixelBuffer implements WaylandBuffer {
  readonly width = 1;
  readonly height = 1;
  readonly format;
  private readonly memory: ArrayBuffer;

  constructor(readonly resource: Resource<unknown>, r: number, g: number, b: number, a: number) {
    const [r8, g8, b8, a8] = [r, g, b, a].map(channel8) as [number, number, number, number];
    this.format = a8 === 255 ? XRGB : ARGB;
    this.memory = alignedPixelMemory(4);
    // Premultiplied by the client: a channel above alpha is its mistake; clamp it so the blend stays in range.
    new Uint32Array(this.memory, 0, 1)[0] = ((a8 << 24) | (Math.min(r8, a8) << 16) | (Math.min(g8, a8) << 8) | Math.min(b8, a8)) >>> 0;
  }

  hold(): BufferHold {
    const region = new GraphicsRegion(this.memory, { width: 1, height: 1, stride: 4, format: this.format, offset: 0 }, 'read', 'direct', () => {});
    return { region, release: () => {} };
  }
}

export function singlePixelBufferGlobal(): Global {
  return {
    spec: wp_single_pixel_buffer_manager_v1,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, wp_single_pixel_buffer_manager_v1, version, {
        create_u32_rgba_buffer: (_r, [bid, r, g, b, a]) => {
          const resource = client.create(bid as number, wl_buffer, 1, {}, undefined as unknown);
          registerBuffer(new SinglePixelBuffer(resource, r as number, g as number, b as number, a as number));
        },
      }, undefined);
    },
  };
}
