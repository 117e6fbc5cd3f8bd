import { readdirSync } from 'node:fs';
import { posix } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The boundary of the two browser-safe entry points, so it cannot regress: `verity/verify`
 * (src/attest/index.ts) and `verity/sdk` (src/sdk/index.ts). Paths are relative to src/.
 *
 * The verifier's leaf is src/attest/ (formats, canonical JSON, digests, DSSE, statements, Merkle,
 * checkpoints, the zk statement and public signals, the verifier) plus the files level full needs to
 * re-run a workflow's plan: the workflow model and the expression evaluator's interface. Those files are
 * pure and the engine uses them too, so they stay where they are and are declared here by name instead
 * of being moved into src/attest/ (a move would make the engine import from the verifier's folder and
 * churn every importer for no gain in what is checked). A file listed here may import, at run time, only
 * other files of the leaf and the packages below; nothing of the store, engine, coordinator, api, node,
 * keys, blobs, sandbox, cli or the proving side of src/zk/, and no Node built-in. Type-only imports of
 * packages are allowed (they are erased). Dynamic `import()` is not checked: it is how the leaf loads
 * snarkjs and poseidon-lite on first use, so that importing the verifier executes neither.
 */
const VERIFY_LEAF = {
  dirs: ['attest'],
  files: [
    'errors.ts',
    'workflow/types.ts',
    'workflow/graph.ts',
    'workflow/plan.ts',
    'workflow/expression.ts',
    'workflow/context.ts',
    'expressions/evaluator.ts',
    'expressions/fast-path.ts',
    'expressions/plain-json.ts',
    'expressions/evaluate.ts',
    'expressions/inline-evaluator.ts',
    'expressions/browser/web-worker-evaluator.ts',
    'expressions/browser/web-worker-entry.ts',
  ],
};
/** Packages the leaf may import at run time: all pure JavaScript that runs in a browser. */
const LEAF_PACKAGES = ['zod', 'canonicalize', 'jsonata', '@noble/hashes/*'];

/**
 * The SDK: the client, the zod schemas it checks responses with, the record types and status lists those
 * schemas use, and the blob reference helpers. At run time it may import these and the verifier's leaf;
 * types it may take from anywhere (the engine's views, for one).
 */
const SDK_PART = {
  dirs: ['sdk'],
  files: ['api/schemas.ts', 'store/records.ts', 'blobs/blob-ref.ts', 'blobs/errors.ts'],
};

const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every directory under src/<dir>, itself included. */
function directoriesUnder(dir) {
  const entries = readdirSync(posix.join(import.meta.dirname, 'src', dir), { withFileTypes: true });
  return [dir, ...entries.filter((e) => e.isDirectory()).flatMap((e) => directoriesUnder(posix.join(dir, e.name)))];
}

/**
 * A regular expression for the relative import specifiers that, written in a file of src/<fromDir>, land
 * outside the given parts. `no-restricted-imports` sees the specifier as written, so what is allowed is
 * spelled out from each directory: the parts' folders (without climbing out of them again) and their files.
 */
function outsideOf(fromDir, parts) {
  const allowed = [];
  for (const dir of parts.flatMap((p) => p.dirs)) {
    const rel = posix.relative(dir, fromDir);
    if (rel === '' || !rel.startsWith('..')) {
      const depth = rel === '' ? 0 : rel.split('/').length;
      allowed.push(depth === 0 ? '\\./(?!\\.\\./)' : `(?:\\./|(?:\\.\\./){1,${depth}})(?!\\.\\./)`);
    } else {
      const to = posix.relative(fromDir, dir);
      allowed.push(`${escapeRegex(to.startsWith('.') ? to : `./${to}`)}/(?!\\.\\./)`);
    }
  }
  for (const file of parts.flatMap((p) => p.files)) {
    const to = posix.relative(fromDir, file.replace(/\.ts$/, '.js'));
    allowed.push(`${escapeRegex(to.startsWith('.') ? to : `./${to}`)}$`);
  }
  return `^(?!(?:${allowed.join('|')}))\\.{1,2}/`;
}

/** Any bare specifier other than the given packages (a trailing `/*` allows the package's subpaths). */
function packagesOtherThan(packages) {
  const allowed = packages.map((p) => (p.endsWith('/*') ? `${escapeRegex(p.slice(0, -1))}` : `${escapeRegex(p)}$`));
  return `^(?!\\.{1,2}/)(?!(?:${allowed.join('|')}))`;
}

/** One config block per directory (the allowed specifiers depend on where the importing file is). */
function boundaryBlocks(part, allowedParts, { message, allowTypeImports }) {
  const byDir = new Map();
  for (const dir of part.dirs.flatMap(directoriesUnder)) byDir.set(dir, [`src/${dir}/*.ts`]);
  for (const file of part.files) {
    const dir = posix.dirname(file) === '.' ? '' : posix.dirname(file);
    byDir.set(dir, [...(byDir.get(dir) ?? []), posix.join('src', file)]);
  }
  return [...byDir].map(([dir, files]) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: outsideOf(dir, allowedParts), caseSensitive: true, allowTypeImports, message },
            {
              regex: packagesOtherThan(LEAF_PACKAGES),
              caseSensitive: true,
              allowTypeImports: true,
              message: `${message} Packages: only ${LEAF_PACKAGES.join(', ')} at run time (pure JavaScript that runs in a browser; no Node built-in, no database, server or model runtime). Load anything heavier on first use with import(), as the zk level loads snarkjs; types may come from anywhere.`,
            },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  // bench/peers/systems/ imports the peers' packages, installed only when `npm run bench:peers` runs; it is
  // checked with its own tsconfig (`npm run typecheck --prefix bench/peers`) once they are there.
  {
    ignores: ['dist/', 'node_modules/', 'coverage/', '.verity/', '.zk/', '.zk-tmp/', '.tmp/', 'bench/peers/systems/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The CLI and the benchmarks talk to a terminal on purpose.
    files: ['src/cli/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  ...boundaryBlocks(VERIFY_LEAF, [VERIFY_LEAF], {
    allowTypeImports: false,
    message:
      'The verifier (verity/verify) is a leaf that runs in a browser and depends on nothing it verifies: it imports only src/attest/, src/errors.ts and the workflow and expression files declared pure in eslint.config.js.',
  }),
  ...boundaryBlocks(SDK_PART, [SDK_PART, VERIFY_LEAF], {
    allowTypeImports: true,
    message:
      "The SDK (verity/sdk) runs in a browser: at run time it imports only src/sdk/, the schemas and records listed in eslint.config.js and the verifier's leaf; use `import type` for anything else.",
  }),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
