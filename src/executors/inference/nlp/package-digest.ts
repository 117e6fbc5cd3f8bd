import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * The SHA-256 (hex) of every file under a package directory, in a stable order: each file contributes its
 * path relative to the root (with `/` separators), its size and its bytes, so renaming, moving or editing
 * any file changes the digest, and the same files give the same digest on any machine.
 */
export async function directoryDigest(root: string): Promise<string> {
  const files = (await listFiles(root)).map((file) => ({ file, name: relative(root, file).split(sep).join('/') }));
  // Code-unit order, not locale order: the digest must not depend on the machine's collation.
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const { file, name } of files) {
    const bytes = await readFile(file);
    hash.update(`${name}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // A nested node_modules is someone else's package, not this model's files.
      if (entry.name !== 'node_modules') out.push(...(await listFiles(path)));
    } else if (entry.isFile()) {
      out.push(path);
    }
  }
  return out;
}
