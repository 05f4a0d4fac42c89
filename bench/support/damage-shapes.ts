/**
 * Damage sets chosen to be expensive for a row-by-row copy: each is the kind of
 * shape a planner that only copies rectangles as given would pay far more than a
 * full frame for. Shared by the bench (at 1080p) and the planner's tests
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

export function adversarialDamage(width: number, height: number): DamageShape[] {
  const pixels: number[] = [];
  const r = seeded(4095);
  for (let i = 0; i < 4095; i++) pixels.push(Math.floor(r() * width), Math.floor(r() * height), 1, 1);
  const checker: number[] = [];
  for (let y = 0; y < height; y += 8) for (let x = ((y / 8) % 2) * 8; x < width; x += 16) checker.push(x, y, 8, 8);
  const columns: number[] = [];
  for (let x = 0; x < width; x += 4) columns.push(x, 0, 1, height);
  const rows: number[] = [];
  for (let y = 0; y < height; y += 2) rows.push(0, y, width, 1);
  const wideColumns: number[] = [];
  for (let x = 0; x < width; x += 64) wideColumns.push(x, 0, 16, height);
  return [
    { name: '4,095 1-px rects', rects: Int32Array.from(pixels) },
    { name: 'checkerboard 8 px', rects: Int32Array.from(checker) },
    { name: 'columns 1 px every 4 px', rects: Int32Array.from(columns) },
    { name: 'columns 16 px every 64 px', rects: Int32Array.from(wideColumns) },
    { name: 'rows 1 px every 2 rows', rects: Int32Array.from(rows) },
  ];
}
