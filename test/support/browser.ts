/** Debian's Chromium driven by playwright-core, headless, for the web page tests. */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitFor, type WaitOptions } from './wait.js';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** Waits until `read(page)` equals `expected`; a timeout names what the page showed instead. */
export async function waitForPage<T>(
  description: string,
  page: Page,
  read: (page: Page) => Promise<T>,
  expected: T,
  options: WaitOptions = { timeoutMs: 10_000, intervalMs: 50 },
): Promise<void> {
  await waitFor(
    description,
    async () => {
      const shown = await read(page);
      return JSON.stringify(shown) === JSON.stringify(expected) || `the page shows ${JSON.stringify(shown)}`;
    },
    options,
  );
}
