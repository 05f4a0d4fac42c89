/**
 * Scene: what every output shows, as wlroots' `wlr_scene` and Smithay's
 * `Space`: one tree of nodes (surfaces of any source, solid rectangles,
 * plain buffers) in one layout coordinate space, and the outputs that look at
 * parts of it.
 *
 * How am I supposed to use this?
 *
 *   const scene = new Scene({ background: 0xff202020 });
 *   const output = scene.addOutput({ width: 1280, height: 720 });
 *   const windows = scene.createTree();                    // a layer
 *   const node = scene.createBuffer(windows);              // show a client's buffer
 *   node.setBuffer(SceneBuffer.fromFrame(frame), frame.damage);
 *   node.setPosition(100, 80);
 *   output.render(framebuffer, age);                       // repaints only what changed
 *
 * Nodes report their own damage; outputs collect it and repaint exactly that.
 * The property the tests hold it to: after any sequence of operations, an
 * output painted with damage tracking equals a full repaint, pixel for pixel.
 */
import { BufshareError } from '../errors';
import type { Rect } from '../region';
import type { SceneBuffer } from './buffer';
import { SceneBufferNode, SceneRect, SceneTree, type LeafPlacement, type NodeHost, type SceneNode } from './node';
import { SceneOutput, type OutputHost, type SceneOutputOptions } from './output';

export interface SceneOptions {
  /** What shows where no node is, 0xXXRRGGBB. Default a dark grey. */
  readonly background?: number;
}

export const DEFAULT_BACKGROUND = 0xff1b1d23;

/** A hit: the topmost node at a layout point, and the point in the node's own coordinates. */
export interface SceneHit {
  readonly node: SceneBufferNode | SceneRect;
  readonly x: number;
  readonly y: number;
}

export class Scene implements NodeHost, OutputHost {
  readonly root: SceneTree;
  private readonly outs: SceneOutput[] = [];
  private bg: number;
  private outputSerial = 0;
  /** Leaves bottom to top, computed once per change: several outputs and hit tests read them each frame. */
  private cachedLeaves: LeafPlacement[] | undefined;

  constructor(options: SceneOptions = {}) {
    this.bg = checkBackground(options.background ?? DEFAULT_BACKGROUND);
    this.root = new SceneTree(this, undefined);
  }

  get outputs(): readonly SceneOutput[] {
    return this.outs;
  }

  get backgroundColor(): number {
    return this.bg;
  }

  setBackground(color: number): void {
    const c = checkBackground(color);
    if (c === this.bg) return;
    this.bg = c;
    for (const o of this.outs) o.repaintBackground();
  }

  createTree(parent: SceneTree = this.root): SceneTree {
    this.checkParent(parent);
    return new SceneTree(this, parent);
  }

  /** A solid rectangle, 0xAARRGGBB premultiplied (alpha 0xff: opaque). */
  createRect(width: number, height: number, color: number, parent: SceneTree = this.root): SceneRect {
    this.checkParent(parent);
    return new SceneRect(this, parent, width, height, color);
  }

  /** A node showing `buffer` (it takes its own lock), or nothing until setBuffer(). */
  createBuffer(parent: SceneTree = this.root, buffer?: SceneBuffer): SceneBufferNode {
    this.checkParent(parent);
    const node = new SceneBufferNode(this, parent);
    if (buffer) node.setBuffer(buffer);
    return node;
  }

  addOutput(options: SceneOutputOptions): SceneOutput {
    const output = new SceneOutput(this, options, `output-${++this.outputSerial}`);
    this.outs.push(output);
    return output;
  }

  /** The topmost visible leaf at layout (x, y) that takes input there (buffer nodes: their input region). */
  nodeAt(x: number, y: number): SceneHit | undefined {
    const leaves = this.leaves();
    for (let i = leaves.length - 1; i >= 0; i--) {
      const { node, rect, input } = leaves[i]!;
      if (!input) continue;
      const lx = x - rect.x;
      const ly = y - rect.y;
      if (lx < 0 || ly < 0 || lx >= rect.width || ly >= rect.height) continue;
      if (node instanceof SceneBufferNode && !node.acceptsInput(lx, ly)) continue;
      return { node, x: lx, y: ly };
    }
    return undefined;
  }

  /** The output whose area holds layout (x, y). */
  outputAt(x: number, y: number): SceneOutput | undefined {
    return this.outs.find((o) => {
      const r = o.rect;
      return x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height;
    });
  }

  /** @internal visible leaves, bottom to top, in layout coordinates */
  leaves(): LeafPlacement[] {
    if (!this.cachedLeaves) {
      const out: LeafPlacement[] = [];
      this.root.collectLeaves(out, 0, 0);
      this.cachedLeaves = out;
    }
    return this.cachedLeaves;
  }

  /** @internal damage only: the leaves stay as they are (a commit's pixels); structural changes call reordered() */
  damageLayout(rects: readonly Rect[]): void {
    for (const o of this.outs) o.damageLayout(rects);
  }

  /** @internal */
  reordered(): void {
    this.cachedLeaves = undefined;
  }

  /** @internal */
  removeOutput(output: SceneOutput): void {
    const i = this.outs.indexOf(output);
    if (i >= 0) this.outs.splice(i, 1);
  }

  private checkParent(parent: SceneNode): void {
    if (!(parent instanceof SceneTree) || parent.destroyed) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'a parent must be a live tree of this scene');
  }
}

function checkBackground(color: number): number {
  if (!Number.isInteger(color) || color < -(2 ** 31) || color > 0xffffffff) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `background ${color} is not a 32-bit 0xXXRRGGBB value`);
  }
  return (color | 0xff000000) >>> 0;
}
