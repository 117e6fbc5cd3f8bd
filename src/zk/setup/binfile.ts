import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ZkError } from '../../attest/zk/errors.js';

/**
 * Headers of the iden3 binary formats (r1cs, ptau), read directly: snarkjs's readers load the curve and
 * its worker threads, or the whole file, to answer what a few dozen bytes say.
 *
 * Layout: 4-byte magic, u32 version, u32 section count, then per section u32 type, u64 size, data.
 */
interface Section {
  type: number;
  offset: number;
  size: number;
}

/** The bn128 base field: what ptau headers name. */
export const BN128_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

async function readAt(fd: FileHandle, position: number, length: number, file: string): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await fd.read(buffer, 0, length, position);
  if (bytesRead !== length)
    throw new ZkError('setup_failed', `${file} is truncated: expected ${length} bytes at offset ${position}`);
  return buffer;
}

async function readSections(fd: FileHandle, file: string, magic: string): Promise<Section[]> {
  const head = await readAt(fd, 0, 12, file);
  if (head.toString('latin1', 0, 4) !== magic) throw new ZkError('setup_failed', `${file} is not a .${magic} file`);
  const count = head.readUInt32LE(8);
  const sections: Section[] = [];
  let position = 12;
  for (let i = 0; i < count; i++) {
    const header = await readAt(fd, position, 12, file);
    const size = Number(header.readBigUInt64LE(4));
    sections.push({ type: header.readUInt32LE(0), offset: position + 12, size });
    position += 12 + size;
  }
  return sections;
}

function littleEndian(bytes: Buffer): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

async function withFile<T>(file: string, read: (fd: FileHandle) => Promise<T>): Promise<T> {
  let fd: FileHandle;
  try {
    fd = await open(file, 'r');
  } catch (error) {
    throw new ZkError('setup_failed', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await read(fd);
  } finally {
    await fd.close();
  }
}

async function headerSection(fd: FileHandle, sections: Section[], file: string, minimum: number): Promise<Buffer> {
  const header = sections.find((s) => s.type === 1);
  if (!header || header.size < minimum) throw new ZkError('setup_failed', `${file} has no valid header section`);
  return readAt(fd, header.offset, header.size, file);
}

export interface PtauHeader {
  /** How many powers the file holds: 2^power. */
  power: number;
  /** The power the ceremony ran at (larger than `power` in a truncated file). */
  ceremonyPower: number;
  prime: bigint;
  /** Whether `powersoftau prepare phase2` ran: the Lagrange sections (12–15) that zkey generation needs. */
  prepared: boolean;
}

export function readPtauHeader(file: string): Promise<PtauHeader> {
  return withFile(file, async (fd) => {
    const sections = await readSections(fd, file, 'ptau');
    const header = await headerSection(fd, sections, file, 4);
    const n8 = header.readUInt32LE(0);
    if (header.length < 4 + n8 + 8) throw new ZkError('setup_failed', `${file} has a truncated header`);
    return {
      prime: littleEndian(header.subarray(4, 4 + n8)),
      power: header.readUInt32LE(4 + n8),
      ceremonyPower: header.readUInt32LE(8 + n8),
      prepared: sections.some((s) => s.type === 12),
    };
  });
}

export interface R1csHeader {
  prime: bigint;
  nWires: number;
  nOutputs: number;
  nPubInputs: number;
  nPrvInputs: number;
  nConstraints: number;
}

export function readR1csHeader(file: string): Promise<R1csHeader> {
  return withFile(file, async (fd) => {
    const sections = await readSections(fd, file, 'r1cs');
    const header = await headerSection(fd, sections, file, 4);
    const n8 = header.readUInt32LE(0);
    const at = 4 + n8;
    if (header.length < at + 28) throw new ZkError('setup_failed', `${file} has a truncated header`);
    return {
      prime: littleEndian(header.subarray(4, at)),
      nWires: header.readUInt32LE(at),
      nOutputs: header.readUInt32LE(at + 4),
      nPubInputs: header.readUInt32LE(at + 8),
      nPrvInputs: header.readUInt32LE(at + 12),
      // at + 16: nLabels (u64)
      nConstraints: header.readUInt32LE(at + 24),
    };
  });
}

/**
 * The powers of tau a Groth16 circuit needs: its domain holds every constraint plus one per public
 * signal and one more (snarkjs's zkey new computes the same), and never less than 2^8.
 */
export function requiredPower(r1cs: R1csHeader): number {
  const size = r1cs.nConstraints + r1cs.nPubInputs + r1cs.nOutputs + 1;
  let power = 8;
  while (2 ** power < size) power++;
  return power;
}
