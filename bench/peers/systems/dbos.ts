import { DBOS } from '@dbos-inc/dbos-sdk';
import { STEPS, childMain, inputFor, measureChain } from '../chain.js';
import type { ChainInput } from '../chain.js';

/**
 * DBOS Transact: one workflow that runs a no-op step 50 times, each on the previous step's output, on its
 * system database in the local PostgreSQL, with DBOS's defaults (every step's output is recorded before the
 * workflow goes on; that is what makes it durable).
 */
childMain(async (options) => {
  DBOS.setConfig({ name: 'verity-bench-peers', systemDatabaseUrl: String(options.databaseUrl), logLevel: 'warn' });
  const step = DBOS.registerStep(async (value: ChainInput) => Promise.resolve(value), { name: 'noop' });
  const chain = DBOS.registerWorkflow(
    async (input: ChainInput) => {
      let value = input;
      for (let i = 0; i < STEPS; i++) value = await step(value);
      return value;
    },
    { name: 'chain50' },
  );
  await DBOS.launch();
  try {
    // Called directly, a workflow runs in this process and returns once its result is recorded.
    const perStep = await measureChain(options, (input) => chain(input));
    // That the steps were recorded, not only run: one more run under a known id, and its steps as DBOS lists them.
    const id = 'chain-check';
    await DBOS.withNextWorkflowID(id, () => chain(inputFor(-1)));
    const recorded = (await DBOS.listWorkflowSteps(id))?.length ?? 0;
    if (recorded !== STEPS) throw new Error(`DBOS recorded ${recorded} steps of the workflow, not ${STEPS}`);
    return { per_step_ms: perStep, settings: 'system database on PostgreSQL, defaults' };
  } finally {
    await DBOS.shutdown();
  }
});
