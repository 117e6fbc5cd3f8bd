import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { DOCUMENT_INTELLIGENCE } from '../../support/example-results.js';

/**
 * `verity blob put/get`: store the example invoice, run the document-intelligence example on it by digest
 * (the OCR step reads the blob), and read a blob back byte for byte.
 */
const dir = mkdtempSync(join(tmpdir(), 'verity-cli-blobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { VERITY_DATA_DIR: join(dir, 'data'), VERITY_DATABASE_URL: '' };
const INVOICE = 'examples/document-intelligence/invoice.png';

describe('verity blob', () => {
  it('stores a file, runs a workflow on it by digest, and gets it back byte for byte', async () => {
    const put = await runCli(['blob', 'put', INVOICE], env);
    expect(put.code, put.stderr).toBe(0);
    const ref = JSON.parse(put.stdout) as { $blob: string; size: number; mediaType: string };
    expect(ref.mediaType).toBe('image/png');
    expect(ref.size).toBe(readFileSync(INVOICE).length);

    const run = await runCli(
      [
        'run',
        'examples/document-intelligence/workflow.yaml',
        '--input',
        JSON.stringify({ image: ref.$blob }),
        '--json',
      ],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { result: unknown }).result).toEqual(DOCUMENT_INTELLIGENCE);

    const out = join(dir, 'back.png');
    const get = await runCli(['blob', 'get', ref.$blob, '-o', out], env);
    expect(get.code, get.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(INVOICE))).toBe(true);
  });

  it('says what is wrong with a bad digest or a missing blob (exit 2)', async () => {
    const bad = await runCli(['blob', 'get', 'sha256:nothex'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a blob digest');
    const missing = await runCli(['blob', 'get', `sha256:${'0'.repeat(64)}`], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no blob');
  });
});
