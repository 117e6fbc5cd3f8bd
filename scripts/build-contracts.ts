import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contractArtifacts } from '../src/chain/compile.js';

/**
 * Part of `npm run build`: compiles contracts/ once into dist/contracts/verity-contracts.json, which the
 * built `verity chain` commands read instead of running solc-js (seconds) at every call.
 */
const out = fileURLToPath(new URL('../dist/contracts/verity-contracts.json', import.meta.url));
const artifacts = contractArtifacts();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(artifacts)}\n`);
process.stdout.write(`contracts: ${Object.keys(artifacts.contracts).join(', ')} (solc ${artifacts.solcVersion})\n`);
