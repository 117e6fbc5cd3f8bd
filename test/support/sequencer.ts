import { readFileSync } from 'node:fs';
import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';

/**
 * The zk ceremony of the test circuit (test/integration/zk/setup.test.ts) takes minutes, and every file
 * that needs its artifacts waits on its lock. Left to the default order, a worker could reach such a file
 * while the other runs the ceremony and sit idle for the whole of it (11 minutes in one CI run). So: the
 * ceremony first, every file that waits for it last, everything else in the default order between, and
 * the other worker gets through the rest meanwhile.
 */
export default class ZkLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification): number => {
      if (file.moduleId.endsWith('test/integration/zk/setup.test.ts')) return 0;
      return waitsForCeremony(file.moduleId) ? 2 : 1;
    };
    return sorted
      .map((file, index) => ({ file, index, rank: rank(file) }))
      .sort((a, b) => a.rank - b.rank || a.index - b.index)
      .map(({ file }) => file);
  }
}

/** A file that waits for the ceremony: directly, or through the proving helper (test/support/zk-proofs.ts). */
function waitsForCeremony(path: string): boolean {
  try {
    const source = readFileSync(path, 'utf8');
    return source.includes('ensureTestZkArtifacts') || source.includes('support/zk-proofs.js');
  } catch {
    return false;
  }
}
