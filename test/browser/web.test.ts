import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildWebAssets } from '../../web/build.js';
import { launchChromium, waitForPage } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { seesVideoOf, tileOf } from '../support/join-page.js';
import { waitFor } from '../support/wait.js';

/**
 * Pings slow enough for pages that capture, encode and decode video on two shared cores, time to
 * come back from a cut — with a ticket that outlives the reconnection window, as by default, so a
 * cut is never failed by a ticket that expired while the page could not refresh it — and to log in. The API takes only MAuth's request method, which the admin
 * page must then send.
 */
const browserTimers = {
  management: { demo: true, demoRooms: ['pair', 'video', 'cut', 'watched'], requireRequestSignature: true },
  portal: { pingInterval: 2_000, pingTimeout: 4_000, reconnectionTimeout: 30_000, reconnectionTicketLifetime: 60_000 },
  tokens: { lifetime: 60_000 },
};

interface JoinedPage {
  context: BrowserContext;
  page: Page;
}

const participantsOf = (page: Page) => page.locator('#participants li .name').allTextContents();
const chatOf = (page: Page) => page.locator('#messages li.message').allTextContents();
const connectionOf = (page: Page) => page.locator('#connection').getAttribute('data-state');
/** A table's cells, read in one go: the admin page re-renders its tables every second, and a row read cell by cell may be gone. */
const cellsOf = (page: Page, table: string) =>
  page.locator(`${table} tbody tr`).evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')));
