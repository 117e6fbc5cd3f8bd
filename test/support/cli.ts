import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const VERITY_BIN = fileURLToPath(new URL('../../bin/verity.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `verity …` as a real child process (the built CLI, as a user runs it). */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcess & { output: Promise<CliResult> } {
  return spawnCollecting(process.execPath, [VERITY_BIN, ...args], env);
}

/** Runs one of the examples' shell scripts (`examples/<name>/walkthrough.sh`) from the repository, as a user would. */
export function runExampleScript(script: string, env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCollecting('bash', [join(REPO, script)], env).output;
}

function spawnCollecting(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): ChildProcess & { output: Promise<CliResult> } {
  const child = spawn(command, args, {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const output = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return Object.assign(child, { output });
}

export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCli(args, env).output;
}
