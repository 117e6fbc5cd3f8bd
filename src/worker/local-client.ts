import { jobBlobs } from '../blobs/job-blobs.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Coordinator, NextJob } from '../coordinator/coordinator.js';
import type { Assignment } from '../coordinator/protocol.js';
import type { Store } from '../store/store.js';
import type { WorkerClient } from './client.js';

/**
 * A worker in the same process as the coordinator: direct calls, and wake-ups instead of polling. It speaks
 * for `options.principal` (default: the node's, CoordinatorOptions.localPrincipal): that is this process's
 * own code deciding, never what the worker's registration says.
 */
export function localWorkerClient(
  coordinator: Coordinator,
  blobStore: BlobStore,
  store: Store,
  options: { principal?: string } = {},
): WorkerClient {
  // The slot that reports goes straight back to claiming (Worker.slot), so it takes the next job itself:
  // the first job its report queues is handed to it in the report's own transaction (HandOff), and the
  // claim that follows returns it without a transaction of its own.
  const handedOver: Assignment[] = [];
  const reportThenClaim = async <T>(report: (next: NextJob) => Promise<T>): Promise<T> => {
    const done = coordinator.notifier.claimerComing();
    try {
      return await report({ taken: done, deliver: (assignment) => handedOver.push(assignment) });
    } finally {
      done();
    }
  };
  return {
    async register({ principal: _claimed, ...registration }) {
      const record = await coordinator.registerWorker({
        ...registration,
        kind: 'local',
        ...(options.principal !== undefined && { principal: options.principal }),
      });
      return { workerId: record.id, leaseMs: coordinator.options.leaseMs };
    },
    async claim(workerId, capabilities, waitMs, signal) {
      const handed = handedOver.shift();
      if (handed) return handed;
      // In-process jobs start the moment they are claimed, so claim and start are one transaction; a job
      // just left for a reporting slot is claimed without first asking whether there is one.
      const probe = !coordinator.notifier.takeHandoff();
      const job = await coordinator.claim(workerId, capabilities, { start: true, probe });
      if (job || signal.aborted) return job;
      await coordinator.notifier.wait(waitMs, signal);
      return signal.aborted ? undefined : coordinator.claim(workerId, capabilities, { start: true });
    },
    start: (report) => coordinator.start(report),
    heartbeat: (report) => coordinator.heartbeat(report),
    complete: (report) => reportThenClaim((next) => coordinator.complete(report, next)),
    fail: (report) => reportThenClaim((next) => coordinator.fail(report, next)),
    reportZkLeaf: (report) => coordinator.reportZkLeaf(report),
    seen: (workerId) => coordinator.workerSeen(workerId),
    deregister: (workerId) => coordinator.stopWorker(workerId),
    onCancelled: (listener) => coordinator.notifier.onCancelled(listener),
    blobs: (_workerId, job) => jobBlobs(blobStore, store, job),
  };
}
