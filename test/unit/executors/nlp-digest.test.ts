import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { directoryDigest } from '../../../src/executors/inference/nlp/package-digest.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'verity-digest-'));
  dirs.push(root);
  // Written in the order given, so the digest cannot depend on creation order.
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

describe('directoryDigest', () => {
  it('is the same for the same files whatever order they were written in, and changes with a name or a byte', async () => {
    const a = await directoryDigest(tree({ 'package.json': '{}', 'dist/model.json': '[1]', 'dist/a.js': 'x' }));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await directoryDigest(tree({ 'dist/a.js': 'x', 'dist/model.json': '[1]', 'package.json': '{}' }))).toBe(a);
    expect(await directoryDigest(tree({ 'package.json': '{}', 'dist/model.json': '[2]', 'dist/a.js': 'x' }))).not.toBe(
      a,
    );
    expect(await directoryDigest(tree({ 'package.json': '{}', 'dist/model2.json': '[1]', 'dist/a.js': 'x' }))).not.toBe(
      a,
    );
  });
});
