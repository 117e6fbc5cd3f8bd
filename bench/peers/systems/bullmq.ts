import { FlowProducer, Queue, Worker } from 'bullmq';
import type { FlowJob, Job } from 'bullmq';
import { Redis } from 'ioredis';
import { STEPS, childMain, measureChain } from '../chain.js';
import type { ChainInput } from '../chain.js';

/**
 * BullMQ: the chain as a flow (BullMQ's own way of making jobs depend on jobs: a parent runs once its child
 * has completed), one worker that runs each job; a step's job reads its child's return value and returns
 * it. Redis here runs with its defaults; a job queue keeps no history of a workflow and signs nothing, so
 * this is a floor, not a peer doing the same work.
 */
interface StepData {
  index: number;
  input?: ChainInput;
}

childMain(async (options) => {
  const connection = { host: '127.0.0.1', port: Number(options.redisPort ?? 6379), maxRetriesPerRequest: null };
  const queueName = String(options.queue);
  const queue = new Queue(queueName, { connection });
  const flows = new FlowProducer({ connection });
  const waiting = new Map<string, (value: ChainInput) => void>();
  const worker = new Worker<StepData, ChainInput>(
    queueName,
    async (job: Job<StepData, ChainInput>) => {
      if (job.data.index === 0) return job.data.input!;
      const values = await job.getChildrenValues<ChainInput>();
      return Object.values(values)[0]!;
    },
    { connection, concurrency: 1 },
  );
  worker.on('completed', (job: Job<StepData, ChainInput>, value: ChainInput) => {
    waiting.get(job.id!)?.(value);
  });
  await worker.waitUntilReady();
  try {
    const perStep = await measureChain(options, async (input) => {
      // The last step is the root of the flow; step 0 the deepest child, the one that runs first.
      let flow: FlowJob = { name: 's0', queueName, data: { index: 0, input } };
      for (let i = 1; i < STEPS; i++) flow = { name: `s${i}`, queueName, data: { index: i }, children: [flow] };
      // The root's id is given up front: its completion may be reported before the add itself resolves.
      const rootId = `chain-${input.run}`;
      const done = new Promise<ChainInput>((resolve) => waiting.set(rootId, resolve));
      await flows.add({ ...flow, opts: { jobId: rootId } });
      return done;
    });
    // What this Redis keeps, as it says itself: with neither an append-only file nor snapshots, nothing.
    const redis = new Redis(connection);
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, save] = (await redis.config('GET', 'save')) as string[];
    redis.disconnect();
    return {
      per_step_ms: perStep,
      settings: `Redis appendonly ${appendonly}, save "${save}"; a FlowProducer chain, 1 worker`,
    };
  } finally {
    await worker.close();
    await flows.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
});
