import type * as circomlibjs from 'circomlibjs';
import type { PoseidonHash } from '../attest/zk/poseidon.js';

let loading: Promise<PoseidonHash> | undefined;

/**
 * circomlibjs, imported once. Its copy of ffjavascript clears `globalThis.curve_bn128` when it loads; if
 * snarkjs (with its own copy) had already built its curve there, the curve's worker threads would be
 * orphaned and never stopped. So whatever is there before is put back.
 */
export async function importCircomlibjs(): Promise<typeof circomlibjs> {
  const holder = globalThis as { curve_bn128?: unknown };
  const curve = holder.curve_bn128;
  const module = await import('circomlibjs');
  if (curve) holder.curve_bn128 = curve;
  return module;
}

/**
 * circomlibjs's WebAssembly Poseidon, built once per process. Loaded on first use, never at import:
 * circomlibjs takes about a second to load and build, which a process that never touches the zk level
 * should not pay.
 */
export function loadPoseidon(): Promise<PoseidonHash> {
  loading ??= importCircomlibjs()
    .then(({ buildPoseidon }) => buildPoseidon())
    .then((poseidon) => (inputs: readonly bigint[]) => poseidon.F.toObject(poseidon(inputs)));
  return loading;
}
