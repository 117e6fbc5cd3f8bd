import type * as circomlibjs from 'circomlibjs';

/** Poseidon over BN254 with circomlib's constants: the hash the circuits use, as bigint in and out. */
export type PoseidonHash = (inputs: readonly bigint[]) => bigint;

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

let loadingLight: Promise<PoseidonHash> | undefined;

/**
 * The same Poseidon in plain JavaScript (poseidon-lite), for the verifier: it loads in milliseconds and
 * runs in a browser, where circomlibjs does not. It hashes about four times slower, which the verifier's
 * one hash per step does not notice. Only the arity the verifier uses (3, the step-id chain) is loaded;
 * test/unit/zk checks it against circomlibjs.
 */
export function loadVerifierPoseidon(): Promise<PoseidonHash> {
  loadingLight ??= import('poseidon-lite/poseidon3').then(({ poseidon3 }) => (inputs: readonly bigint[]) => {
    if (inputs.length !== 3) throw new Error(`the verifier's Poseidon takes 3 inputs, not ${inputs.length}`);
    return poseidon3([...inputs]);
  });
  return loadingLight;
}
