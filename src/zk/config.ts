import { join } from 'node:path';
import type { ZkConfig } from './circuit.js';
import { circuitId } from './circuit.js';

// The circuit's identity and parameters are pure (the verifier needs them, in a browser too); file paths are not.
export * from './circuit.js';

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
