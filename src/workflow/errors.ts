import { VerityError } from '../errors.js';
import type { ValidationIssue } from './types.js';

export type WorkflowErrorCode = 'invalid_workflow' | 'unreadable';

export class WorkflowError extends VerityError<WorkflowErrorCode> {
  readonly issues: readonly ValidationIssue[];

  constructor(
    code: WorkflowErrorCode,
    message: string,
    options: { issues?: ValidationIssue[]; cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
    this.issues = options.issues ?? [];
  }
}

/** `workflow.yaml:14:5 steps[1].when: …` */
export function formatIssue(issue: ValidationIssue, source?: string): string {
  const where = [source, issue.line, issue.column].filter((p) => p !== undefined).join(':');
  const path = issue.path === '' ? '' : `${issue.path}: `;
  return `${where ? `${where} ` : ''}${path}${issue.message}`;
}
