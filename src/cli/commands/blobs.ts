import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { isBlobDigest } from '../../blobs/blob-ref.js';
import { openBackend, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { CliError } from '../errors.js';

const TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.pdf': 'application/pdf',
  '.csv': 'text/csv',
};

/**
 * `verity blob put FILE` stores a file (an image for an OCR step, a document) and prints the reference to
 * put in an execution's inputs; `verity blob get DIGEST` writes one back. Locally or on a server.
 */
export function registerBlobs(program: Command): void {
  const blob = program
    .command('blob')
    .description('store files for steps to read (images, documents), and fetch what steps produced');
  withBackendOptions(
    blob
      .command('put')
      .description('store a file; prints its reference { "$blob": "sha256:…", size, mediaType } on stdout')
      .argument('<file>', 'the file')
      .option('--type <media-type>', 'its media type (default: from the extension, else application/octet-stream)'),
  ).action(async (file: string, flags: BackendFlags & { type?: string }) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new CliError('usage', `cannot read ${file}: ${(error as Error).message}`);
    }
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const ref = await backend.putBlob(
        bytes,
        flags.type ?? TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      );
      process.stdout.write(JSON.stringify(ref) + '\n');
    });
  });
  withBackendOptions(
    blob
      .command('get')
      .description('write a blob to a file (or stdout): one you stored, or one your executions produced')
      .argument('<digest>', 'sha256:<64 hex digits>')
      .option('-o, --output <file>', 'where to write it (default: stdout)'),
  ).action(async (digest: string, flags: BackendFlags & { output?: string }) => {
    const given: string = digest;
    if (!isBlobDigest(digest))
      throw new CliError('usage', `"${given}" is not a blob digest; it looks like sha256:<64 lowercase hex digits>`);
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const bytes = await backend.getBlob(digest);
      if (flags.output) writeFileSync(flags.output, bytes);
      else process.stdout.write(bytes);
    });
  });
}
