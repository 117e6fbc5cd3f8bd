import { VerityError } from './errors.js';

/**
 * Every `VERITY_*` environment variable Verity reads, in one place, each parsed the same way: unset or empty
 * leaves its default; any other value that is not what the variable takes is an EnvError naming the
 * variable, the value and what it expects. Nothing falls back to a default unnoticed: `verity serve` refuses
 * to start (exit 2, the message on stderr), as does every command that opens a node.
 *
 * | variable | takes | default | what it sets |
 * | --- | --- | --- | --- |
 * | `VERITY_DATA_DIR` | a directory | `.verity` | where local state lives: the SQLite database, keys, blobs, zk artifacts (also `--data-dir`) |
 * | `VERITY_DATABASE_URL` | `postgres://…` | none (SQLite in the data directory) | PostgreSQL instead of SQLite (also `--database-url`) |
 * | `VERITY_COORDINATOR_KEY_FILE` | a file | `<data dir>/keys/coordinator.key` | the key that signs receipts; several replicas point at one |
 * | `VERITY_BLOBS` | `file`, `postgres` or `s3://<bucket>/<prefix>` | `file` | which blob store keeps blob bytes: a directory, the PostgreSQL database, or an S3-compatible bucket (also `verity serve --blobs`) |
 * | `VERITY_BLOB_DIR` | a directory | `<data dir>/blobs` | where the `file` blob store keeps blobs |
 * | `VERITY_S3_ENDPOINT` | an `http(s)://` URL | none (AWS) | the S3-compatible server of an `s3://` blob store (also `--s3-endpoint`) |
 * | `VERITY_S3_REGION` | a region | `AWS_REGION`, else `us-east-1` | the region of an `s3://` blob store (also `--s3-region`) |
 * | `VERITY_S3_FORCE_PATH_STYLE` | `true` or `false` | `true` with an endpoint, else `false` | the bucket in the URL's path rather than its host (also `--s3-force-path-style`) |
 * | `VERITY_LOG_ORIGIN` | a name | a random name | the transparency log's origin, fixed the first time a node starts on a store |
 * | `VERITY_SQLITE_SYNC` | `normal` or `full` | `normal` | SQLite's `synchronous` (`full` survives a power cut, at a cost) |
 * | `VERITY_LEASE_MS` | an integer ≥ 1000 | 15000 | a job's lease: how long a worker that stops heartbeating keeps it (also `verity serve --lease-ms`) |
 * | `VERITY_ZK_DIR` | a directory | `<data dir>/zk` | where `verity zk setup` put the circuit artifacts |
 * | `VERITY_ZK_ARTIFACTS` | `sha256:<hex>` | none (the artifacts in `VERITY_ZK_DIR`) | take the zk artifacts from the blob store: the manifest `verity zk publish` printed; they are fetched into `VERITY_ZK_DIR` and checked (also `verity serve --zk-artifacts`) |
 * | `VERITY_ZK_BATCH_SIZE` | a positive integer | 8 | which circuit proves zk executions: its batch size |
 * | `VERITY_ZK_REGISTRY_DEPTH` | a positive integer | 10 | which circuit proves zk executions: its worker registry depth |
 * | `VERITY_PROVERS` | an integer ≥ 0 | min(2, cores) | prover processes on this node; 0 proves nothing here |
 * | `VERITY_EXPRESSION_TIMEOUT_MS` | a positive integer | 1000 | how long one condition, input mapping or output may evaluate |
 * | `VERITY_EXPRESSION_MEMORY_MB` | a positive integer | 256 | the heap of each expression sandbox process |
 * | `VERITY_REQUEST_TIMEOUT_MS` | an integer ≥ 0 | 300000 | how long a client may take to send one request; 0 for none |
 * | `VERITY_MAX_BLOB_BYTES` | a positive integer | 67108864 (64 MiB) | the largest blob an upload may carry |
 * | `VERITY_QUOTA_RUNNING_EXECUTIONS` | a positive integer | 10000 | per principal: executions running at once |
 * | `VERITY_QUOTA_STREAMS` | a positive integer | 100 | per principal: event streams open at once on one server process |
 * | `VERITY_QUOTA_BLOB_BYTES` | an integer ≥ 0 | 10737418240 (10 GiB) | per principal: bytes of blobs uploaded |
 * | `VERITY_QUOTA_VERIFICATIONS` | a positive integer | 1 | per principal: bundles being verified at once through the API on one server process |
 * | `VERITY_MAX_WORKERS_PER_PRINCIPAL` | a positive integer | 64 | per worker principal: distinct keys among its active workers |
 * | `VERITY_MAX_ZK_KEYS_PER_PRINCIPAL` | a positive integer | 32 | per worker principal: keys its workers put in the zk worker registry |
 * | `VERITY_PLATFORM_FEE_BPS` | an integer from 0 to 10000 | 500 (5 %) | the platform's fee on each marketplace price, in basis points, frozen into each run's terms when its hold is placed |
 * | `VERITY_MODELS_CONFIG` | a file | none | the hosted models an in-process worker serves (also `--models-config`) |
 * | `VERITY_SERVER` | a URL | none | the server a CLI command works against (also `--server`) |
 * | `VERITY_API_KEY` | an API key | none | the key for `VERITY_SERVER` (also `--api-key`, `--key`) |
 * | `VERITY_CHAIN_KEY_FILE` | a file | none | the secp256k1 key (0x-hex, mode 0600) that sends `verity chain` transactions (also `--key-file`) |
 *
 * `VERITY_SNARKJS` is no setting: the prover pool hands it to its own child processes. The tests and the
 * benchmarks read a few of their own (`VERITY_TEST_DATABASE_URL`, `VERITY_CHROMIUM`, `VERITY_PYTHON`, `VERITY_BENCH_*`).
 */

