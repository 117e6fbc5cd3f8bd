import type { Command } from 'commander';
import { formatIssue } from '../../workflow/errors.js';
import { readWorkflowFile } from '../../workflow/load.js';
import { workflowJsonSchema } from '../../workflow/schema.js';
import { EXIT } from '../errors.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a workflow definition without running it')
    .argument('<file>', 'workflow definition (YAML or JSON)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const result = await readWorkflowFile(file);
      if (flags.json) {
        process.stdout.write(
          JSON.stringify(
            result.ok
              ? { valid: true, summary: result.summary, warnings: result.warnings }
              : { valid: false, errors: result.errors, warnings: result.warnings },
            null,
            2,
          ) + '\n',
        );
      } else if (result.ok) {
        const s = result.summary;
        console.log(
          `valid: ${s.id} v${s.version}: ${s.steps} step${s.steps === 1 ? '' : 's'}, depth ${s.depth}, widest level ${s.width} (digest ${s.digest.slice(0, 12)}…)`,
        );
        for (const warning of result.warnings) console.error(`warning: ${formatIssue(warning, file)}`);
      } else {
        console.error(`invalid: ${file} (${result.errors.length} problem${result.errors.length === 1 ? '' : 's'})`);
        for (const error of result.errors) console.error(`  ${formatIssue(error, file)}`);
        for (const warning of result.warnings) console.error(`  warning: ${formatIssue(warning, file)}`);
      }
      process.exitCode = result.ok ? EXIT.completed : EXIT.usage;
    });

  program
    .command('schema')
    .description('print the workflow definition format as JSON Schema (for editors)')
    .action(() => {
      process.stdout.write(JSON.stringify(workflowJsonSchema(), null, 2) + '\n');
    });
}
