import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The lint rule that keeps the verifier a leaf (and the SDK browser-safe) must bite: eslint.config.js,
 * run through ESLint's own API on snippets placed at real paths. Only that rule runs, without type
 * information, so this stays a unit test.
 */
const eslint = new ESLint({
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the verifier leaf boundary (no-restricted-imports)', () => {
  it('refuses the store, the engine and the proving side of src/zk/ in src/attest/', async () => {
    const [message] = await problems(
      'src/attest/verify/verify-bundle.ts',
      "import { openStore } from '../../store/store.js';\n",
    );
    expect(message).toMatch(/^no-restricted-imports: '\.\.\/\.\.\/store\/store\.js' import is restricted/);
    expect(message).toMatch(/depends on nothing it verifies/);
    expect(await problems('src/attest/digest.ts', "import { Engine } from '../engine/engine.js';\n")).toHaveLength(1);
    expect(
      await problems('src/attest/zk/chain.ts', "import { loadPoseidon } from '../../zk/poseidon.js';\n"),
    ).toHaveLength(1);
    // Type-only imports from executing parts are refused too: the leaf does not know them.
    expect(await problems('src/attest/digest.ts', "import type { Store } from '../store/store.js';\n")).toHaveLength(1);
    expect(
      await problems('src/attest/digest.ts', "export { openStore } from '../store/open-store.js';\n"),
    ).toHaveLength(1);
  });

  it('refuses Node built-ins and heavy packages at run time, and allows their types', async () => {
    for (const specifier of ['node:crypto', 'fs', 'better-sqlite3', 'pg', 'fastify', 'onnxruntime-node', 'snarkjs']) {
      expect(
        await problems('src/attest/digest.ts', `import x from '${specifier}';\nexport { x };\n`),
        specifier,
      ).toHaveLength(1);
    }
    expect(
      await problems(
        'src/attest/ed25519.ts',
        "import type { webcrypto } from 'node:crypto';\nexport type K = webcrypto.CryptoKey;\n",
      ),
    ).toEqual([]);
  });

  it('allows the leaf, the declared pure workflow and expression files, and the browser-safe packages', async () => {
    const code = [
      "import { z } from 'zod';",
      "import { sha256 } from '@noble/hashes/sha2.js';",
      "import { describeError } from '../../errors.js';",
      "import { WorkflowPlan } from '../../workflow/plan.js';",
      "import { toPlainJson } from '../../expressions/plain-json.js';",
      "import { stepIdsNext } from '../zk/chain.js';",
      "import { Checks } from './report.js';",
      'export { z, sha256, describeError, WorkflowPlan, toPlainJson, stepIdsNext, Checks };',
    ].join('\n');
    expect(await problems('src/attest/verify/full.ts', code)).toEqual([]);
  });

  it('keeps the declared pure workflow files pure', async () => {
    expect(await problems('src/workflow/plan.ts', "import { validateWorkflow } from './validate.js';\n")).toHaveLength(
      1,
    );
    expect(await problems('src/workflow/context.ts', "import { readFile } from 'node:fs/promises';\n")).toHaveLength(1);
  });

  it('lets the SDK name any type but import only browser-safe code', async () => {
    expect(await problems('src/sdk/client.ts', "import { Engine } from '../engine/engine.js';\n")).toHaveLength(1);
    expect(
      await problems(
        'src/sdk/client.ts',
        "import type { Engine } from '../engine/engine.js';\nexport type { Engine };\n",
      ),
    ).toEqual([]);
    expect(await problems('src/api/schemas.ts', "import { buildServer } from './server.js';\n")).toHaveLength(1);
  });
});
