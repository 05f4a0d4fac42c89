/**
 * HeadlessOutput: an output with no screen, paced by a timer at its refresh
 * rate: a kiosk's test double that is not a mock (it composes for real), a
 * screenshot service, a remote display's source.
 *
 * How am I supposed to use this? `const out = new HeadlessOutput(scene, { width, height })`;
 * `out.start()`. Each tick repaints what changed into `out.framebuffer`
 * ('frame' says what), then presents (surfaces on it get their frame callbacks).
 * `out.screenshot()` is a PNG of what the output shows now. `out.destroy()`
 * stops it and takes it out of the layout.
 */
import { EventEmitter } from 'eventemitter3';
import type { GraphicsRegion } from '../mapping/graphics-region';
import { Region } from '../region';
import { FramePacer } from './pacer';
import { encodePng } from './png';
import type { SceneOutput, SceneOutputOptions } from './output';
import { pixelRegion, type RenderStats } from './render';
import type { Scene } from './scene';

export interface HeadlessOutputOptions extends SceneOutputOptions {
  /** Frames per second. Default 60. */
  readonly refreshHz?: number;
}

export interface HeadlessFrame {
  /** Ticks so far, this one included. */
  readonly frame: number;
  /** What this frame repainted (output coordinates); empty when nothing changed. */
  readonly damage: Region;
  readonly stats: RenderStats | undefined;
  /** performance.now() of the present. */
  readonly timeMs: number;
}

export interface HeadlessOutputEvents {
  frame: [frame: HeadlessFrame];
}

export class HeadlessOutput extends EventEmitter<HeadlessOutputEvents> {
  readonly output: SceneOutput;
  readonly refreshHz: number;
  /** What the output shows, XRGB8888; repainted in place (a swapchain of one: age 1). */
  framebuffer: GraphicsRegion;
  private readonly pacer: FramePacer;

  constructor(scene: Scene, options: HeadlessOutputOptions) {
    super();
    this.refreshHz = options.refreshHz ?? 60;
    this.output = scene.addOutput({ name: options.name ?? 'headless', refreshNs: this.refreshHz > 0 ? Math.round(1e9 / this.refreshHz) : 0, ...options });
    this.framebuffer = pixelRegion(this.output.width, this.output.height);
    this.pacer = new FramePacer(this.refreshHz, (n) => this.tick(n));
  }

  get frames(): number {
    return this.pacer.frames;
  }

  get running(): boolean {
    return this.pacer.running;
  }

  start(): void {
    this.pacer.start();
  }

  stop(): void {
    this.pacer.stop();
  }

  /** A new mode: the framebuffer is replaced and everything repainted. */
  setSize(width: number, height: number): void {
    this.output.setSize(width, height);
    this.framebuffer = pixelRegion(width, height);
  }

  /** A PNG of what the output shows now (pending damage included). */
  screenshot(): Buffer {
    this.frame();
    return encodePng(this.framebuffer);
  }

  /** Paints what changed now, outside the timer (a frame of its own, without presenting). */
  frame(): { damage: Region; stats: RenderStats } | undefined {
    if (!this.output.needsFrame) return undefined;
    return this.output.render(this.framebuffer, 1);
  }

  destroy(): void {
    this.stop();
    this.output.destroy();
    this.removeAllListeners();
  }

  private tick(n: number): void {
    if (this.output.destroyed) return;
    const painted = this.frame();
    const timeMs = performance.now();
    this.output.present(timeMs, { sequence: n });
    this.emit('frame', { frame: n, damage: painted?.damage ?? Region.empty, stats: painted?.stats, timeMs });
  }
}
