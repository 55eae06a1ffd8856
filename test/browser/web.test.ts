import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildWebAssets } from '../../web/build.js';
import { launchChromium, waitForPage } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Pings slow enough for a browser on two shared cores, and time to come back from a cut. */
const browserTimers = {
  management: { demo: true },
  portal: { pingInterval: 1_000, pingTimeout: 1_000, reconnectionTimeout: 10_000 },
};

interface JoinedPage {
  context: BrowserContext;
  page: Page;
}

const participantsOf = (page: Page) => page.locator('#participants li .name').allTextContents();
const chatOf = (page: Page) => page.locator('#messages li.message').allTextContents();
const connectionOf = (page: Page) => page.locator('#connection').getAttribute('data-state');

describe('the web pages in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  const contexts: BrowserContext[] = [];
  /** Uncaught errors and refusals by the pages' Content-Security-Policy: each one fails the test. */
  const pageProblems: string[] = [];

  before(async () => {
    await buildWebAssets();
    server = await startTestServer(browserTimers);
    baseUrl = `http://127.0.0.1:${server.server.management.port}`;
    browser = await launchChromium();
  });

  afterEach(() => {
    assert.deepEqual(pageProblems.splice(0), []);
  });

  after(async () => {
    // The server first: pages closed before it would leave sessions waiting for their relogin.
    await server?.stop();
    for (const context of contexts) await context.close();
    await browser?.close();
  });

  async function openPage(path: string): Promise<JoinedPage> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageProblems.push(`${path}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && message.text().includes('Content Security Policy')) {
        pageProblems.push(`${path}: ${message.text()}`);
      }
    });
    await page.goto(`${baseUrl}${path}`);
    return { context, page };
  }

  async function joinAs(user: string, room = ''): Promise<JoinedPage> {
    const joined = await openPage(room ? `/?room=${room}` : '/');
    await joined.page.getByLabel('Your name').fill(user);
    await joined.page.getByRole('button', { name: 'Join' }).click();
    await waitForPage(`${user} connected`, joined.page, connectionOf, 'connected');
    return joined;
  }

  async function say(page: Page, message: string): Promise<void> {
    await page.getByLabel('Message to everyone').fill(message);
    await page.getByLabel('Message to everyone').press('Enter');
  }

  test('two pages join the same room, see each other and exchange a message', async () => {
    const room = (await server.management.createRoom('pair'))._id;
    const alice = await joinAs('alice', room);
    const bob = await joinAs('bob', room);

    await waitForPage('alice sees bob', alice.page, participantsOf, ['alice (you)', 'bob']);
    await waitForPage('bob sees alice', bob.page, participantsOf, ['alice', 'bob (you)']);

    await say(alice.page, 'hello bob');
    await waitForPage('bob reads alice', bob.page, chatOf, ['alice: hello bob']);
    await say(bob.page, 'hi alice');
    await waitForPage('alice reads both', alice.page, chatOf, ['alice: hello bob', 'bob: hi alice']);
  });

  test('a page whose network is cut shows reconnecting, then resumed, and misses no message', async () => {
    const room = (await server.management.createRoom('cut'))._id;
    const carol = await joinAs('carol', room);
    const dave = await joinAs('dave', room);
    await waitForPage('dave sees carol', dave.page, participantsOf, ['carol', 'dave (you)']);

    await dave.context.setOffline(true);
    await waitForPage('dave reconnecting', dave.page, connectionOf, 'reconnecting');
    const whileAway = ['one', 'two', 'three'];
    for (const message of whileAway) await say(carol.page, message);
    await waitForPage('carol reads her own messages', carol.page, chatOf, whileAway.map((m) => `carol: ${m}`));
    await dave.context.setOffline(false);

    await waitForPage('dave resumed', dave.page, connectionOf, 'resumed');
    await waitForPage('dave reads every message once, in order', dave.page, chatOf, whileAway.map((m) => `carol: ${m}`));
    await say(dave.page, 'back');
    const afterResume = [...whileAway.map((message) => `carol: ${message}`), 'dave: back'];
    await waitForPage('carol reads dave after the resume', carol.page, chatOf, afterResume);
    await waitForPage('dave reads no message twice', dave.page, chatOf, afterResume);
  });

  test('the admin page drops a participant and the other page shows it leave', async () => {
    const room = await server.management.createRoom('watched');
    const erin = await joinAs('erin', room._id);
    const frank = await joinAs('frank', room._id);
    await waitForPage('erin sees frank', erin.page, participantsOf, ['erin (you)', 'frank']);

    const admin = await openPage('/admin');
    const { superServiceId } = server.server.bootstrap;
    const key = (await server.server.store.getService(superServiceId))!.key;
    await admin.page.getByLabel('Service id').fill(superServiceId);
    await admin.page.getByLabel('Service key').fill(key);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();

    const roomRow = admin.page.locator(`#rooms tr[data-room-id="${room._id}"]`);
    await waitForPage('the room with two participants', admin.page, () => roomRow.locator('td').nth(3).textContent(), '2');
    await admin.page.getByRole('button', { name: 'Show participants of watched' }).click();
    const placedAt = async (page: Page) => {
      const rows = await page.locator('#room-participants tbody tr').all();
      return Promise.all(rows.map(async (row) => (await row.locator('td').allTextContents()).slice(0, 2)));
    };
    await waitForPage('erin and frank listed', admin.page, placedAt, [
      ['erin', 'presenter'],
      ['frank', 'presenter'],
    ]);
    const portals = await admin.page.locator('#room-participants tbody tr td:nth-child(4)').allTextContents();
    assert.deepEqual(portals, [server.server.portal.id, server.server.portal.id]);
    const workers = await admin.page.locator('#workers tbody tr td:nth-child(2)').allTextContents();
    assert.deepEqual(workers.sort(), ['conference', 'portal']);

    await admin.page.getByRole('button', { name: 'Drop frank' }).click();
    await waitForPage('frank dropped', frank.page, connectionOf, 'dropped');
    await waitForPage('erin sees frank leave', erin.page, participantsOf, ['erin (you)']);
    await waitForPage('the admin page lists erin alone', admin.page, placedAt, [['erin', 'presenter']]);
    assert.match(await erin.page.locator('#messages li.note').last().textContent() ?? '', /frank left/);
  });
});
