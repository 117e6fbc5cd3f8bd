import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { isBlobDigest, isBlobRef } from '../../../blobs/blob-ref.js';
import { BlobError } from '../../../blobs/errors.js';
import type { ExecutorContext } from '../../executor.js';
import { ExecutorError } from '../../executor.js';

/** Larger inputs are refused before they are read: a page scan at 300 dpi is a few MB. */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

const FORMS =
  'a blob digest "sha256:<hex>", a blob reference { "$blob", "size", "mediaType" }, a data URI "data:image/png;base64,…", or (in a local CLI run only) a path relative to the data directory';

/**
 * The one answer to a path outside a local CLI run, whatever the path and whether or not a file is there:
 * a worker of a server must not open its own files (keys, other clients' blobs) because an input named
 * them, nor tell which exist.
 */
export const NO_FILE_PATHS =
  'image names a file, and through a server images are blobs: upload the file (POST /v1/blobs, or verity blob put) and pass its blob reference or digest as image';

/**
 * The bytes the step's input field `image` names. Every way it can be wrong is the workflow's mistake
 * (non-retryable) except a blob store that is unreachable for now.
 */
export async function readImageInput(
  input: unknown,
  context: Pick<ExecutorContext, 'blobs' | 'inputFileDir'>,
): Promise<Buffer> {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !('image' in input)) {
    throw invalid(`the input needs a field image: ${FORMS}`);
  }
  const image = input.image;
  if (isBlobDigest(image) || isBlobRef(image)) return readBlob(image, context);
  if (typeof image !== 'string' || image === '') throw invalid(`image must be ${FORMS}`);
  if (image.startsWith('data:')) return decodeDataUri(image);
  // Before anything looks at the path: the refusal must not depend on it.
  if (context.inputFileDir === undefined) throw invalid(NO_FILE_PATHS);
  return readUnderDataDir(image, context.inputFileDir);
}

async function readBlob(
  ref: Parameters<ExecutorContext['blobs']['get']>[0],
  context: Pick<ExecutorContext, 'blobs'>,
): Promise<Buffer> {
  try {
    return await context.blobs.get(ref);
  } catch (error) {
    if (error instanceof BlobError && error.code !== 'unavailable') {
      throw invalid(`image names a blob that cannot be read (${error.code}): ${error.message}`, error);
    }
    throw new ExecutorError(
      'blob_unavailable',
      `image: the blob store did not answer: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

function decodeDataUri(uri: string): Buffer {
  const comma = uri.indexOf(',');
  const header = comma < 0 ? '' : uri.slice(5, comma);
  if (comma < 0 || !header.split(';').includes('base64')) {
    throw invalid('image is a data URI but not a base64 one: use "data:image/png;base64,<base64 bytes>"');
  }
  const body = uri.slice(comma + 1);
  if (body.length > Math.ceil(MAX_IMAGE_BYTES / 3) * 4) throw invalid(`image is larger than ${MAX_IMAGE_BYTES} bytes`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw invalid('image is a data URI whose body is not valid base64');
  return Buffer.from(body, 'base64');
}

/**
 * A file under the directory a local CLI run allows (its data directory), refusing anything that leads
 * outside it, through `..` or through a symbolic link.
 */
async function readUnderDataDir(path: string, dataDir: string): Promise<Buffer> {
  if (isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path)) {
    throw invalid(`image must be a path relative to the worker's data directory, not an absolute path (${path})`);
  }
  const root = resolve(dataDir);
  if (!inside(root, resolve(root, path)))
    throw invalid(`image: the path ${path} leads outside the worker's data directory`);
  let real: string;
  try {
    real = await realpath(resolve(root, path));
  } catch (error) {
    throw invalid(`image: there is no file ${path} in the worker's data directory`, error);
  }
  if (!inside(await realpath(root), real))
    throw invalid(`image: the path ${path} leads outside the worker's data directory (through a link)`);
  const info = await stat(real);
  if (!info.isFile()) throw invalid(`image: ${path} in the worker's data directory is not a file`);
  if (info.size > MAX_IMAGE_BYTES) throw invalid(`image: ${path} is larger than ${MAX_IMAGE_BYTES} bytes`);
  return readFile(real);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function invalid(message: string, cause?: unknown): ExecutorError {
  return new ExecutorError('invalid_input', message, { retryable: false, ...(cause !== undefined && { cause }) });
}
