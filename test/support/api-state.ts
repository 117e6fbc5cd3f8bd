import type { EventRecord, ExecutionRecord, JobRecord, StepRecord } from '../../src/store/records.js';
import type { Store } from '../../src/store/store.js';

/**
 * What a refused request must not change, read straight from the store (not through the API under test):
 * one execution in full, or the size of everything a request could add to.
 */

export interface ExecutionSnapshot {
  execution: ExecutionRecord | undefined;
  steps: StepRecord[];
  jobs: JobRecord[];
  events: EventRecord[];
}

export async function executionSnapshot(store: Store, executionId: string): Promise<ExecutionSnapshot> {
  return {
    execution: await store.read.getExecution(executionId),
    steps: await store.read.listSteps(executionId),
    jobs: await store.read.listJobs(executionId),
    events: await store.read.listEvents(executionId, 0, 100_000),
  };
}

export interface StoreCounts {
  executions: number;
  steps: number;
  jobs: number;
  /** Events of every execution but refused results (worker registrations have none: see workers). */
  events: number;
  /**
   * `result.refused` events: a report the coordinator refuses changes nothing but this record of it
   * (DESIGN §3), so tests that send refused reports on purpose compare the rest.
   */
  refusedResults: number;
  workflowVersions: number;
  workflowDefinitions: number;
  /** Ids of the API keys that are not revoked. */
  activeKeys: string[];
  revokedKeys: number;
  workers: number;
  activeWorkers: number;
  /** Registered worker public keys. */
  workerKeys: number;
  logSize: number;
}

export async function storeCounts(store: Store): Promise<StoreCounts> {
  const executions = await store.read.listExecutions({ limit: 100_000 });
  let events = 0;
  let refusedResults = 0;
  for (const execution of executions) {
    for (const event of await store.read.listEvents(execution.id, 0, 100_000)) {
      if (event.type === 'result.refused') refusedResults++;
      else events++;
    }
  }
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const latest = await store.read.listWorkflowVersions();
  let workflowVersions = 0;
  for (const version of latest) workflowVersions += (await store.read.listWorkflowVersions(version.workflowId)).length;
  const keys = await store.read.listApiKeys();
  const workers = await store.read.listWorkers();
  return {
    executions: executions.length,
    steps: sum(await store.read.countByStatus('steps')),
    jobs: sum(await store.read.countByStatus('jobs')),
    events,
    refusedResults,
    workflowVersions,
    workflowDefinitions: (await store.read.listWorkflows()).length,
    activeKeys: keys
      .filter((k) => k.revokedAt === undefined)
      .map((k) => k.id)
      .sort(),
    revokedKeys: keys.filter((k) => k.revokedAt !== undefined).length,
    workers: workers.length,
    activeWorkers: workers.filter((w) => w.status === 'active').length,
    workerKeys: (await store.read.listKeys('worker')).length,
    logSize: await store.read.getLogSize(),
  };
}
