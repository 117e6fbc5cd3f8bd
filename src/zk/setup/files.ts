import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Lowercase hex SHA-256 of a file, streamed: zkeys and ptau files run to hundreds of megabytes. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A temporary name next to `path`, unique to this process and call: a stage writes there and renames,
 * so an interrupted stage never leaves a file that looks finished, and two processes never share one.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Runs `write(temp)` and renames the result to `path`; the temporary file is removed if `write` fails. */
export async function writeAtomically<T>(path: string, write: (temp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    const result = await write(temp);
    await rename(temp, path);
    return result;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  await writeAtomically(path, (temp) => writeFile(temp, JSON.stringify(value, null, 2) + '\n'));
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
