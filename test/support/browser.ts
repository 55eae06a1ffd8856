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

/** A fake camera and microphone granted without asking, and WebRTC between pages on 127.0.0.1. */
const MEDIA_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export interface LaunchOptions {
  /** Fake capture devices and loopback peer connections, for pages that publish and subscribe. */
  media?: boolean;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  const args = options.media ? [...CHROMIUM_ARGS, ...MEDIA_ARGS] : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
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
