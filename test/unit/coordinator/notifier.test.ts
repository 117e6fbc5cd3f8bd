import { describe, expect, it } from 'vitest';
import { JobNotifier } from '../../../src/coordinator/notifier.js';

describe('the job notifier', () => {
  it('leaves a queued job to the slot that is about to claim, and says so once', async () => {
    const notifier = new JobNotifier();
    let woken = false;
    const waiting = notifier.wait(5_000).then(() => (woken = true));
    const done = notifier.claimerComing();
    notifier.jobsQueued(1);
    done();
    // The reporting slot takes the job: no waiting slot is sent after it, and its claim need not look first.
    await new Promise((r) => setTimeout(r, 10));
    expect(woken).toBe(false);
    expect(notifier.takeHandoff()).toBe(true);
    expect(notifier.takeHandoff()).toBe(false);
    notifier.close();
    await waiting;
  });

  it('hands nothing off when the report queued nothing, and wakes a waiting slot for a job queued later', async () => {
    const notifier = new JobNotifier();
    const done = notifier.claimerComing();
    done();
    expect(notifier.takeHandoff()).toBe(false);
    let woken = false;
    const waiting = notifier.wait(5_000).then(() => (woken = true));
    notifier.jobsQueued(1);
    await waiting;
    expect(woken).toBe(true);
    expect(notifier.takeHandoff()).toBe(false);
    notifier.close();
  });
});
