import { spawn } from 'node:child_process';

/**
 * `npm test`: build (the integration tests start the built `verity`), then the test suite, with lint and
 * typecheck beside it. Those two (about 75 s of one core together) need nothing the suite makes, so they
 * run alongside rather than before it; their output is held back and printed after the suite's, so the
 * two do not mix.
 * Any of them failing fails the command. `npm run lint` and `npm run typecheck` still run each alone.
 */

interface Outcome {
  name: string;
  code: number;
  output: string;
}

function run(name: string, command: string, args: readonly string[], quiet: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ name, code: 1, output: `${output}${error.message}\n` }));
    child.on('close', (code, signal) => resolve({ name, code: code ?? (signal === null ? 1 : 128), output }));
  });
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const build = await run('build', npm, ['run', 'build'], false);
if (build.code !== 0) process.exit(build.code);

const checks = [run('lint', npm, ['run', 'lint'], true), run('typecheck', npm, ['run', 'typecheck'], true)];
const suite = await run(
  'vitest',
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)],
  false,
);
const outcomes = [suite, ...(await Promise.all(checks))];

for (const { name, code, output } of outcomes.slice(1)) {
  process.stdout.write(`\n── ${name}: ${code === 0 ? 'passed' : `failed (exit ${code})`}\n`);
  if (code !== 0) process.stdout.write(output);
}
const failed = outcomes.filter((o) => o.code !== 0).map((o) => o.name);
if (failed.length > 0) {
  process.stdout.write(`\nnpm test failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