export type EnvErrorCode = 'invalid_env';

/** A `VERITY_*` variable set to a value Verity cannot use; `context` has the variable and the value. */
export class EnvError extends VerityError<EnvErrorCode> {}

interface Kind<T> {
  /** What the variable takes, as the error message says it: "must be <expected>". */
  readonly expected: string;
  /** The value, or undefined when the text is not one. */
  parse(text: string): T | undefined;
}

function integer(min: number, what: string): Kind<number> {
  return {
    expected: what,
    parse(text) {
      const trimmed = text.trim();
      const value = Number(trimmed);
      // Number('') and Number(' ') are 0: an all-blank value is no number (unset is handled before).
      return trimmed !== '' && Number.isSafeInteger(value) && value >= min ? value : undefined;
    },
  };
}

function integerUpTo(min: number, max: number, what: string): Kind<number> {
  const base = integer(min, what);
  return {
    expected: what,
    parse(text) {
      const value = base.parse(text);
      return value !== undefined && value <= max ? value : undefined;
    },
  };
}

const positive = integer(1, 'a positive integer');
const nonNegative = integer(0, 'a whole number of at least 0');
const text: Kind<string> = { expected: 'a non-empty string', parse: (value) => value };

function oneOf<T extends string>(...values: T[]): Kind<T> {
  return { expected: `one of ${values.join(', ')}`, parse: (value) => values.find((v) => v === value.trim()) };
}

const blobStoreSetting: Kind<string> = {
  expected: 'file, postgres or s3://<bucket>/<prefix>',
  parse: (value) => {
    const trimmed = value.trim();
    return trimmed === 'file' || trimmed === 'postgres' || /^s3:\/\/[^/\s]+(\/\S*)?$/.test(trimmed)
      ? trimmed
      : undefined;
  },
};

const sha256Digest: Kind<string> = {
  expected: 'sha256:<64 hex digits> (the manifest digest `verity zk publish` printed)',
  parse: (value) => (/^sha256:[0-9a-f]{64}$/.test(value.trim()) ? value.trim() : undefined),
};

const httpUrl: Kind<string> = {
  expected: 'an http:// or https:// URL',
  parse: (value) => (/^https?:\/\/\S+$/.test(value.trim()) ? value.trim() : undefined),
};

/** The variables and what each takes; the table above says what they set. */
export const VERITY_ENV = {
  VERITY_DATA_DIR: text,
  VERITY_DATABASE_URL: text,
  VERITY_COORDINATOR_KEY_FILE: text,
  VERITY_BLOBS: blobStoreSetting,
  VERITY_BLOB_DIR: text,
  VERITY_S3_ENDPOINT: httpUrl,
  VERITY_S3_REGION: text,
  VERITY_S3_FORCE_PATH_STYLE: oneOf('true', 'false'),
  VERITY_LOG_ORIGIN: text,
  VERITY_SQLITE_SYNC: oneOf('normal', 'full'),
  VERITY_LEASE_MS: integer(
    1000,
    'a whole number of milliseconds of at least 1000 (a worker heartbeats every third of it)',
  ),
  VERITY_ZK_DIR: text,
  VERITY_ZK_ARTIFACTS: sha256Digest,
  VERITY_ZK_BATCH_SIZE: positive,
  VERITY_ZK_REGISTRY_DEPTH: positive,
  VERITY_PROVERS: nonNegative,
  VERITY_EXPRESSION_TIMEOUT_MS: positive,
  VERITY_EXPRESSION_MEMORY_MB: positive,
  VERITY_REQUEST_TIMEOUT_MS: nonNegative,
  VERITY_MAX_BLOB_BYTES: positive,
  VERITY_QUOTA_RUNNING_EXECUTIONS: positive,
  VERITY_QUOTA_STREAMS: positive,
  VERITY_QUOTA_BLOB_BYTES: nonNegative,
  VERITY_QUOTA_VERIFICATIONS: positive,
  VERITY_MAX_WORKERS_PER_PRINCIPAL: positive,
  VERITY_MAX_ZK_KEYS_PER_PRINCIPAL: positive,
  VERITY_PLATFORM_FEE_BPS: integerUpTo(0, 10_000, 'a whole number of basis points from 0 to 10000'),
  VERITY_MODELS_CONFIG: text,
  VERITY_SERVER: text,
  VERITY_API_KEY: text,
  VERITY_CHAIN_KEY_FILE: text,
} as const satisfies Record<`VERITY_${string}`, Kind<unknown>>;

export type EnvName = keyof typeof VERITY_ENV;

/** The variables that are set, parsed; an unset (or empty) one is absent, and its default applies. */
export type VerityEnv = { [N in EnvName]?: (typeof VERITY_ENV)[N] extends Kind<infer T> ? T : never };

/** Reads and checks every `VERITY_*` variable; throws EnvError on the first value that is not what its variable takes. */
export function readEnv(env: Readonly<Record<string, string | undefined>> = process.env): VerityEnv {
  const parsed: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(VERITY_ENV) as [EnvName, Kind<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = kind.parse(raw);
    if (value === undefined) {
      throw new EnvError(
        'invalid_env',
        `${name} must be ${kind.expected}, got '${raw}'; fix it, or unset it to use the default`,
        {
          context: { variable: name, value: raw },
        },
      );
    }
    parsed[name] = value;
  }
  return parsed;
}
