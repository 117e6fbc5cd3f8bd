import { VerityNode } from '../../src/node/verity-node.js';
import { validateWorkflow } from '../../src/workflow/validate.js';
import { STEPS, childMain, measureChain } from './chain.js';

/**
 * Verity's side of `npm run bench:peers`: the chain of `overhead-per-step` in bench/scenarios.ts (50
 * `builtin/echo` steps, each depending on the one before and getting its output as input) on one node, with
 * its in-process workers, attested or not, on SQLite or PostgreSQL.
 */
childMain(async (options) => {
  const attest = options.attest === true;
  const synchronous = options.synchronous === 'full' ? 'full' : 'normal';
  const databaseUrl = typeof options.databaseUrl === 'string' ? options.databaseUrl : undefined;
  const steps = Array.from({ length: STEPS }, (_, i) => ({
    id: `s${i}`,
    step_type: 'inference',
    model_requirements: { name: 'builtin/echo' },
    depends_on: i === 0 ? [] : [`s${i - 1}`],
  }));
  const validated = validateWorkflow({ id: 'chain-50', steps });
  if (!validated.ok) throw new Error(JSON.stringify(validated.errors));
  const node = await VerityNode.open({
    dataDir: String(options.dataDir),
    databaseUrl,
    workers: 16,
    attest,
    sqliteSynchronous: synchronous,
  });
  await node.start();
  try {
    const workflow = await node.engine.registerWorkflow(validated.definition, validated.digest);
    const perStep = await measureChain(options, async (inputs) => {
      const done = await node.waitFor((await node.engine.start({ workflow, inputs, clientId: 'bench' })).id);
      if (done.status !== 'completed') throw new Error(`the execution ended ${done.status}`);
      return done.result;
    });
    return {
      per_step_ms: perStep,
      settings: databaseUrl
        ? `PostgreSQL, ${attest ? 'attested' : 'not attested'}`
        : `SQLite WAL, synchronous ${synchronous.toUpperCase()}, ${attest ? 'attested' : 'not attested'}`,
    };
  } finally {
    await node.stop();
  }
});