const tracksOf = async (page: Page, name: string) => {
  const tile = tileOf(page, name);
  return { audio: await tile.getAttribute('data-audio'), video: await tile.getAttribute('data-video') };
};

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
    browser = await launchChromium({ media: true });
  });

  afterEach(async () => {
    // Each page captures and sends video: a test's pages go with it, so no more than three run at once.
    for (const context of contexts.splice(0)) await context.close();
    assert.deepEqual(pageProblems.splice(0), []);
  });

  after(async () => {
    await server?.stop();
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
    await waitForPage(`${user} connected`, joined.page, connectionOf, 'connected', { timeoutMs: 20_000, intervalMs: 100 });
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

  test('two pages see each other’s video, a camera or microphone switched off shows as off, and a page that stays sees the next one', async () => {
    const room = (await server.management.createRoom('video'))._id;
    const alice = await joinAs('alice', room);
    const bob = await joinAs('bob', room);
    await seesVideoOf(alice.page, 'bob');
    await seesVideoOf(bob.page, 'alice');
    await seesVideoOf(alice.page, 'alice (you)');

    const camera = alice.page.getByRole('button', { name: 'Camera' });
    const microphone = alice.page.getByRole('button', { name: 'Microphone' });
    assert.equal(await camera.getAttribute('aria-pressed'), 'true');
    await camera.click();
    await waitForPage('bob sees alice’s camera off', bob.page, (page) => tracksOf(page, 'alice'), { audio: 'active', video: 'inactive' });
    assert.equal(await tileOf(bob.page, 'alice').locator('.tile-off').isVisible(), true);
    await microphone.click();
    await waitForPage('bob sees alice’s microphone off', bob.page, (page) => tracksOf(page, 'alice'), { audio: 'inactive', video: 'inactive' });
    await camera.click();
    await microphone.click();
    await waitForPage('bob sees both on again', bob.page, (page) => tracksOf(page, 'alice'), { audio: 'active', video: 'active' });
    assert.equal(await camera.getAttribute('aria-pressed'), 'true');
    await seesVideoOf(bob.page, 'alice');

    await alice.page.getByRole('button', { name: 'Leave' }).click();
    await waitForPage('alice’s tile gone from bob’s page', bob.page, (page) => tileOf(page, 'alice').count(), 0);

    // Bob's connection began with his subscription to alice, which is over: it still takes new ones.
    const carol = await joinAs('carol', room);
    await seesVideoOf(bob.page, 'carol');
    await seesVideoOf(carol.page, 'bob');
  });

  test('a page whose network is cut shows reconnecting, then resumed, and misses no message', async () => {
    const room = (await server.management.createRoom('cut'))._id;
    const carol = await joinAs('carol', room);
    const dave = await joinAs('dave', room);
    await waitForPage('dave sees carol', dave.page, participantsOf, ['carol', 'dave (you)']);

    await dave.context.setOffline(true);
    // Noticed when a ping is missing: pingInterval + pingTimeout after the last one.
    await waitForPage('dave reconnecting', dave.page, connectionOf, 'reconnecting', { timeoutMs: 20_000, intervalMs: 100 });
    // The page and the portal each notice the cut by a missing ping, in either order. A JavaScript
    // SDK client is given back only what was held while the portal knew it was away (SPEC §6), so
    // carol speaks once the portal holds dave's session.
    const [daveId] = (await server.management.getParticipants(room)).filter(({ user }) => user === 'dave').map(({ id }) => id);
    await waitFor('the portal to hold dave\'s session as away', () => server.server.portal.registry.get(daveId!)?.carrier.isConnected === false || 'connected', { timeoutMs: 20_000, intervalMs: 100 });
    const whileAway = ['one', 'two', 'three'];
    for (const message of whileAway) await say(carol.page, message);
    await waitForPage('carol reads her own messages', carol.page, chatOf, whileAway.map((m) => `carol: ${m}`));
    await dave.context.setOffline(false);

    await waitForPage('dave resumed', dave.page, connectionOf, 'resumed', { timeoutMs: 20_000, intervalMs: 100 });
    await waitForPage('dave reads every message once, in order', dave.page, chatOf, whileAway.map((m) => `carol: ${m}`));
    await say(dave.page, 'back');
    const afterResume = [...whileAway.map((message) => `carol: ${message}`), 'dave: back'];
    await waitForPage('carol reads dave after the resume', carol.page, chatOf, afterResume);
    await waitForPage('dave reads no message twice', dave.page, chatOf, afterResume);
  });

  test('the admin page stops a stream and drops a participant, and the other page shows both', async () => {
    const room = await server.management.createRoom('watched');
    const erin = await joinAs('erin', room._id);
    const frank = await joinAs('frank', room._id);
    await waitForPage('erin sees frank', erin.page, participantsOf, ['erin (you)', 'frank']);
    assert.equal(await erin.page.locator('#room-heading').textContent(), 'watched');

    const admin = await openPage('/admin');
    const { superServiceId } = server.server.bootstrap;
    const key = (await server.server.store.getService(superServiceId))!.key;
    await admin.page.getByLabel('Service id').fill(superServiceId);
    await admin.page.getByLabel('Service key').fill(key);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();

    const roomRow = admin.page.locator(`#rooms tr[data-room-id="${room._id}"]`);
    await waitForPage('the room with two participants', admin.page, () => roomRow.locator('td').nth(3).textContent(), '2');
    await admin.page.getByRole('button', { name: 'Show participants of watched' }).click();
    const placedAt = async (page: Page) => (await cellsOf(page, '#room-participants')).map((cells) => cells.slice(0, 2));
    await waitForPage('erin and frank listed', admin.page, placedAt, [
      ['erin', 'presenter'],
      ['frank', 'presenter'],
    ]);
    const portals = await admin.page.locator('#room-participants tbody tr td:nth-child(4)').allTextContents();
    assert.deepEqual(portals, [server.server.portal.id, server.server.portal.id]);
    const workers = await admin.page.locator('#workers tbody tr td:nth-child(2)').allTextContents();
    assert.deepEqual(workers.sort(), ['conference', 'portal', 'webrtc']);
    const connections = await admin.page.locator('#room-participants tbody tr td:nth-child(5)').allTextContents();
    assert.deepEqual(connections, ['connected', 'connected']);
    // At a phone's width the tables scroll inside their cards, and the page keeps the screen's width.
    const size = admin.page.viewportSize()!;
    await admin.page.setViewportSize({ width: 390, height: size.height });
    assert.equal(await admin.page.locator('html').evaluate((html) => (html as unknown as { scrollWidth: number }).scrollWidth), 390);
    await admin.page.setViewportSize(size);

    const streamsListed = async (page: Page) =>
      (await cellsOf(page, '#room-streams')).map(([owner = '', tracks = '', codecs = '', state = '']) =>
        [owner, [...tracks.matchAll(/audio|video/g)].map(([kind]) => kind).sort(), /opus/.test(codecs), state]);
    await waitForPage('erin\'s and frank\'s streams listed', admin.page, streamsListed, [
      ['erin', ['audio', 'video'], true, 'active'],
      ['frank', ['audio', 'video'], true, 'active'],
    ]);
    const confirmation = new Promise<string>((resolve) => {
      admin.page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      });
    });
    await admin.page.getByRole('button', { name: /^Stop frank's/ }).click();
    assert.match(await confirmation, /^Stop frank's (audio and video|video and audio) stream\?/);
    await waitForPage('erin no longer sees frank', erin.page, (page) => tileOf(page, 'frank').count(), 0);
    await waitForPage('the admin page lists erin\'s stream alone', admin.page, streamsListed, [['erin', ['audio', 'video'], true, 'active']]);

    const dropConfirmation = new Promise<string>((resolve) =>
      admin.page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      }),
    );
    await admin.page.getByRole('button', { name: 'Drop frank' }).click();
    assert.match(await dropConfirmation, /^Drop frank from /);
    await waitForPage('frank dropped', frank.page, connectionOf, 'dropped');
    // Back at the join form, without the room he was dropped from.
    await waitForPage('frank at the join form alone', frank.page, async (page) => [await page.locator('#join-section').isVisible(), await page.locator('#room-section').isVisible()], [true, false]);
    await waitForPage('erin sees frank leave', erin.page, participantsOf, ['erin (you)']);
    await waitForPage('the admin page lists erin alone', admin.page, placedAt, [['erin', 'presenter']]);
    assert.match(await erin.page.locator('#messages li.note').last().textContent() ?? '', /frank left/);
  });
});
