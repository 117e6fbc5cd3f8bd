import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium); Playwright's own browsers cannot be downloaded here. */
export const CHROMIUM = process.env.VERITY_CHROMIUM ?? '/usr/bin/chromium';

/** Whether browser tests can run; under CI=true a missing Chromium fails the run instead of skipping. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true')
    throw new Error(`Chromium is required under CI=true but ${CHROMIUM} is missing: apt-get install chromium`);
  return false;
}

/** A headless Chromium that touches no network but the loopback pages a test serves. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}
