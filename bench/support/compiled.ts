/**
 * The compiled project (dist/, by tsc), as the package ships it: what the
 * benchmark runs where a server's own cost is measured. Through tsx (esbuild with
 * keepNames) every function expression gets a `name` property when it is
 * created: extra work and memory per closure that no user's server has.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The path of `file` (relative to the root, .js) in dist/; throws when it is missing or older than the sources under `sources`. */
export function compiled(file: string, sources: readonly string[] = ['lib']): string {
  const path = join(ROOT, 'dist', file);
  let built: number;
  try {
    built = statSync(path).mtimeMs;
  } catch {
    throw new Error(`${path} is missing: run npm run build (the bench measures the compiled code)`);
  }
  for (const dir of sources) {
    if (newestSource(join(ROOT, dir)) > built) throw new Error(`dist/ is older than ${dir}/: run npm run build:ts (the bench measures the compiled code)`);
  }
  return path;
}
