import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, VERITY_BIN } from '../../support/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'verity-tty-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// `script` (util-linux) runs the CLI on a pseudo-terminal, as a person at a terminal would see it.
describe.skipIf(!existsSync('/usr/bin/script'))('run on a terminal', () => {
  it('redraws per-step progress in place and ends with every step completed', () => {
    const command = `${process.execPath} ${VERITY_BIN} run examples/fan-out/workflow.yaml --input @examples/fan-out/input.json --data-dir ${dataDir}`;
    const screen = execFileSync('/usr/bin/script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, VERITY_DATABASE_URL: '', NO_COLOR: '', COLUMNS: '120', LINES: '40' },
    });
    // Cursor up over the previous frame (header + 5 steps), clear, draw again.
    expect(screen).toContain('\x1b[6A\r\x1b[J');
    const frames = screen.split('\x1b[6A\r\x1b[J');
    expect(frames.length).toBeGreaterThan(2);
    const plain = (text: string) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    const last = plain(frames.at(-1)!);
    for (const step of ['prepare', 'ratings', 'length', 'keywords', 'join']) {
      expect(last).toMatch(new RegExp(`✓ ${step}\\s+completed`));
    }
    // While it ran, the three analyses were shown running together.
    expect(
      frames.some((f) => ['ratings', 'length', 'keywords'].every((s) => new RegExp(`${s}\\s+running`).test(plain(f)))),
    ).toBe(true);
    expect(last).toMatch(/completed: review-fan-out v1 execution /);
  });
});
