import { join } from 'node:path';
import type { ZkConfig } from '../attest/zk/circuit.js';
import { circuitId } from '../attest/zk/circuit.js';

// The circuit's identity and parameters are pure (the verifier needs them, in a browser too) and live in
// src/attest/zk/circuit.ts; file paths are not, and stay here.

/** Where one circuit's artifacts live inside the zk directory. Nothing here is committed; `verity zk setup` rebuilds it. */
export function artifactPaths(zkDir: string, config: ZkConfig) {
  const dir = join(zkDir, circuitId(config));
  return {
    dir,
    /** The generated main component: the template from circuits/ with this configuration's parameters. */
    main: join(dir, 'circuit.circom'),
    r1cs: join(dir, 'circuit.r1cs'),
    wasm: join(dir, 'circuit_js', 'circuit.wasm'),
    zkey: join(dir, 'circuit_final.zkey'),
    verificationKey: join(dir, 'verification_key.json'),
    transcript: join(dir, 'transcript.json'),
  };
}
