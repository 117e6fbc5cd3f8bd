import { decode as decodeJpegBytes } from 'jpeg-js';
import { PNG } from 'pngjs';
import { ExecutorError } from '../../executor.js';
import type { Quad } from './geometry.js';

/** A decoded image: 8-bit RGB, row-major, 3 bytes a pixel. Alpha is already composited onto white. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Beyond this the decoded RGBA buffer alone would take ~200 MB: refuse before inflating (a PNG bomb is a few KB). */
export const MAX_PIXELS = 50_000_000;

/**
 * What the JPEG decoder may allocate in all (its coefficient blocks take ~4 bytes a pixel per colour
 * component, on top of the RGB result): a JPEG that declares a modest size but would still need more is
 * refused as the decoder reaches the limit, not after the process runs out of memory.
 */
export const MAX_JPEG_MEMORY_MB = 512;

/** What `decodeImage` reads, for the errors that refuse anything else. */
export const ACCEPTED_FORMATS = 'PNG or JPEG (baseline or progressive)';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Decodes the bytes named by the input field `image`; anything that is not a usable PNG or JPEG is the caller's mistake, not worth a retry. */
export function decodeImage(bytes: Uint8Array): RgbImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length >= 3 && buffer[0] === 0xff && buffer[1] === 0xd8 && buffer[2] === 0xff) return decodeJpeg(buffer);
  if (buffer.length >= 8 && buffer.subarray(0, 8).equals(PNG_SIGNATURE)) return decodePng(buffer);
  throw invalid(
    `image is neither a PNG nor a JPEG image (the bytes start with neither signature); images are read as ${ACCEPTED_FORMATS}: convert it to one of them first`,
  );
}

