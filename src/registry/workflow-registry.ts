import { jsonDigest } from '../attest/digest.js';
import type { Engine } from '../engine/engine.js';
import type { WorkflowRecord, WorkflowVersionRecord } from '../store/records.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { invalidWorkflow } from '../workflow/load.js';
import { parseWorkflowText } from '../workflow/parse.js';
import type { Locator } from '../workflow/parse.js';
import type { WorkflowDefinition } from '../workflow/types.js';
import { validateWorkflow } from '../workflow/validate.js';
import { RegistryError } from './errors.js';

export interface Published {
  version: WorkflowVersionRecord;
  workflow: WorkflowRecord;
  /** False when the definition was already the latest version (nothing new was stored). */
  created: boolean;
}

/**
 * Published workflows: each (id, version) names one definition digest, forever. Publishing a definition
 * whose content differs from the latest version makes the next version; publishing the same content again
 * returns the latest version. Only the principal that first published an id (or an admin) publishes more.
 */
export class WorkflowRegistry {
  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
  ) {}

  async publish(source: unknown, owner: string, isAdmin: boolean): Promise<Published> {
    const { raw, locate } = typeof source === 'string' ? this.parseText(source) : { raw: source, locate: undefined };
    const first = validateWorkflow(raw, locate ? { locate } : {});
    if (!first.ok) throw invalidWorkflow(first.errors);
    const id = first.definition.id;
    for (let attempt = 0; ; attempt++) {
      const latest = await this.store.read.getWorkflowVersion(id);
      if (latest && latest.owner !== owner && !isAdmin) {
        // Not naming the owner: a workflow is visible only to its owner, and this refusal should say no more
        // than that the id is taken.
        throw new RegistryError(
          'not_owner',
          `workflow id ${id} is taken by another publisher; publish under another id`,
          {
            context: { workflowId: id },
          },
        );
      }
      if (latest) {
        const current = await this.store.read.getWorkflow(latest.digest);
        if (current && sameContent(current.definition, first.definition))
          return { version: latest, workflow: current, created: false };
      }
      // The server numbers versions: the definition is re-validated with the version it will carry.
      const version = (latest?.version ?? 0) + 1;
      const numbered = validateWorkflow({ ...(raw as Record<string, unknown>), version });
      if (!numbered.ok) throw invalidWorkflow(numbered.errors);
      const workflow = await this.engine.registerWorkflow(numbered.definition, numbered.digest);
      const record: WorkflowVersionRecord = {
        workflowId: id,
        version,
        digest: numbered.digest,
        owner: latest?.owner ?? owner,
        createdAt: Date.now(),
      };
      try {
        await this.store.transaction((tx) => tx.insertWorkflowVersion(record));
        return { version: record, workflow, created: true };
      } catch (error) {
        // Another publisher took this version number first: look again.
        if (!(error instanceof StoreError && error.code === 'conflict') || attempt >= 5) throw error;
      }
    }
  }

  private parseText(text: string): { raw: unknown; locate: Locator } {
    const parsed = parseWorkflowText(text);
    if (parsed.issues.length > 0) throw invalidWorkflow(parsed.issues);
    return { raw: parsed.value, locate: parsed.locate };
  }
}

/** The same definition, whatever its version number says. */
function sameContent(a: WorkflowDefinition, b: WorkflowDefinition): boolean {
  return jsonDigest({ ...a, version: 0 }) === jsonDigest({ ...b, version: 0 });
}
