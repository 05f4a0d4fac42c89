/**
 * Environment overrides, read at each allocator's creation:
 * - BUFSHARE_ALLOCATOR=gbm|dumb|udmabuf|shm|auto: the backend the auto allocator uses
 *   for hardware requests (an explicit backend that is unavailable is an error);
 * - BUFSHARE_ACCESS=shadow|auto: force shadow access on every hardware buffer (tests).
 * - BUFSHARE_DEVICE=/dev/dri/cardN: the DRM node the hardware backends open.
 */
import { BufshareError } from '../errors';

export type AllocatorChoice = 'auto' | 'gbm' | 'dumb' | 'udmabuf' | 'shm';
export const ALLOCATOR_CHOICES: readonly AllocatorChoice[] = ['auto', 'gbm', 'dumb', 'udmabuf', 'shm'];

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim().toLowerCase();
  return v === undefined || v === '' ? undefined : v;
}

export function allocatorFromEnv(env: NodeJS.ProcessEnv = process.env): AllocatorChoice | undefined {
  const v = value(env, 'BUFSHARE_ALLOCATOR');
  if (v === undefined) return undefined;
  if (!(ALLOCATOR_CHOICES as readonly string[]).includes(v)) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `BUFSHARE_ALLOCATOR must be one of ${ALLOCATOR_CHOICES.join(', ')}, got ${JSON.stringify(env.BUFSHARE_ALLOCATOR)}`);
  }
  return v as AllocatorChoice;
}

/** 'shadow' when BUFSHARE_ACCESS forces it; undefined for unset or 'auto'. */
export function accessFromEnv(env: NodeJS.ProcessEnv = process.env): 'shadow' | undefined {
  const v = value(env, 'BUFSHARE_ACCESS');
  if (v === undefined || v === 'auto') return undefined;
  if (v === 'shadow') return 'shadow';
  throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `BUFSHARE_ACCESS must be 'shadow' or 'auto', got ${JSON.stringify(env.BUFSHARE_ACCESS)}`);
}

export function deviceFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.BUFSHARE_DEVICE?.trim();
  return v ? v : undefined;
}

/** Why shadow is forced for a request, or undefined: the request's own `access: 'shadow'` or the environment. */
export function forcedShadowReason(requested: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (requested === 'shadow') return "the request asked for access: 'shadow'";
  if (accessFromEnv(env) === 'shadow') return 'BUFSHARE_ACCESS=shadow';
  return undefined;
}
