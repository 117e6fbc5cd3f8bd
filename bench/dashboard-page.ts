import type { Page } from 'playwright-core';

/** What bench/dashboard-scale.ts measures in the page, apart so that it can be run against any server. */
const PAN_MS = 2000;

/** Changes the route in the page and times, in the page, until `selector` is in the DOM. */
export async function timeRoute(page: Page, hash: string, selector: string): Promise<number> {
  // Strings run in the page: this project compiles without DOM types (and tsx would wrap named functions).
  await page.evaluate(`window.benchStart = performance.now(); location.hash = ${JSON.stringify(hash)};`);
  await page.waitForSelector(selector, { timeout: 120_000 });
  return await page.evaluate<number>('performance.now() - window.benchStart');
}

/** Drags the graph back and forth for PAN_MS, counting animation frames in the page meanwhile. */
export async function pan(page: Page): Promise<{ fps: number; worstFrameMs: number; moved: boolean }> {
  await page.locator('.dag').scrollIntoViewIfNeeded();
  const box = (await page.locator('.dag').boundingBox())!;
  const before = await page.locator('.react-flow__viewport').getAttribute('style');
  await page.evaluate(`
    window.benchFrames = [];
    window.benchCounting = true;
    const tick = (t) => {
      window.benchFrames.push(t);
      if (window.benchCounting) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  `);
  // The drag starts on the pane between nodes, as a user's would: a press on a node selects it.
  const start = await page.evaluate<[number, number] | null>(`(() => {
    for (let y = ${box.y + 20}; y < ${box.y + box.height - 20}; y += 4)
      for (let x = ${box.x + box.width / 2 - 100}; x < ${box.x + box.width / 2 + 100}; x += 4) {
        const hit = document.elementFromPoint(x, y);
        if (hit && hit.classList.contains('react-flow__pane')) return [x, y];
      }
    return null;
  })()`);
  if (!start) throw new Error('no empty spot of the graph to start a drag from');
  const [cx, cy] = start;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const started = Date.now();
  for (let i = 0; Date.now() - started < PAN_MS; i++) {
    // A slow circle of 120 px: the pointer keeps moving and the viewport with it.
    const angle = i / 10;
    await page.mouse.move(cx + 120 * Math.cos(angle), cy + 120 * Math.sin(angle));
  }
  await page.mouse.up();
  const frames = await page.evaluate<number[]>('window.benchCounting = false; window.benchFrames');
  const after = await page.locator('.react-flow__viewport').getAttribute('style');
  const gaps = frames.slice(1).map((t, i) => t - frames[i]!);
  return {
    fps: ((frames.length - 1) / (frames.at(-1)! - frames[0]!)) * 1000,
    worstFrameMs: Math.max(...gaps),
    moved: before !== after,
  };
}
