/**
 * Takes the README's screenshots of the join and admin pages (`npm run screenshots`): a room with
 * two people seeing each other (Chromium's fake camera) and chatting, and the admin page watching it
 * with their streams.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { buildWebAssets } from '../../web/build.js';
import { launchChromium, waitForPage } from '../support/browser.js';
import { seesVideoOf } from '../support/join-page.js';
import { startTestServer } from '../support/server.js';

const outDir = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const viewport = { width: 1100, height: 720 };

await buildWebAssets();
await mkdir(outDir, { recursive: true });
const server = await startTestServer({
  management: { demo: true },
  portal: { pingInterval: 2_000, pingTimeout: 4_000 },
  tokens: { lifetime: 60_000 },
});
const browser = await launchChromium({ media: true });
try {
  const baseUrl = `http://127.0.0.1:${server.server.management.port}`;
  const connectionOf = (page: Page) => page.locator('#connection').getAttribute('data-state');
  const join = async (user: string): Promise<Page> => {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('Your name').fill(user);
    await page.getByRole('button', { name: 'Join' }).click();
    await waitForPage(`${user} connected`, page, connectionOf, 'connected', { timeoutMs: 20_000, intervalMs: 100 });
    return page;
  };
  const say = async (page: Page, message: string) => {
    await page.getByLabel('Message to everyone').fill(message);
    await page.getByLabel('Message to everyone').press('Enter');
  };

  const alice = await join('alice');
  const bob = await join('bob');
  await seesVideoOf(alice, 'bob');
  await seesVideoOf(alice, 'alice (you)');
  await say(alice, 'Hello Bob, can you hear me?');
  await say(bob, 'Loud and clear. The room works.');
  const chat = (page: Page) => page.locator('#messages li.message').count();
  await waitForPage('both messages', alice, chat, 2);
  await alice.getByLabel('Message to everyone').focus();
  await alice.screenshot({ path: `${outDir}/join.png`, fullPage: true });

  const admin = await (await browser.newContext({ viewport: { ...viewport, height: 820 } })).newPage();
  await admin.goto(`${baseUrl}/admin`);
  const { superServiceId } = server.server.bootstrap;
  await admin.getByLabel('Service id').fill(superServiceId);
  await admin.getByLabel('Service key').fill((await server.server.store.getService(superServiceId))!.key);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.getByRole('button', { name: 'Show participants of sampleRoom' }).click();
  await waitForPage('two participants', admin, (page) => page.locator('#room-participants tbody tr').count(), 2);
  await waitForPage('their two streams', admin, (page) => page.locator('#room-streams tbody tr').count(), 2);
  // Reached with the keyboard, so the focus ring shows as a keyboard user sees it.
  await admin.getByRole('button', { name: 'Drop alice' }).focus();
  await admin.keyboard.press('Tab');
  await admin.screenshot({ path: `${outDir}/admin.png`, fullPage: true });
  console.log(`screenshots written to ${outDir}`);
} finally {
  await browser.close();
  await server.stop();
}
