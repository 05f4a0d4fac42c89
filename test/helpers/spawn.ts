import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript file of the project in a new Node process, with `fds` passed
 * at 3, 4, ... (the child's copies; the parent keeps its own).
 */
export function runTs(file: string, args: string[], fds: readonly number[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, file), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', ...fds],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
