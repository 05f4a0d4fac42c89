/** Damage in any of its forms, as the native x, y, width, height quadruples. */
import { Region, type Rect } from '../region';

export type Damage = Region | readonly Rect[] | Int32Array;

/** Damage as the native x, y, width, height quadruples (shared by copy, blend and the planner). */
export function packDamage(damage: Damage): Int32Array {
  if (damage instanceof Int32Array) return damage;
  if (damage instanceof Region) return damage.toInt32Array();
  const a = new Int32Array(damage.length * 4);
  damage.forEach((r, i) => {
    // Int32Array stores out-of-range values wrapped; clamp instead, so a hostile
    // rectangle can only shrink toward the buffer, never wrap into it.
    a[i * 4] = clampI32(r.x);
    a[i * 4 + 1] = clampI32(r.y);
    a[i * 4 + 2] = clampI32(r.width);
    a[i * 4 + 3] = clampI32(r.height);
  });
  return a;
}

function clampI32(v: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(v)));
}
