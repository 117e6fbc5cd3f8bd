import type { Migration } from './migrate.js';

/** The column types that differ between the adapters; everything else in the DDL is shared. */
export interface DdlTypes {
  /** 64-bit integer: milliseconds, micro-units. */
  int: string;
  /** An auto-incrementing 64-bit primary key. */
  serialKey: string;
  /**
   * The default of events.tx_order, which migration 3 added and 4 drops: events are read in seq order,
   * which the adapters keep equal to commit order within an execution (SqlDialect.serializeEvents).
   */
  txOrderDefault: string;
  /**
   * Statements that make committed job inserts announce themselves to other processes (PostgreSQL: a
   * trigger that NOTIFYs; SQLite: none, other processes on the file find work by polling).
   */
  jobsQueuedNotice: readonly string[];
  /** The tables of the blob store that keeps bytes in the database (PostgreSQL: blobs/postgres; SQLite: none). */
  blobContents: readonly string[];
}

/**
 * The versioned schema. Append a migration for every change; never edit one that has shipped. Payloads
 * are TEXT on both databases so they come back exactly as written.
 */
export function schemaMigrations(types: DdlTypes): Migration[] {
  const I = types.int;
  return [
    {
      version: 1,
      name: 'core tables',
      statements: [
        `CREATE TABLE workflows (
          digest TEXT PRIMARY KEY,
          workflow_id TEXT NOT NULL,
          version ${I} NOT NULL,
          name TEXT NOT NULL,
          definition TEXT NOT NULL,
          created_at ${I} NOT NULL
        )`,
        'CREATE INDEX workflows_by_id ON workflows (workflow_id, version)',
        `CREATE TABLE executions (
          id TEXT PRIMARY KEY,
          workflow_digest TEXT NOT NULL REFERENCES workflows (digest),
          workflow_id TEXT NOT NULL,
          workflow_version ${I} NOT NULL,
          client_id TEXT NOT NULL,
          status TEXT NOT NULL,
          inputs TEXT NOT NULL,
          input_digest TEXT NOT NULL,
          result TEXT,
          result_digest TEXT,
          error TEXT,
          budget ${I} NOT NULL,
          spent ${I} NOT NULL,
          reserved ${I} NOT NULL,
          idempotency_key TEXT,
          created_at ${I} NOT NULL,
          started_at ${I} NOT NULL,
          deadline_at ${I} NOT NULL,
          finished_at ${I},
          updated_at ${I} NOT NULL
        )`,
        "CREATE INDEX executions_running_deadline ON executions (deadline_at) WHERE status = 'running'",
        'CREATE INDEX executions_by_client ON executions (client_id, id)',
        'CREATE INDEX executions_by_workflow ON executions (workflow_id, id)',
        'CREATE UNIQUE INDEX executions_idempotency ON executions (client_id, idempotency_key) WHERE idempotency_key IS NOT NULL',
        `CREATE TABLE steps (
          execution_id TEXT NOT NULL REFERENCES executions (id),
          step_id TEXT NOT NULL,
          position ${I} NOT NULL,
          status TEXT NOT NULL,
          attempts ${I} NOT NULL,
          round_start ${I} NOT NULL,
          current_job_id TEXT,
          input_digest TEXT,
          error TEXT,
          skip_reason TEXT,
          cost ${I} NOT NULL,
          queued_at ${I},
          started_at ${I},
          finished_at ${I},
          PRIMARY KEY (execution_id, step_id)
        )`,
        `CREATE TABLE step_results (
          execution_id TEXT NOT NULL REFERENCES executions (id),
          step_id TEXT NOT NULL,
          job_id TEXT NOT NULL,
          attempt ${I} NOT NULL,
          worker_id TEXT NOT NULL,
          output TEXT NOT NULL,
          output_digest TEXT NOT NULL,
          cost ${I} NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (execution_id, step_id)
        )`,
        `CREATE TABLE jobs (
          id TEXT PRIMARY KEY,
          execution_id TEXT NOT NULL REFERENCES executions (id),
          step_id TEXT NOT NULL,
          attempt ${I} NOT NULL,
          status TEXT NOT NULL,
          step_type TEXT NOT NULL,
          model TEXT,
          spec TEXT NOT NULL,
          input TEXT NOT NULL,
          input_digest TEXT NOT NULL,
          reserved ${I} NOT NULL,
          cost ${I},
          nonce TEXT,
          worker_id TEXT,
          error TEXT,
          timeout_ms ${I} NOT NULL,
          available_at ${I} NOT NULL,
          created_at ${I} NOT NULL,
          assigned_at ${I},
          started_at ${I},
          finished_at ${I},
          lease_expires_at ${I},
          deadline_at ${I},
          UNIQUE (execution_id, step_id, attempt)
        )`,
        "CREATE INDEX jobs_claimable ON jobs (available_at, id) WHERE status = 'queued'",
        "CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE status IN ('assigned', 'running')",
        "CREATE INDEX jobs_leased_deadline ON jobs (deadline_at) WHERE status IN ('assigned', 'running')",
        'CREATE INDEX jobs_by_execution ON jobs (execution_id, status)',
        'CREATE INDEX jobs_by_worker ON jobs (worker_id, status)',
        `CREATE TABLE workers (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          kind TEXT NOT NULL,
          host TEXT NOT NULL,
          pid ${I} NOT NULL,
          capabilities TEXT NOT NULL,
          concurrency ${I} NOT NULL,
          status TEXT NOT NULL,
          started_at ${I} NOT NULL,
          last_seen_at ${I} NOT NULL
        )`,
        `CREATE TABLE events (
          seq ${types.serialKey},
          execution_id TEXT,
          at ${I} NOT NULL,
          type TEXT NOT NULL,
          step_id TEXT,
          job_id TEXT,
          attempt ${I},
          actor TEXT NOT NULL,
          data TEXT
        )`,
        'CREATE INDEX events_by_execution ON events (execution_id, seq)',
      ],
    },
    {
      version: 2,
      name: 'attestations, receipts and the transparency log',
      statements: [
        `CREATE TABLE keys (
          key_id TEXT PRIMARY KEY,
          role TEXT NOT NULL,
          public_key_pem TEXT NOT NULL,
          created_at ${I} NOT NULL
        )`,
        'ALTER TABLE workers ADD COLUMN key_id TEXT',
        'ALTER TABLE step_results ADD COLUMN attestation TEXT',
        'ALTER TABLE step_results ADD COLUMN attestation_digest TEXT',
        'ALTER TABLE step_results ADD COLUMN worker_key_id TEXT',
        // The receipts are the log's leaves: leaf i is the payload digest of the receipt with log_index i.
        `CREATE TABLE receipts (
          execution_id TEXT NOT NULL REFERENCES executions (id),
          revision ${I} NOT NULL,
          status TEXT NOT NULL,
          envelope TEXT NOT NULL,
          payload_digest TEXT NOT NULL,
          log_index ${I} NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (execution_id, revision)
        )`,
        'CREATE UNIQUE INDEX receipts_by_log_index ON receipts (log_index)',
        // origin: the log's name in its checkpoints, fixed the first time a node starts on this store.
        `CREATE TABLE tlog_head (id ${I} PRIMARY KEY, size ${I} NOT NULL, origin TEXT)`,
        'INSERT INTO tlog_head (id, size) VALUES (1, 0)',
        `CREATE TABLE tlog_nodes (
          level ${I} NOT NULL,
          node_index ${I} NOT NULL,
          hash TEXT NOT NULL,
          PRIMARY KEY (level, node_index)
        )`,
      ],
    },
    {
      version: 3,
      name: 'the server: API keys, published workflow versions, worker owners, commit-ordered events',
      statements: [
        `CREATE TABLE api_keys (
          id TEXT PRIMARY KEY,
          principal TEXT NOT NULL,
          role TEXT NOT NULL,
          secret_hash TEXT NOT NULL,
          created_at ${I} NOT NULL,
          revoked_at ${I},
          last_used_at ${I}
        )`,
        'CREATE INDEX api_keys_by_principal ON api_keys (principal)',
        // The versions a server publishes: (id, version) names one digest, forever.
        `CREATE TABLE workflow_versions (
          workflow_id TEXT NOT NULL,
          version ${I} NOT NULL,
          digest TEXT NOT NULL REFERENCES workflows (digest),
          owner TEXT NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (workflow_id, version)
        )`,
        'ALTER TABLE workers ADD COLUMN principal TEXT',
        // A client may ask for a stricter verification level than the workflow's own.
        'ALTER TABLE executions ADD COLUMN verification_level TEXT',
        `ALTER TABLE events ADD COLUMN tx_order ${I} NOT NULL DEFAULT ${types.txOrderDefault}`,
        'CREATE INDEX events_by_execution_order ON events (execution_id, tx_order, seq)',
      ],
    },
    {
      version: 4,
      name: 'events in seq order',
      // Ordering events by the writing transaction's id made every reader wait for the oldest transaction
      // running anywhere in the database, and put concurrent writers out of seq order; seq is the order now.
      statements: ['DROP INDEX events_by_execution_order', 'ALTER TABLE events DROP COLUMN tx_order'],
    },
    {
      version: 5,
      name: 'blobs (what is known of each stored blob, and who may read it); jobs pinned to a model digest',
      statements: [
        // The bytes live in the blob store (files named by digest); the database knows their size and type.
        `CREATE TABLE blobs (
          digest TEXT PRIMARY KEY,
          size ${I} NOT NULL,
          media_type TEXT NOT NULL,
          created_at ${I} NOT NULL
        )`,
        // A principal may read a blob it uploaded or one its executions produced; nothing else.
        `CREATE TABLE blob_grants (
          digest TEXT NOT NULL REFERENCES blobs (digest),
          principal TEXT NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (digest, principal)
        )`,
        // A step may pin its model's digest: only a worker serving exactly those weights may claim its jobs.
        'ALTER TABLE jobs ADD COLUMN model_digest TEXT',
      ],
    },
    {
      version: 6,
      name: 'redundant steps (replica jobs and their results); step outputs kept as blobs',
      statements: [
        // Redundant steps: k jobs per attempt (replica 0..k-1) on k distinct workers, each result kept in
        // replica_results until q of them agree. One job per attempt becomes one per attempt and replica;
        // SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt (nothing references it).
        `CREATE TABLE jobs_v6 (
          id TEXT PRIMARY KEY,
          execution_id TEXT NOT NULL REFERENCES executions (id),
          step_id TEXT NOT NULL,
          attempt ${I} NOT NULL,
          replica ${I},
          status TEXT NOT NULL,
          step_type TEXT NOT NULL,
          model TEXT,
          model_digest TEXT,
          spec TEXT NOT NULL,
          input TEXT NOT NULL,
          input_digest TEXT NOT NULL,
          reserved ${I} NOT NULL,
          cost ${I},
          nonce TEXT,
          worker_id TEXT,
          error TEXT,
          timeout_ms ${I} NOT NULL,
          available_at ${I} NOT NULL,
          created_at ${I} NOT NULL,
          assigned_at ${I},
          started_at ${I},
          finished_at ${I},
          lease_expires_at ${I},
          deadline_at ${I}
        )`,
        'INSERT INTO jobs_v6 (id, execution_id, step_id, attempt, status, step_type, model, model_digest, spec, input, input_digest, reserved, cost, nonce, worker_id, error, timeout_ms, available_at, created_at, assigned_at, started_at, finished_at, lease_expires_at, deadline_at) SELECT id, execution_id, step_id, attempt, status, step_type, model, model_digest, spec, input, input_digest, reserved, cost, nonce, worker_id, error, timeout_ms, available_at, created_at, assigned_at, started_at, finished_at, lease_expires_at, deadline_at FROM jobs',
        'DROP TABLE jobs',
        'ALTER TABLE jobs_v6 RENAME TO jobs',
        'CREATE UNIQUE INDEX jobs_one_per_replica ON jobs (execution_id, step_id, attempt, COALESCE(replica, 0))',
        "CREATE INDEX jobs_claimable ON jobs (available_at, id) WHERE status = 'queued'",
        "CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE status IN ('assigned', 'running')",
        "CREATE INDEX jobs_leased_deadline ON jobs (deadline_at) WHERE status IN ('assigned', 'running')",
        'CREATE INDEX jobs_by_execution ON jobs (execution_id, status)',
        'CREATE INDEX jobs_by_worker ON jobs (worker_id, status)',
        `CREATE TABLE replica_results (
          execution_id TEXT NOT NULL REFERENCES executions (id),
          step_id TEXT NOT NULL,
          attempt ${I} NOT NULL,
          replica ${I} NOT NULL,
          job_id TEXT NOT NULL,
          worker_id TEXT NOT NULL,
          worker_key_id TEXT,
          output TEXT NOT NULL,
          output_digest TEXT NOT NULL,
          attestation TEXT,
          attestation_digest TEXT,
          cost ${I} NOT NULL,
          created_at ${I} NOT NULL,
          output_storage TEXT,
          PRIMARY KEY (execution_id, step_id, attempt, replica)
        )`,
        // Outputs too large for a row are kept as blobs of their canonical JSON; the row holds the reference.
        'ALTER TABLE step_results ADD COLUMN output_storage TEXT',
      ],
    },
    {
      version: 7,
      name: 'zero-knowledge: worker registry and proofs',
      statements: [
        'ALTER TABLE workers ADD COLUMN zk_public_key TEXT',
        // Append-only: a receipt's registry root names the first registry_size leaves, so leaves never move.
        `CREATE TABLE zk_registry (
          leaf_index ${I} PRIMARY KEY,
          key_x TEXT NOT NULL,
          key_y TEXT NOT NULL,
          worker_id TEXT NOT NULL,
          registered_at ${I} NOT NULL
        )`,
        'CREATE UNIQUE INDEX zk_registry_by_key ON zk_registry (key_x, key_y)',
        // The next leaf index, taken with a row lock like tlog_head, so concurrent registrations never share one.
        `CREATE TABLE zk_registry_head (id ${I} PRIMARY KEY, size ${I} NOT NULL)`,
        'INSERT INTO zk_registry_head (id, size) VALUES (1, 0)',
        `CREATE TABLE zk_proofs (
          execution_id TEXT NOT NULL REFERENCES executions (id),
          revision ${I} NOT NULL,
          circuit_id TEXT NOT NULL,
          salt TEXT NOT NULL,
          commitment TEXT NOT NULL,
          registry_root TEXT NOT NULL,
          registry_size ${I} NOT NULL,
          statement TEXT NOT NULL,
          status TEXT NOT NULL,
          batches_total ${I} NOT NULL,
          batches_done ${I} NOT NULL,
          proofs TEXT NOT NULL,
          error TEXT,
          lease_owner TEXT,
          lease_expires_at ${I},
          created_at ${I} NOT NULL,
          updated_at ${I} NOT NULL,
          PRIMARY KEY (execution_id, revision)
        )`,
        'CREATE INDEX zk_proofs_to_prove ON zk_proofs (status, lease_expires_at)',
      ],
    },
    {
      version: 8,
      name: 'incremental scheduling: step counters, pending dependencies, inputs of steps decided to run',
      statements: [
        // What scheduling needs of a whole execution, kept by the engine, so a transition never scans its steps.
        `ALTER TABLE executions ADD COLUMN steps_total ${I} NOT NULL DEFAULT 0`,
        `ALTER TABLE executions ADD COLUMN steps_done ${I} NOT NULL DEFAULT 0`,
        `ALTER TABLE executions ADD COLUMN steps_active ${I} NOT NULL DEFAULT 0`,
        `ALTER TABLE executions ADD COLUMN steps_ready ${I} NOT NULL DEFAULT 0`,
        'UPDATE executions SET steps_total = (SELECT COUNT(*) FROM steps s WHERE s.execution_id = executions.id)',
        "UPDATE executions SET steps_done = (SELECT COUNT(*) FROM steps s WHERE s.execution_id = executions.id AND s.status IN ('completed', 'skipped'))",
        "UPDATE executions SET steps_active = (SELECT COUNT(*) FROM steps s WHERE s.execution_id = executions.id AND s.status IN ('queued', 'running'))",
        // Dependencies not yet done. Existing rows start at 0; recovery recounts those of running executions
        // from their definitions before anything else runs (Engine.recover).
        `ALTER TABLE steps ADD COLUMN pending_deps ${I} NOT NULL DEFAULT 0`,
        "CREATE INDEX steps_decidable ON steps (execution_id, position) WHERE status = 'pending' AND pending_deps = 0",
        "CREATE INDEX steps_ready ON steps (execution_id, position) WHERE status = 'ready'",
        // The input of a step decided to run while it waits for a slot: its expressions ran once, at the decision.
        `CREATE TABLE ready_inputs (
          execution_id TEXT NOT NULL REFERENCES executions (id),
          step_id TEXT NOT NULL,
          input TEXT NOT NULL,
          PRIMARY KEY (execution_id, step_id)
        )`,
      ],
    },
    {
      version: 9,
      name: 'principals: who each job was assigned to, and who each replica result speaks for',
      statements: [
        // A redundancy quorum counts principals, not worker keys (keys are free to make): the coordinator
        // records the assigned worker's principal on the job, and the replica result carries it.
        'ALTER TABLE jobs ADD COLUMN principal TEXT',
        'ALTER TABLE replica_results ADD COLUMN principal TEXT',
        // Jobs in flight and results already in get their worker's principal, or the worker itself when it
        // has none (an in-process worker from before), so no vote is left without a voter.
        "UPDATE jobs SET principal = COALESCE((SELECT w.principal FROM workers w WHERE w.id = jobs.worker_id), 'worker:' || worker_id) WHERE worker_id IS NOT NULL AND status IN ('assigned', 'running')",
        "UPDATE replica_results SET principal = COALESCE((SELECT w.principal FROM workers w WHERE w.id = replica_results.worker_id), 'worker:' || worker_id)",
        // Registration caps count a principal's workers; the zk cap joins the registry to them.
        'CREATE INDEX workers_by_principal ON workers (principal, status)',
      ],
    },
    {
      version: 10,
      name: 'per-principal quotas: the blobs each principal uploaded, its running executions',
      statements: [
        // What each principal uploaded, each digest once: its stored-bytes quota is the sum of these sizes.
        // Uploads from before this migration are not known apart from blobs executions produced, so they
        // are not counted. No reference to blobs: a worker's upload is counted before any row names it.
        `CREATE TABLE blob_uploads (
          principal TEXT NOT NULL,
          digest TEXT NOT NULL,
          size ${I} NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (principal, digest)
        )`,
        // Counting one client's running executions at each start reads this index, never its finished ones.
        "CREATE INDEX executions_running_by_client ON executions (client_id) WHERE status = 'running'",
      ],
    },
    {
      version: 11,
      name: 'the ledger: accounts with cached balances, transactions under idempotency keys, their postings',
      statements: [
        // The balances are derived from the postings; this row caches them, updated in the transaction that
        // posts, and is the row a posting locks (checkLedger recomputes it from the postings).
        `CREATE TABLE ledger_accounts (
          account TEXT PRIMARY KEY,
          available ${I} NOT NULL,
          held ${I} NOT NULL,
          created_at ${I} NOT NULL,
          updated_at ${I} NOT NULL
        )`,
        `CREATE TABLE ledger_transactions (
          id TEXT PRIMARY KEY,
          idempotency_key TEXT NOT NULL,
          kind TEXT NOT NULL,
          execution_id TEXT,
          revision ${I},
          listing_id TEXT,
          created_at ${I} NOT NULL
        )`,
        // One transaction per key, across every process: the same key posted twice is a replay, never a charge.
        'CREATE UNIQUE INDEX ledger_transactions_by_key ON ledger_transactions (idempotency_key)',
        'CREATE INDEX ledger_transactions_by_execution ON ledger_transactions (execution_id) WHERE execution_id IS NOT NULL',
        `CREATE TABLE ledger_postings (
          transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
          position ${I} NOT NULL,
          account TEXT NOT NULL REFERENCES ledger_accounts (account),
          bucket TEXT NOT NULL,
          amount ${I} NOT NULL,
          reason TEXT NOT NULL,
          PRIMARY KEY (transaction_id, position)
        )`,
        // An account's history, newest first: its postings by transaction id (ids are time-ordered uuids).
        'CREATE INDEX ledger_postings_by_account ON ledger_postings (account, transaction_id)',
      ],
    },
    {
      version: 12,
      name: 'the marketplace: listings (their tags and authorized users), runs through them, ratings',
      statements: [
        // Booleans are 0/1 integers on both databases. search_text (title, description and tags, lowercased
        // when written) is what a text search matches, and list_price what the price sort orders by: both
        // follow from the listing's own fields and are rewritten with them. Rating and execution counts are
        // never stored: they are derived from market_runs and market_ratings on every read.
        `CREATE TABLE market_listings (
          id TEXT PRIMARY KEY,
          owner TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          workflow_version ${I} NOT NULL,
          workflow_digest TEXT NOT NULL,
          title TEXT NOT NULL,
          description TEXT NOT NULL,
          tags TEXT NOT NULL,
          model TEXT NOT NULL,
          execution_price ${I} NOT NULL,
          subscription_price ${I} NOT NULL,
          markup_bps ${I} NOT NULL,
          max_price ${I},
          included_executions ${I} NOT NULL,
          over_quota TEXT NOT NULL,
          verification_level TEXT NOT NULL,
          is_public INTEGER NOT NULL,
          authorized_users TEXT NOT NULL,
          show_definition INTEGER NOT NULL,
          status TEXT NOT NULL,
          search_text TEXT NOT NULL,
          list_price ${I} NOT NULL,
          created_at ${I} NOT NULL,
          updated_at ${I} NOT NULL
        )`,
        'CREATE INDEX market_listings_by_owner ON market_listings (owner, id)',
        "CREATE INDEX market_listings_newest ON market_listings (created_at, id) WHERE status <> 'retired'",
        "CREATE INDEX market_listings_by_price ON market_listings (list_price, id) WHERE status <> 'retired'",
        // One row per (listing, tag) and per (listing, authorized principal): the exact tag filter and the
        // visibility filter of a search are indexed lookups, not scans of JSON text.
        `CREATE TABLE market_listing_tags (
          listing_id TEXT NOT NULL REFERENCES market_listings (id),
          tag TEXT NOT NULL,
          PRIMARY KEY (listing_id, tag)
        )`,
        'CREATE INDEX market_listing_tags_by_tag ON market_listing_tags (tag, listing_id)',
        `CREATE TABLE market_listing_users (
          listing_id TEXT NOT NULL REFERENCES market_listings (id),
          principal TEXT NOT NULL,
          PRIMARY KEY (listing_id, principal)
        )`,
        'CREATE INDEX market_listing_users_by_principal ON market_listing_users (principal, listing_id)',
        // Filled when an execution starts through a listing (the terms frozen with its hold) and when it settles.
        `CREATE TABLE market_runs (
          execution_id TEXT PRIMARY KEY,
          listing_id TEXT NOT NULL,
          buyer TEXT NOT NULL,
          publisher TEXT NOT NULL,
          terms TEXT NOT NULL,
          buyer_max_price ${I},
          included_run INTEGER NOT NULL,
          subscription_id TEXT,
          hold ${I} NOT NULL,
          outcome TEXT,
          duration_ms ${I},
          settled_revision ${I},
          created_at ${I} NOT NULL,
          settled_at ${I}
        )`,
        'CREATE INDEX market_runs_by_listing ON market_runs (listing_id)',
        // The derived stats read settled runs of a listing by outcome, and the median walks the durations in order.
        'CREATE INDEX market_runs_settled ON market_runs (listing_id, outcome, duration_ms) WHERE outcome IS NOT NULL',
        // stars is a 4-byte INTEGER on purpose: PostgreSQL sums those as BIGINT, so the rating sort's integer
        // arithmetic (SUM(stars) * 1000 / COUNT(*)) truncates the same way on both databases.
        `CREATE TABLE market_ratings (
          listing_id TEXT NOT NULL,
          buyer TEXT NOT NULL,
          execution_id TEXT NOT NULL,
          stars INTEGER NOT NULL,
          review TEXT,
          created_at ${I} NOT NULL,
          PRIMARY KEY (listing_id, buyer)
        )`,
      ],
    },
    {
      version: 13,
      name: 'settlement statements: what the coordinator signed each time money moved for a run, and where in the log',
      statements: [
        `CREATE TABLE market_settlements (
          execution_id TEXT NOT NULL,
          revision ${I} NOT NULL,
          envelope TEXT NOT NULL,
          payload_digest TEXT NOT NULL,
          log_index ${I} NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (execution_id, revision)
        )`,
      ],
    },
    {
      version: 14,
      name: 'subscriptions: a period of included runs bought at once, and which runs hold one of them',
      statements: [
        // "One active subscription per (listing, buyer)" depends on the clock, so no index can say it: the
        // subscribe transaction locks the listing row and checks, which serializes subscribes to a listing.
        `CREATE TABLE market_subscriptions (
          id TEXT PRIMARY KEY,
          listing_id TEXT NOT NULL,
          buyer TEXT NOT NULL,
          publisher TEXT NOT NULL,
          price ${I} NOT NULL,
          terms TEXT NOT NULL,
          period_start ${I} NOT NULL,
          period_end ${I} NOT NULL,
          included_executions ${I} NOT NULL,
          used_executions ${I} NOT NULL,
          cancelled_at ${I},
          created_at ${I} NOT NULL
        )`,
        // A buyer's subscription to a listing, newest period first: what a run and a subscribe look up.
        'CREATE INDEX market_subscriptions_by_buyer ON market_subscriptions (buyer, listing_id, period_end)',
        // 1 while an included run holds one of its subscription's executions (settling a run that did not
        // complete gives it back, and a retry takes it again), so the quota is exact across revisions.
        'ALTER TABLE market_runs ADD COLUMN quota_held INTEGER',
      ],
    },
    {
      version: 15,
      name: 'what the dashboard reads: executions newest first and by change, recent ends and step completions',
      statements: [
        // Keyset pages of executions newest first, all of them (admins), one client's, one workflow's.
        'CREATE INDEX executions_newest ON executions (created_at, id)',
        'CREATE INDEX executions_newest_by_client ON executions (client_id, created_at, id)',
        'CREATE INDEX executions_newest_by_workflow ON executions (workflow_id, created_at, id)',
        // A live list reads the rows changed since its cursor.
        'CREATE INDEX executions_changes ON executions (updated_at, id)',
        'CREATE INDEX executions_changes_by_client ON executions (client_id, updated_at, id)',
        // The metrics summary counts what ended in the last hour without scanning older rows.
        'CREATE INDEX executions_finished ON executions (finished_at) WHERE finished_at IS NOT NULL',
        'CREATE INDEX steps_finished ON steps (finished_at) WHERE finished_at IS NOT NULL',
      ],
    },
    {
      version: 16,
      name: 'committed job inserts wake idle workers in other processes',
      statements: [...types.jobsQueuedNotice],
    },
    {
      version: 17,
      name: 'blob bytes in the database, for replicas that share no disk (VERITY_BLOBS=postgres)',
      statements: [...types.blobContents],
    },
    {
      version: 18,
      name: 'zk leaf signatures arrive after the result they sign, and are checked off the step path',
      statements: [
        `CREATE TABLE zk_leaves (
          job_id TEXT PRIMARY KEY,
          execution_id TEXT NOT NULL,
          step_id TEXT NOT NULL,
          worker_id TEXT NOT NULL,
          key_x TEXT NOT NULL,
          key_y TEXT NOT NULL,
          r8x TEXT NOT NULL,
          r8y TEXT NOT NULL,
          s TEXT NOT NULL,
          status TEXT NOT NULL,
          problem TEXT,
          created_at ${I} NOT NULL,
          checked_at ${I}
        )`,
        // The prover reads an execution's leaves at once.
        'CREATE INDEX zk_leaves_by_execution ON zk_leaves (execution_id)',
      ],
    },
    {
      version: 19,
      name: 'chain bindings: the attestor of each deployment, and the address each ledger account is paid at',
      statements: [
        // The primary key is what makes the statement once per deployment across replicas: the loser of a
        // race inserts nothing and reads the winner's row.
        `CREATE TABLE chain_attestor_bindings (
          chain_id ${I} NOT NULL,
          attestor TEXT NOT NULL,
          token TEXT NOT NULL,
          settlement TEXT NOT NULL,
          envelope TEXT NOT NULL,
          payload_digest TEXT NOT NULL,
          log_index ${I} NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (chain_id, attestor, token, settlement)
        )`,
        // One current address per account and chain; earlier ones are in the log.
        `CREATE TABLE chain_address_bindings (
          chain_id ${I} NOT NULL,
          account TEXT NOT NULL,
          address TEXT NOT NULL,
          settlement TEXT NOT NULL,
          signature TEXT NOT NULL,
          envelope TEXT NOT NULL,
          payload_digest TEXT NOT NULL,
          log_index ${I} NOT NULL,
          created_at ${I} NOT NULL,
          PRIMARY KEY (chain_id, account)
        )`,
      ],
    },
  ];
}
