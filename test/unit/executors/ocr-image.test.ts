import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutorBlobs } from '../../../src/executors/executor.js';
import {
  MAX_JPEG_MEMORY_MB,
  MAX_PIXELS,
  cropQuad,
  decodeImage,
  jpegDecodeBytes,
  jpegFrame,
} from '../../../src/executors/inference/ocr/image.js';
import { NO_FILE_PATHS, readImageInput } from '../../../src/executors/inference/ocr/image-source.js';

function png(width: number, height: number, rgba: (x: number, y: number) => [number, number, number, number]): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data.set(rgba(x, y), (y * width + x) * 4);
  return PNG.sync.write(image);
}

function jpeg(
  width: number,
  height: number,
  rgb: (x: number, y: number) => [number, number, number],
  quality = 100,
): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([...rgb(x, y), 255], (y * width + x) * 4);
  return encodeJpeg({ width, height, data }, quality).data;
}

/** A JPEG that is all header: SOI, a baseline frame header declaring the size and components given, EOI. */
function jpegHeader(
  width: number,
  height: number,
  components: readonly (readonly [number, number])[] = [
    [1, 1],
    [1, 1],
    [1, 1],
  ],
): Buffer {
  const sof = [
    0xff,
    0xc0,
    0,
    8 + 3 * components.length,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    components.length,
  ];
  components.forEach(([h, v], i) => sof.push(i + 1, (h << 4) | v, 0));
  return Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, ...sof, 0xff, 0xd9]);
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
      [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]), /image is not a readable JPEG/],
      [Buffer.from('hello'), /image is neither a PNG nor a JPEG image .*read as PNG or JPEG/],
      [Buffer.from('GIF89a\x01\x00\x01\x00'), /neither a PNG nor a JPEG/],
      [Buffer.concat([png(4, 4, () => [0, 0, 0, 255]).subarray(0, 40)]), /image is not a readable PNG/],
    ] as const) {
      expect(() => decodeImage(bytes)).toThrow(
        expect.objectContaining({
          code: 'invalid_input',
          retryable: false,
          message: expect.stringMatching(message) as unknown,
        }),
      );
    }
  });

  describe('JPEG', () => {
    it('decodes a baseline JPEG to RGB, the pixels within what the lossy encoding changes', () => {
      // Four flat quadrants (flat 8×8 blocks survive the DCT almost exactly).
      const colours: [number, number, number][] = [
        [200, 30, 30],
        [30, 200, 30],
        [30, 30, 200],
        [250, 250, 250],
      ];
      const colourAt = (x: number, y: number) => colours[(y < 16 ? 0 : 2) + (x < 16 ? 0 : 1)]!;
      const image = decodeImage(jpeg(32, 32, colourAt));
      expect(image).toMatchObject({ width: 32, height: 32 });
      expect(image.data).toHaveLength(32 * 32 * 3);
      for (const [x, y] of [
        [4, 4],
        [27, 4],
        [4, 27],
        [27, 27],
      ] as const) {
        const at = (y * 32 + x) * 3;
        const got = [image.data[at]!, image.data[at + 1]!, image.data[at + 2]!];
        colourAt(x, y).forEach((want, c) => expect(Math.abs(got[c]! - want)).toBeLessThanOrEqual(6));
      }
    });

    it('decodes a gray JPEG to three equal channels', () => {
      const image = decodeImage(jpeg(16, 8, () => [128, 128, 128]));
      for (let i = 0; i < image.data.length; i += 3) {
        expect(Math.abs(image.data[i]! - 128)).toBeLessThanOrEqual(2);
        expect(image.data[i]).toBe(image.data[i + 1]);
        expect(image.data[i + 1]).toBe(image.data[i + 2]);
      }
    });

    it('reads the frame header a JPEG declares, past other segments', () => {
      expect(jpegFrame(jpeg(24, 10, () => [0, 0, 0]))).toEqual({
        width: 24,
        height: 10,
        components: [
          { h: 1, v: 1 },
          { h: 1, v: 1 },
          { h: 1, v: 1 },
        ],
      });
      expect(jpegFrame(jpegHeader(65535, 3, [[2, 2]]))).toEqual({
        width: 65535,
        height: 3,
        components: [{ h: 2, v: 2 }],
      });
      // A scan before any frame header, or bytes that are no segment: the decoder says what is wrong.
      expect(jpegFrame(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2]))).toBeUndefined();
      expect(jpegFrame(Buffer.from([0xff, 0xd8, 0x00, 0x00, 0, 2]))).toBeUndefined();
    });

    it('refuses a hostile JPEG by the size its header declares, at once, before the decoder allocates anything', () => {
      for (const [bytes, message] of [
        [jpegHeader(65535, 65535), /image is 65535x65535 pixels; at most 50000000 pixels are accepted/],
        [jpegHeader(10000, 5001), /image is 10000x5001 pixels/],
        [jpegHeader(100, 0), /image is 100x0 pixels/],
        // Under the pixel limit, but 4×4 sampling of three components would take far more than the memory limit.
        [
          jpegHeader(7000, 7000, [
            [4, 4],
            [4, 4],
            [4, 4],
          ]),
          new RegExp(`image is a JPEG that would take more than ${MAX_JPEG_MEMORY_MB} MB to decode`),
        ],
      ] as const) {
        const started = performance.now();
        expect(() => decodeImage(bytes)).toThrow(
          expect.objectContaining({
            code: 'invalid_input',
            retryable: false,
            message: expect.stringMatching(message) as unknown,
          }),
        );
        expect(performance.now() - started).toBeLessThan(100);
      }
      expect(10000 * 5001).toBeGreaterThan(MAX_PIXELS);
    });

    it('counts what the decoder will allocate as the decoder does', () => {
      // 16×16, one component, 1×1 sampling: 4 blocks of 256 bytes, 2 bytes and 3 bytes a pixel.
      expect(jpegDecodeBytes({ width: 16, height: 16, components: [{ h: 1, v: 1 }] })).toBe(
        4 * 256 + 256 * 2 + 256 * 3,
      );
      // 4:2:0 (luma 2×2, chroma 1×1) pads to whole 16×16 MCUs: a 17×17 image has 2×2 MCUs.
      expect(
        jpegDecodeBytes({
          width: 17,
          height: 17,
          components: [
            { h: 2, v: 2 },
            { h: 1, v: 1 },
            { h: 1, v: 1 },
          ],
        }),
      ).toBe((16 + 4 + 4) * 256 + 3 * 289 * 2 + 289 * 3);
    });

    it('refuses a JPEG that is cut short, or whose data is garbage, as invalid input', () => {
      const whole = jpeg(16, 16, () => [10, 20, 30]);
      for (const bytes of [whole.subarray(0, 40), jpegHeader(16, 16)]) {
        expect(() => decodeImage(bytes)).toThrow(
          expect.objectContaining({
            code: 'invalid_input',
            retryable: false,
            message: expect.stringMatching(/image is not a readable JPEG/) as unknown,
          }),
        );
      }
    });
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
    expect(tall.data[1 * 8 * 3]).toBe(20);
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
      expect((await read(`data:image/png;base64,${Buffer.from('inline').toString('base64')}`)).toString()).toBe(
        'inline',
      );
    });

    it('reads blobs through the job, by digest or by reference', async () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      const asked: unknown[] = [];
      const blobs: ExecutorBlobs = {
        ...noBlobs,
        get: (ref) => (asked.push(ref), Promise.resolve(Buffer.from('blob bytes'))),
      };
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
        await expect(read(image)).rejects.toMatchObject({
          code: 'invalid_input',
          retryable: false,
          message: expect.stringMatching(message) as unknown,
        });
      }
      await expect(readImageInput({}, { blobs: noBlobs, inputFileDir: dataDir })).rejects.toMatchObject({
        message: expect.stringMatching(/needs a field image/) as unknown,
      });
    });

    it('refuses every path with one answer when no directory is allowed (any worker of a server), whether or not the file exists', async () => {
      const answers = new Set<string>();
      for (const image of [
        'scans/page.png',
        'missing.png',
        '../secret.png',
        'escape.png',
        join(dataDir, 'scans', 'page.png'),
        '/etc/passwd',
        'admin.key',
        'keys/coordinator.key',
        '.',
      ]) {
        const error = (await readImageInput({ image }, { blobs: noBlobs }).catch((e: unknown) => e)) as {
          code: string;
          retryable: boolean;
          message: string;
        };
        expect(error).toMatchObject({ code: 'invalid_input', retryable: false });
        answers.add(error.message);
      }
      expect([...answers]).toEqual([NO_FILE_PATHS]);
    });
  });
});
