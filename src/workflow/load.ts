import { readFile } from 'node:fs/promises';
import { WorkflowError, formatIssue } from './errors.js';
import { parseWorkflowText } from './parse.js';
import type { ValidationIssue } from './types.js';
import { validateWorkflow } from './validate.js';
import type { ValidationResult } from './validate.js';

/** Parses and validates definition text; syntax errors come back as issues like any other. */
export function validateWorkflowText(text: string): ValidationResult {
  const parsed = parseWorkflowText(text);
  if (parsed.issues.length > 0) return { ok: false, errors: parsed.issues, warnings: [] };
  return validateWorkflow(parsed.value, { locate: parsed.locate });
}

export async function readWorkflowFile(file: string): Promise<ValidationResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new WorkflowError('unreadable', `cannot read workflow file ${file}: ${(error as Error).message}`, {
      cause: error,
      context: { file },
    });
  }
  return validateWorkflowText(text);
}

/** Reads a definition file and returns it validated, or throws a WorkflowError listing every problem. */
export async function loadWorkflowFile(file: string): Promise<Extract<ValidationResult, { ok: true }>> {
  const result = await readWorkflowFile(file);
  if (!result.ok) throw invalidWorkflow(result.errors, file);
  return result;
}

export function invalidWorkflow(issues: ValidationIssue[], source?: string): WorkflowError {
  const lines = issues.map((issue) => `  ${formatIssue(issue, source)}`);
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return new WorkflowError(
    'invalid_workflow',
    `invalid workflow${source ? ` ${source}` : ''} (${count}):\n${lines.join('\n')}`,
    {
      issues,
      context: source ? { file: source } : {},
    },
  );
}
