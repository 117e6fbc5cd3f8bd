/** Poseidon over BN254 with circomlib's constants: the hash the circuits use, as bigint in and out. */
export type PoseidonHash = (inputs: readonly bigint[]) => bigint;

let loading: Promise<PoseidonHash> | undefined;

/**
 * circomlibjs's WebAssembly Poseidon, built once per process. Loaded on first use, never at import:
 * circomlibjs takes about a second to load and build, which a process that never touches the zk level
 * should not pay.
 */
export function loadPoseidon(): Promise<PoseidonHash> {
  loading ??= import('circomlibjs')
    .then(({ buildPoseidon }) => buildPoseidon())
    .then((poseidon) => (inputs: readonly bigint[]) => poseidon.F.toObject(poseidon(inputs)));
  return loading;
}
