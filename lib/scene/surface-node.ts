/**
 * A client surface in the scene, whatever protocol the client speaks
 * (bufshare's ServerSurface, WaylandSurface, a VM's scanout), with its
 * subsurfaces: a tree (`tree`, what a compositor moves and raises) holding the
 * surface's own buffer node (`node`) and one SceneSurface per child, in the
 * child's stacking order and at its position. Each shows the frames its surface
 * commits, with their damage, and gives its client the frame callback when an
 * output showing it presents.
 *
 * Buffer lifetime: each frame becomes a SceneBuffer; the node holds it until
 * the next frame replaces it or the surface goes; an output that scans it out
 * or a screenshot holds it longer with locks of its own. The client gets it
 * back when the last lock goes.
 */
import { debug } from '../debug';
import type { Rect } from '../region';
import type { CompositorFrame, CompositorSurface, SurfaceSource } from '../surface-model';
import { SceneBuffer } from './buffer';
import { clampToScene, MAX_COORD, type SceneBufferNode, type SceneNode, type SceneTree } from './node';
import type { Scene } from './scene';

export class SceneSurface {
  readonly surface: CompositorSurface;
  /** The surface and its subsurfaces: position and raise this. */
  readonly tree: SceneTree;
  /** The surface's own buffer. */
  readonly node: SceneBufferNode;
  /** The surface this one is a subsurface or a popup of, if any. */
  readonly parent: SceneSurface | undefined;
  /** A popup (a menu) of `parent`, not a subsurface. */
  readonly popup: boolean;
  private readonly scene: Scene;
  private readonly children = new Map<CompositorSurface, SceneSurface>();
  /** Committed since the last present: owed a frame callback. */
  private owed = false;
  private readonly onFrame = (frame: CompositorFrame): void => this.show(frame);
  private readonly onUnmap = (): void => this.node.setBuffer(undefined);
  /**
   * Arranged once per burst, in a microtask (before anything renders): a client
   * that goes away with 3,000 subsurfaces announced each removal, and arranging
   * all children each time cost O(n^2), 1.5 s of the loop (issue 23's held-out
   * campaign). Frames of children that arrive first are claimed by the child's
   * SceneSurface when it is made (claimFrame).
   */
  private arrangeQueued = false;
  private readonly onSubsurfaces = (): void => {
    if (this.arrangeQueued) return;
    this.arrangeQueued = true;
    queueMicrotask(() => {
      this.arrangeQueued = false;
      try {
        this.arrangeChildren();
      } catch (e) {
        // Outside any client's request now: a throw here would end the compositor.
        debug('scene', `arranging the children of a surface failed: ${(e as Error).message}`);
      }
    });
  };
  private readonly onViewport = (): void => {
    const v = this.surface.viewport;
    // A destination is any positive int32 (wp_viewport); the scene's sizes stop at 2^24, far past any screen.
    this.node.setViewport(v === undefined ? undefined : { ...v, width: Math.min(v.width, MAX_COORD), height: Math.min(v.height, MAX_COORD) });
  };
  private readonly bounds = (): Rect | undefined => this.outputBounds();
  private readonly onDestroy = (): void => this.destroy();

  constructor(scene: Scene, surface: CompositorSurface, parent: SceneTree = scene.root, parentSurface?: SceneSurface, popup = false) {
    this.scene = scene;
    this.surface = surface;
    this.parent = parentSurface;
    this.popup = popup;
    this.tree = scene.createTree(parent);
    this.tree.data = this;
    this.node = scene.createBuffer(this.tree);
    this.node.data = this;
    this.node.on('present', (_timeMs, presentation) => {
      if (!this.owed) return;
      this.owed = false;
      surface.frameDone(presentation);
    });
    surface.on('frame', this.onFrame);
    surface.on('unmap', this.onUnmap);
    surface.on('subsurfaces', this.onSubsurfaces);
    surface.on('popups', this.onSubsurfaces);
    surface.on('destroy', this.onDestroy);
    surface.on('viewport', this.onViewport);
    this.onViewport();
    // A window's popups stay on the output it is on.
    if (parentSurface === undefined) surface.setBoundsProvider?.(this.bounds);
    const early = surface.claimFrame?.();
    if (early) this.show(early);
    this.arrangeChildren();
  }

