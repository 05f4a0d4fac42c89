/**
 * The compositor's own pointer image, for when the client under the pointer set
 * none (or no client is under it): a 12x19 arrow, black outline, white fill,
 * premultiplied ARGB8888, hotspot at its tip (0, 0).
 */
import { SceneBuffer } from './buffer';
import { pixelRegion } from './render';

const ARROW = [
  'X...........',
  'XX..........',
  'XOX.........',
  'XOOX........',
  'XOOOX.......',
  'XOOOOX......',
  'XOOOOOX.....',
  'XOOOOOOX....',
  'XOOOOOOOX...',
  'XOOOOOOOOX..',
  'XOOOOOOOOOX.',
  'XOOOOOOXXXXX',
  'XOOOXOOX....',
  'XOOXXOOX....',
  'XOX..XOOX...',
  'XX...XOOX...',
  'X.....XOOX..',
  '......XOOX..',
  '.......XX...',
];

const COLORS: Readonly<Record<string, number>> = { X: 0xff000000, O: 0xffffffff, '.': 0 };

/** A buffer of the default arrow; its one lock is the caller's. */
export function defaultCursorBuffer(): SceneBuffer {
  const region = pixelRegion(ARROW[0]!.length, ARROW.length, 'ARGB8888');
  const px = region.pixels32;
  ARROW.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) px[y * region.stride32 + x] = COLORS[row[x]!]!;
  });
  return new SceneBuffer(region, () => {});
}