function decodePng(buffer: Buffer): RgbImage {
  if (buffer.length < 24) throw invalid('image is not a readable PNG: it ends before its header does');
  // The IHDR chunk always comes first: width and height at bytes 16–23.
  const width = buffer.readUInt32BE(16);
  const height = buffer.readUInt32BE(20);
  checkSize(width, height);
  let png: PNG;
  try {
    png = PNG.sync.read(buffer);
  } catch (error) {
    throw invalid(`image is not a readable PNG: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const rgba = png.data;
  const data = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    const alpha = rgba[i + 3]! / 255;
    // Transparent backgrounds (screenshots, logos) would otherwise read as black and swallow dark text.
    data[j] = Math.round(rgba[i]! * alpha + 255 * (1 - alpha));
    data[j + 1] = Math.round(rgba[i + 1]! * alpha + 255 * (1 - alpha));
    data[j + 2] = Math.round(rgba[i + 2]! * alpha + 255 * (1 - alpha));
  }
  return { width: png.width, height: png.height, data };
}

function decodeJpeg(buffer: Buffer): RgbImage {
  // The frame header names the size and the sampling: refuse from it before the decoder allocates anything
  // (it would allocate component by component, up to its limit, before finding out). The decoder's own
  // limits stay on behind this, for what the scan below does not see.
  const frame = jpegFrame(buffer);
  if (frame) {
    checkSize(frame.width, frame.height);
    if (jpegDecodeBytes(frame) > MAX_JPEG_MEMORY_MB * 1024 * 1024) throw tooBigJpeg();
  }
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = decodeJpegBytes(buffer, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: true,
      maxResolutionInMP: MAX_PIXELS / 1_000_000,
      maxMemoryUsageInMB: MAX_JPEG_MEMORY_MB,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/maxMemoryUsageInMB/.test(message)) throw tooBigJpeg(error);
    throw invalid(`image is not a readable JPEG: ${message}`, error);
  }
  if (image.width === 0 || image.height === 0 || image.data.length !== image.width * image.height * 3) {
    throw invalid(`image is not a readable JPEG: it decodes to ${image.width}x${image.height} pixels`);
  }
  return { width: image.width, height: image.height, data: image.data };
}

function tooBigJpeg(cause?: unknown): ExecutorError {
  return invalid(
    `image is a JPEG that would take more than ${MAX_JPEG_MEMORY_MB} MB to decode: send a smaller image`,
    cause,
  );
}

function checkSize(width: number, height: number): void {
  if (width === 0 || height === 0 || width * height > MAX_PIXELS) {
    throw invalid(`image is ${width}x${height} pixels; at most ${MAX_PIXELS} pixels are accepted`);
  }
}

/** What a JPEG's frame header declares: its size, and each colour component's sampling factors. */
export interface JpegFrame {
  width: number;
  height: number;
  components: { h: number; v: number }[];
}

/**
 * The first frame header (SOF0–SOF15 but DHT, JPG and DAC) of a JPEG, found by walking the marker segments
 * up to the first scan; undefined when there is none before it, and the decoder then says what is wrong.
 */
export function jpegFrame(buffer: Uint8Array): JpegFrame | undefined {
  let at = 2;
  while (at + 4 <= buffer.length) {
    if (buffer[at] !== 0xff) return undefined;
    const marker = buffer[at + 1]!;
    // Fill bytes, and the markers that stand alone (TEM, RSTn): no length follows.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = (buffer[at + 2]! << 8) | buffer[at + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 10 > buffer.length) return undefined;
      const count = buffer[at + 9]!;
      const components: JpegFrame['components'] = [];
      for (let i = 0, c = at + 10; i < count && c + 3 <= buffer.length; i++, c += 3) {
        components.push({ h: buffer[c + 1]! >> 4, v: buffer[c + 1]! & 15 });
      }
      return {
        height: (buffer[at + 5]! << 8) | buffer[at + 6]!,
        width: (buffer[at + 7]! << 8) | buffer[at + 8]!,
        components,
      };
    }
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/**
 * What jpeg-js counts against its memory limit to decode a frame: a 64-coefficient Int32 block per 8×8
 * block of each component (padded to whole MCUs), a line buffer and a sample per pixel per component, and
 * the RGB result.
 */
export function jpegDecodeBytes(frame: JpegFrame): number {
  const pixels = frame.width * frame.height;
  const maxH = Math.max(1, ...frame.components.map((c) => c.h));
  const maxV = Math.max(1, ...frame.components.map((c) => c.v));
  const mcusPerLine = Math.ceil(frame.width / 8 / maxH);
  const mcusPerColumn = Math.ceil(frame.height / 8 / maxV);
  let bytes = pixels * 3;
  for (const c of frame.components) bytes += mcusPerLine * c.h * mcusPerColumn * c.v * 256 + 2 * pixels;
  return bytes;
}

function invalid(message: string, cause?: unknown): ExecutorError {
  return new ExecutorError('invalid_input', message, { retryable: false, ...(cause !== undefined && { cause }) });
}

/** Where a resized image goes: a CHW float tensor of `tensorWidth` columns, written at batch slot `offset`. */
export interface TensorTarget {
  tensor: Float32Array;
  offset: number;
  tensorWidth: number;
  tensorHeight: number;
  /** Per channel, in tensor channel order: value = (pixel / 255 − mean) / std. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/**
 * Bilinear resize of `image` to `width`×`height` straight into a normalized tensor, with half-pixel centres
 * as cv2.resize does. Channels go in BGR order: PaddleOCR's models were trained on cv2-decoded (BGR) images.
 * Columns from `width` to `tensorWidth` are left as they are (zero: the padding PaddleOCR uses).
 */
export function resizeIntoTensor(image: RgbImage, width: number, height: number, target: TensorTarget): void {
  const { tensor, offset, tensorWidth, tensorHeight, mean, std } = target;
  const plane = tensorWidth * tensorHeight;
  const scales = [0, 1, 2].map((c) => 1 / (255 * std[c]!));
  const shifts = [0, 1, 2].map((c) => -mean[c]! / std[c]!);
  const sx = image.width / width;
  const sy = image.height / height;
  const src = image.data;
  const rowStride = image.width * 3;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), image.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), image.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, image.width - 1);
      const wx = fx - x0;
      const a = y0 * rowStride + x0 * 3;
      const b = y0 * rowStride + x1 * 3;
      const c = y1 * rowStride + x0 * 3;
      const d = y1 * rowStride + x1 * 3;
      const at = offset + y * tensorWidth + x;
      for (let ch = 0; ch < 3; ch++) {
        const s = 2 - ch; // BGR
        const top = src[a + s]! + (src[b + s]! - src[a + s]!) * wx;
        const bottom = src[c + s]! + (src[d + s]! - src[c + s]!) * wx;
        tensor[at + ch * plane] = (top + (bottom - top) * wy) * scales[ch]! + shifts[ch]!;
      }
    }
  }
}

/**
 * The pixels inside a quad, straightened into an upright image (PaddleOCR's get_rotate_crop_image). Text
 * boxes are rectangles, so an affine map from three corners does what its perspective warp does.
 * A crop much taller than wide is vertical text: it is turned a quarter counter-clockwise to read left to right.
 */
export function cropQuad(image: RgbImage, quad: Quad): RgbImage {
  const [tl, tr, br, bl] = quad;
  const width = Math.max(
    1,
    Math.round(Math.max(Math.hypot(tr[0] - tl[0], tr[1] - tl[1]), Math.hypot(br[0] - bl[0], br[1] - bl[1]))),
  );
  const height = Math.max(
    1,
    Math.round(Math.max(Math.hypot(bl[0] - tl[0], bl[1] - tl[1]), Math.hypot(br[0] - tr[0], br[1] - tr[1]))),
  );
  const ux = (tr[0] - tl[0]) / width;
  const uy = (tr[1] - tl[1]) / width;
  const vx = (bl[0] - tl[0]) / height;
  const vy = (bl[1] - tl[1]) / height;
  const data = new Uint8Array(width * height * 3);
  const sample = (fx: number, fy: number, out: number) => {
    // Outside the image reads as its nearest edge, like cv2's BORDER_REPLICATE.
    fx = Math.min(Math.max(fx, 0), image.width - 1);
    fy = Math.min(Math.max(fy, 0), image.height - 1);
    const x0 = Math.floor(fx);
    const y0 = Math.floor(fy);
    const x1 = Math.min(x0 + 1, image.width - 1);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const wx = fx - x0;
    const wy = fy - y0;
    const row0 = y0 * image.width;
    const row1 = y1 * image.width;
    for (let ch = 0; ch < 3; ch++) {
      const top = image.data[(row0 + x0) * 3 + ch]! * (1 - wx) + image.data[(row0 + x1) * 3 + ch]! * wx;
      const bottom = image.data[(row1 + x0) * 3 + ch]! * (1 - wx) + image.data[(row1 + x1) * 3 + ch]! * wx;
      data[out + ch] = Math.round(top * (1 - wy) + bottom * wy);
    }
  };
  // Corners are pixel centres (DB boxes come from pixel indices), so output pixel (0, 0) is the top left corner itself.
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      sample(tl[0] + u * ux + v * vx, tl[1] + u * uy + v * vy, (v * width + u) * 3);
    }
  }
  const crop = { width, height, data };
  return height / width >= 1.5 ? rotateCounterClockwise(crop) : crop;
}

function rotateCounterClockwise(image: RgbImage): RgbImage {
  const { width, height } = image;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // (x, y) lands at column y, row width − 1 − x of the height×width result.
      const to = ((width - 1 - x) * height + y) * 3;
      const from = (y * width + x) * 3;
      data[to] = image.data[from]!;
      data[to + 1] = image.data[from + 1]!;
      data[to + 2] = image.data[from + 2]!;
    }
  }
  return { width: height, height: width, data };
}