  /** The window this surface belongs to (itself, unless it is a subsurface). */
  get root(): SceneSurface {
    let s: SceneSurface = this;
    while (s.parent) s = s.parent;
    return s;
  }

  /** Has pixels on show. */
  get mapped(): boolean {
    return this.node.buffer !== undefined;
  }

  /** Stops following the surface and takes it and its subsurfaces out of the scene (their buffers go back). Idempotent. */
  destroy(): void {
    if (this.tree.destroyed) return;
    this.surface.off('frame', this.onFrame);
    this.surface.off('unmap', this.onUnmap);
    this.surface.off('subsurfaces', this.onSubsurfaces);
    this.surface.off('popups', this.onSubsurfaces);
    this.surface.off('destroy', this.onDestroy);
    this.surface.off('viewport', this.onViewport);
    for (const child of this.children.values()) child.destroy();
    this.children.clear();
    this.tree.destroy();
  }

  private show(frame: CompositorFrame): void {
    if (this.node.destroyed) {
      frame.release();
      return;
    }
    const buffer = SceneBuffer.fromFrame(frame);
    this.node.setBufferScale(this.surface.bufferScale ?? 1);
    this.node.setBuffer(buffer, frame.damage);
    buffer.unlock(); // the node holds it now
    this.owed = true;
  }

  /** The output the window's corner is on (else the first), in the surface's coordinates. */
  private outputBounds(): Rect | undefined {
    const x = this.tree.layoutX;
    const y = this.tree.layoutY;
    const output = this.scene.outputAt(x, y) ?? this.scene.outputs[0];
    const r = output?.rect;
    return r && { x: r.x - x, y: r.y - y, width: r.width, height: r.height };
  }

  /** Children as the surface's last commit placed them: created, moved, restacked, or gone. */
  private arrangeChildren(): void {
    const subs = this.surface.subsurfaces ?? { below: [], above: [] };
    if (this.tree.destroyed) return;
    const order: SceneNode[] = [];
    const seen = new Set<CompositorSurface>();
    const place = (p: { surface: CompositorSurface; x: number; y: number }, popup = false): void => {
      let child = this.children.get(p.surface);
      if (child === undefined || child.tree.destroyed) {
        child = new SceneSurface(this.scene, p.surface, this.tree, this, popup);
        this.children.set(p.surface, child);
      }
      // A client's positions are int32 (a subsurface's offset, a popup placed by a
      // positioner at the int32 edge); the scene's stop at +-2^24, far off any screen.
      child.tree.setPosition(clampToScene(p.x), clampToScene(p.y));
      seen.add(p.surface);
      order.push(child.tree);
    };
    for (const p of subs.below) place(p);
    order.push(this.node);
    for (const p of subs.above) place(p);
    // Popups (menus) over the surface and all its subsurfaces, newest on top.
    for (const p of this.surface.popups ?? []) place(p, true);
    for (const [s, child] of this.children) {
      if (seen.has(s)) continue;
      child.destroy();
      this.children.delete(s);
    }
    // The compositor may keep nodes of its own in the tree (a title bar): only ours are ordered here,
    // and only when their order changed (they then go above the compositor's, as raising each did).
    const now = this.tree.children.filter((n) => n === this.node || n.data instanceof SceneSurface);
    if (now.length !== order.length || order.some((n, i) => n !== now[i])) this.tree.restackChildren(order);
  }
}

/**
 * Shows each surface `source` announces as a SceneSurface under `parent`
 * until the source withdraws it. Returns a function that stops following the
 * source (the surfaces shown stay until they go).
 */
export function followSource(scene: Scene, source: SurfaceSource, parent: SceneTree, onSurface?: (view: SceneSurface) => void): () => void {
  const views = new Map<CompositorSurface, SceneSurface>();
  const added = (surface: CompositorSurface): void => {
    views.get(surface)?.destroy();
    const view = new SceneSurface(scene, surface, parent);
    views.set(surface, view);
    view.tree.once('destroy', () => {
      if (views.get(surface) === view) views.delete(surface);
    });
    onSurface?.(view);
  };
  const removed = (surface: CompositorSurface): void => {
    views.get(surface)?.destroy();
  };
  source.on('surface', added);
  source.on('surfaceDestroyed', removed);
  return () => {
    source.off('surface', added);
    source.off('surfaceDestroyed', removed);
  };
}
