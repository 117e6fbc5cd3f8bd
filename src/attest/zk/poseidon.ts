/** Poseidon over BN254 with circomlib's constants: the hash the circuits use, as bigint in and out. */
export type PoseidonHash = (inputs: readonly bigint[]) => bigint;

let loadingLight: Promise<PoseidonHash> | undefined;

/**
 * The same Poseidon in plain JavaScript (poseidon-lite), for the verifier: it loads in milliseconds and
 * runs in a browser, where circomlibjs does not. It hashes about four times slower, which the verifier's
 * one hash per step does not notice. Only the arity the verifier uses (3, the step-id chain) is loaded;
 * test/unit/zk checks it against circomlibjs (src/zk/poseidon.ts, what the prover and workers use).
 */
export function loadVerifierPoseidon(): Promise<PoseidonHash> {
  loadingLight ??= import('poseidon-lite/poseidon3').then(({ poseidon3 }) => (inputs: readonly bigint[]) => {
    if (inputs.length !== 3) throw new Error(`the verifier's Poseidon takes 3 inputs, not ${inputs.length}`);
    return poseidon3([...inputs]);
  });
  return loadingLight;
}
