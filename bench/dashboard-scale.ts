import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerityClient } from '../src/sdk/client.js';
import { chromiumAvailable, launchChromium } from '../test/support/chromium.js';
import { REPO } from '../test/support/cli.js';
import { startServerProcess } from '../test/support/server.js';
import { pan, timeRoute } from './dashboard-page.js';
import { median } from './stats.js';

/**
 * `npx tsx bench/dashboard-scale.ts`: the dashboard with large things in it, in Debian's Chromium against a
 * real `verity serve` (2 in-process workers, SQLite), at 1280×800.
 *
 * (a) A 1,000-step workflow (20 ranks of 50, each step depending on two of the rank above), run to the end,
 * and its execution opened: time from the route change to the first graph node on screen, the layout's own
 * time (the page's `verity:layout` measure), how many graph nodes are in the DOM, and frames per second
 * while the mouse pans the graph for 2 s (requestAnimationFrame counted in the page).
 * (b) 10,000 one-step executions started through the API (4 keys of one principal, 80 requests at a time,
 * so the per-key rate limit is not what is measured), then the executions page: time from the route change
 * to the first rows, rows in the DOM, and time to the next page and back.
 *
 * Each browser figure is the median of RUNS. Needs the built dashboard (npm run build). For a quick look:
 * VERITY_BENCH_EXECUTIONS (default 10000), VERITY_BENCH_RUNS (default 5).
 */
const EXECUTIONS = Number(process.env.VERITY_BENCH_EXECUTIONS ?? 10_000);
const RUNS = Number(process.env.VERITY_BENCH_RUNS ?? 5);
const KEYS = 4;
const IN_FLIGHT = 80;

/** A wide-and-deep DAG: `ranks` × `width` steps, each depending on two of the rank above. */
export function gridWorkflow(id: string, ranks: number, width: number) {
  const steps = [];
  for (let r = 0; r < ranks; r++)
    for (let j = 0; j < width; j++)
      steps.push({
        id: `s${r}_${j}`,
        step_type: 'data_processing',
        input_mappings: { x: '1' },
        expression: 'x',
        ...(r > 0 && { depends_on: [`s${r - 1}_${j}`, `s${r - 1}_${(j + 1) % width}`] }),
      });
  return { id, name: `${ranks} × ${width} grid`, steps };
}

const ONE_STEP = {
  id: 'scale-one',
  name: 'One step',
  steps: [{ id: 'only', step_type: 'data_processing', input_mappings: { x: '1' }, expression: 'x' }],
};

async function startMany(clients: VerityClient[], count: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, lane) => {
      const client = clients[lane % clients.length]!;
      while (next < count) {
        next++;
        await client.execute(ONE_STEP.id, {});
      }
    }),
  );
  return (count / (performance.now() - started)) * 1000;
}

async function allEnded(client: VerityClient): Promise<void> {
  while ((await client.listExecutions({ status: ['running'], limit: 1 })).executions.length > 0)
    await new Promise((resolve) => setTimeout(resolve, 500));
}

if (!existsSync(join(REPO, 'dist', 'web', 'index.html'))) throw new Error('dist/web is missing: run `npm run build`');
if (!chromiumAvailable()) throw new Error('Chromium is missing (apt-get install chromium, or VERITY_CHROMIUM)');

