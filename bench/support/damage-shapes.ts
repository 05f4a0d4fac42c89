/**
 * Damage sets chosen to be expensive for a row-by-row copy: each is the kind of
 * shape a planner that only copies rectangles as given would pay far more than a
 * full frame for. Each has at most 4,095 rectangles, what one submit can carry
 * (MAX_WIRE_RECTS). Shared by the bench (at 1080p) and the planner's tests
 * (scaled down), so the tested shapes are the measured ones.
 */
export interface DamageShape {
  readonly name: string;
  /** x, y, width, height quadruples. */
  readonly rects: Int32Array;
}

/** Seeded so that every run copies the same pixels (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `variant` (0..3) moves the sparse shape (the pixels) to other places, so that
 * a benchmark's rounds do not find the previous round's lines in the cache; the
 * others touch every row of the frame, which is larger than the cache already.
 */
export function adversarialDamage(width: number, height: number, variant = 0): DamageShape[] {
  const pixels: number[] = [];
  const r = seeded(4095 + variant);
  for (let i = 0; i < 4095; i++) pixels.push(Math.floor(r() * width), Math.floor(r() * height), 1, 1);
  const checker: number[] = [];
  for (let y = 0; y < height; y += 16) for (let x = ((y / 16) % 2) * 16; x < width; x += 32) checker.push(x, y, 16, 16);
  const columns: number[] = [];
  for (let x = 0; x < width; x += 4) columns.push(x, 0, 1, height);
  const rows: number[] = [];
  for (let y = 0; y < height; y += 2) rows.push(0, y, width, 1);
  const wideColumns: number[] = [];
  for (let x = 0; x < width; x += 64) wideColumns.push(x, 0, 16, height);
  return [
    { name: '4,095 1-px rects', rects: Int32Array.from(pixels) },
    { name: 'checkerboard 16 px', rects: Int32Array.from(checker) },
    { name: 'columns 1 px every 4 px', rects: Int32Array.from(columns) },
    { name: 'columns 16 px every 64 px', rects: Int32Array.from(wideColumns) },
    { name: 'rows 1 px every 2 rows', rects: Int32Array.from(rows) },
  ];
}
