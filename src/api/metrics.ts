import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { VerityNode } from '../node/verity-node.js';

/**
 * Prometheus metrics at /metrics. Counts by status are read from the store at scrape time, so they are
 * true for the whole store (every replica), not just this process; latencies and expiries are observed
 * here as they happen.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly started: Counter;

  /** `log`: where a refused report from a worker that does not hold the job leaves its one line. */
  constructor(node: VerityNode, log?: { warn(details: object, message: string): void }) {
    collectDefaultMetrics({ register: this.registry });
    const store = node.store;
    new Gauge({
      name: 'verity_executions',
      help: 'Executions in the store, by status',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await store.read.countByStatus('executions'))) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'verity_steps',
      help: 'Steps of executions in the store, by status',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await store.read.countByStatus('steps'))) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'verity_queue_depth',
      help: 'Jobs queued and not yet claimed',
      registers: [this.registry],
      async collect() {
        this.set((await store.read.countByStatus('jobs')).queued ?? 0);
      },
    });
    const latency = new Histogram({
      name: 'verity_step_duration_seconds',
      help: 'Time from a job starting to its accepted result',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers: [this.registry],
    });
    const expired = new Counter({
      name: 'verity_lease_expiries_total',
      help: 'Jobs taken back from their worker (lease, deadline, worker gone)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    const failed = new Counter({
      name: 'verity_job_failures_total',
      help: 'Jobs that failed, by error code',
      labelNames: ['code'],
      registers: [this.registry],
    });
    this.started = new Counter({
      name: 'verity_api_executions_started_total',
      help: 'Executions started through this API',
      registers: [this.registry],
    });
    const settlements = new Counter({
      name: 'verity_settlements_total',
      help: 'Settlements this process posted (one per settled revision of a run through a listing), by outcome',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    node.settlements.on('posted', ({ outcome }) => settlements.inc({ outcome }));
    // Held money is read from the store at scrape time, so it is true for every replica at once.
    new Gauge({
      name: 'verity_holds_outstanding',
      help: "Holds placed on buyers' balances that no settlement has closed yet",
      registers: [this.registry],
      async collect() {
        this.set((await store.read.getHeldTotals()).holds);
      },
    });
    new Gauge({
      name: 'verity_held_micro_units',
      help: 'The sum of every held balance, in integer micro-units',
      registers: [this.registry],
      async collect() {
        // A gauge is a float: exact up to 2^53 micro-units, which is what the ledger's amounts are bound to.
        this.set(Number((await store.read.getHeldTotals()).total));
      },
    });
    node.coordinator.events.on('completed', ({ durationMs }) => latency.observe(durationMs / 1000));
    node.coordinator.events.on('expired', ({ code }) => expired.inc({ reason: code }));
    node.coordinator.events.on('failed', ({ code }) => failed.inc({ code }));
    // Reports for jobs a worker does not hold leave no trace in any execution's history (anyone could
    // write into anyone's): they are counted here, and logged, so a misbehaving worker still shows.
    const foreign = new Counter({
      name: 'verity_foreign_reports_total',
      help: 'Worker reports refused for a job the worker does not hold (or no job at all), by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    node.coordinator.events.on('refused', ({ reason, jobId, workerId }) => {
      foreign.inc({ reason });
      log?.warn({ reason, jobId, workerId }, 'refused a worker report for a job the worker does not hold');
    });
  }

  executionStarted(): void {
    this.started.inc();
  }
}
