import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutorBlobs } from '../../../src/executors/executor.js';
import { cropQuad, decodeImage } from '../../../src/executors/inference/ocr/image.js';
import { NO_FILE_PATHS, readImageInput } from '../../../src/executors/inference/ocr/image-source.js';

function png(width: number, height: number, rgba: (x: number, y: number) => [number, number, number, number]): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data.set(rgba(x, y), (y * width + x) * 4);
  return PNG.sync.write(image);
}

const noBlobs: ExecutorBlobs = {
  get: () => Promise.reject(new Error('no blobs in this test')),
  put: () => Promise.reject(new Error('no blobs in this test')),
};

describe('paddleocr images', () => {
  it('decodes a PNG to RGB, compositing transparency onto white', () => {
    const image = decodeImage(png(2, 1, (x) => (x === 0 ? [10, 20, 30, 255] : [0, 0, 0, 0])));
    expect(image).toMatchObject({ width: 2, height: 1 });
    expect([...image.data]).toEqual([10, 20, 30, 255, 255, 255]);
  });

  it('refuses what is not a PNG, as non-retryable invalid input naming image', () => {
    for (const [bytes, message] of [
      [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]), /image is a JPEG/],
      [Buffer.from('hello'), /image is not a PNG/],
      [Buffer.concat([png(4, 4, () => [0, 0, 0, 255]).subarray(0, 40)]), /image is not a readable PNG/],
    ] as const) {
      expect(() => decodeImage(bytes)).toThrow(expect.objectContaining({ code: 'invalid_input', retryable: false, message: expect.stringMatching(message) as unknown }));
    }
  });

  it('crops a quad upright, and turns tall crops a quarter to read sideways text', () => {
    // Column x has red value x·10.
    const image = decodeImage(png(10, 10, (x) => [x * 10, 0, 0, 255]));
    const crop = cropQuad(image, [
      [2, 1],
      [6, 1],
      [6, 3],
      [2, 3],
    ]);
    expect([crop.width, crop.height]).toEqual([4, 2]);
    expect([0, 1, 2, 3].map((u) => crop.data[u * 3])).toEqual([20, 30, 40, 50]);
    const tall = cropQuad(image, [
      [2, 0],
      [4, 0],
      [4, 8],
      [2, 8],
    ]);
    expect([tall.width, tall.height]).toEqual([8, 2]);
    // Corners are pixel centres, so the 2-wide crop holds columns 2 and 3; turned counter-clockwise, its
    // right column becomes the top row.
    expect(tall.data[0]).toBe(30);
    expect(tall.data[(1 * 8) * 3]).toBe(20);
  });

  describe('the image input field', () => {
    const root = mkdtempSync(join(tmpdir(), 'verity-ocr-input-'));
    const dataDir = join(root, 'data');
    mkdirSync(join(dataDir, 'scans'), { recursive: true });
    writeFileSync(join(dataDir, 'scans', 'page.png'), 'page bytes');
    writeFileSync(join(root, 'secret.png'), 'secret bytes');
    symlinkSync(join(root, 'secret.png'), join(dataDir, 'escape.png'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const read = (image: unknown) => readImageInput({ image }, { blobs: noBlobs, inputFileDir: dataDir });

    it('reads a path under the data directory and a base64 data URI', async () => {
      expect((await read('scans/page.png')).toString()).toBe('page bytes');
      expect((await read('scans/../scans/page.png')).toString()).toBe('page bytes');
      expect((await read(`data:image/png;base64,${Buffer.from('inline').toString('base64')}`)).toString()).toBe('inline');
    });

    it('reads blobs through the job, by digest or by reference', async () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      const asked: unknown[] = [];
      const blobs: ExecutorBlobs = { ...noBlobs, get: (ref) => (asked.push(ref), Promise.resolve(Buffer.from('blob bytes'))) };
      expect((await readImageInput({ image: digest }, { blobs })).toString()).toBe('blob bytes');
      await readImageInput({ image: { $blob: digest, size: 10, mediaType: 'image/png' } }, { blobs });
      expect(asked).toEqual([digest, { $blob: digest, size: 10, mediaType: 'image/png' }]);
    });

    it('refuses paths that leave the data directory, by .. or by a link, and absolute paths', async () => {
      for (const [image, message] of [
        ['../secret.png', /image: the path \.\.\/secret\.png leads outside/],
        ['scans/../../secret.png', /leads outside/],
        ['escape.png', /leads outside the worker's data directory \(through a link\)/],
        [join(dataDir, 'scans', 'page.png'), /image must be a path relative/],
        ['.', /leads outside|is not a file/],
        ['scans', /image: scans in the worker's data directory is not a file/],
        ['data:image/png,rawbytes', /not a base64 one/],
        ['data:image/png;base64,***', /not valid base64/],
        [{ $blob: 'sha256:nope' }, /image must be a blob digest/],
      ] as const) {
        await expect(read(image)).rejects.toMatchObject({ code: 'invalid_input', retryable: false, message: expect.stringMatching(message) as unknown });
      }
      await expect(readImageInput({}, { blobs: noBlobs, inputFileDir: dataDir })).rejects.toMatchObject({ message: expect.stringMatching(/needs a field image/) as unknown });
    });

    it('refuses every path with one answer when no directory is allowed (any worker of a server), whether or not the file exists', async () => {
      const answers = new Set<string>();
      for (const image of ['scans/page.png', 'missing.png', '../secret.png', 'escape.png', join(dataDir, 'scans', 'page.png'), '/etc/passwd', 'admin.key', 'keys/coordinator.key', '.']) {
        const error = (await readImageInput({ image }, { blobs: noBlobs }).catch((e: unknown) => e)) as { code: string; retryable: boolean; message: string };
        expect(error).toMatchObject({ code: 'invalid_input', retryable: false });
        answers.add(error.message);
      }
      expect([...answers]).toEqual([NO_FILE_PATHS]);
    });
  });
});