const dir = mkdtempSync(join(tmpdir(), 'verity-dashboard-scale-'));
const server = await startServerProcess({ dataDir: join(dir, 'data'), workers: 2 });
const browser = await launchChromium();
try {
  const admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
  const keys = await Promise.all(
    Array.from({ length: KEYS }, async () => (await admin.createKey('bench', 'publisher')).token),
  );
  const clients = keys.map((apiKey) => new VerityClient({ server: server.url, apiKey }));
  const grid = gridWorkflow('scale-graph', 20, 50);
  await clients[0]!.publishWorkflow(grid);
  await clients[0]!.publishWorkflow(ONE_STEP);
  process.stderr.write('running the 1,000-step workflow…\n');
  const big = await clients[0]!.execute(grid.id, {});
  await clients[0]!.waitFor(big.executionId);

  process.stderr.write(`starting ${EXECUTIONS} executions…\n`);
  const startRate = await startMany(clients, EXECUTIONS);
  await allEnded(clients[0]!);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(
    `sessionStorage.setItem('verity.apiKey', ${JSON.stringify(keys[0])});
     sessionStorage.setItem('verity.role', '{"role":"publisher","principal":"bench"}');`,
  );
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));

  process.stderr.write('the graph…\n');
  const graph = {
    firstNode: [] as number[],
    layout: [] as number[],
    domNodes: 0,
    fps: [] as number[],
    worst: [] as number[],
  };
  for (let run = 0; run < RUNS; run++) {
    await page.goto(`${server.url}/#/workflows`);
    await page.getByRole('heading', { name: 'Workflows' }).waitFor();
    graph.firstNode.push(await timeRoute(page, `#/executions/${big.executionId}`, '.react-flow__node'));
    await page.waitForTimeout(500);
    graph.layout.push(
      await page.evaluate<number>(`performance.getEntriesByName('verity:layout', 'measure').at(-1)?.duration ?? NaN`),
    );
    graph.domNodes = await page.locator('.react-flow__node').count();
    const panned = await pan(page);
    if (process.env.VERITY_BENCH_SHOTS)
      await page.screenshot({ path: join(process.env.VERITY_BENCH_SHOTS, 'graph.png') });
    if (!panned.moved) throw new Error('the graph did not pan: the drag did not reach the React Flow pane');
    graph.fps.push(panned.fps);
    graph.worst.push(panned.worstFrameMs);
  }

  process.stderr.write('the executions list…\n');
  const list = { firstRows: [] as number[], rows: 0, next: [] as number[], back: [] as number[] };
  const firstRow = 'table.list tbody tr';
  const firstId = () => page.locator(firstRow).first().getAttribute('data-execution');
  for (let run = 0; run < RUNS; run++) {
    await page.goto(`${server.url}/#/workflows`);
    await page.getByRole('heading', { name: 'Workflows' }).waitFor();
    list.firstRows.push(await timeRoute(page, '#/executions', firstRow));
    list.rows = await page.locator(firstRow).count();
    for (const [button, into] of [
      ['Older →', list.next],
      ['← Newer', list.back],
    ] as const) {
      const was = await firstId();
      const t = performance.now();
      await page.getByRole('button', { name: button }).click();
      // Polled from here: waitForFunction would eval a string in the page, which its CSP forbids.
      while ((await firstId()) === was) await new Promise((resolve) => setTimeout(resolve, 5));
      into.push(performance.now() - t);
    }
  }
  if (errors.length > 0) throw new Error(`console errors in the page:\n${errors.join('\n')}`);

  const f = (n: number, digits = 0) => n.toFixed(digits);
  const rows: [string, string][] = [
    ['1,000-step graph (20 × 50, 1,900 edges): route change → first node drawn', `${f(median(graph.firstNode))} ms`],
    ['… layout in the page (`verity:layout`)', `${f(median(graph.layout), 1)} ms`],
    ['… graph nodes in the DOM at the opening zoom', `${graph.domNodes} of 1,000`],
    ['… panning with the mouse for 2 s', `${f(median(graph.fps))} fps (worst frame ${f(median(graph.worst))} ms)`],
    [`${EXECUTIONS.toLocaleString('en')} executions started through the API`, `${f(startRate)} executions/s`],
    ['executions list: route change → first rows', `${f(median(list.firstRows))} ms`],
    ['… rows in the DOM', `${list.rows}`],
    ['… next page / back', `${f(median(list.next))} / ${f(median(list.back))} ms`],
  ];
  console.log(`| dashboard at scale (Chromium, 1280×800, median of ${RUNS}) | |\n| --- | --- |`);
  for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
