/**
 * The unmodified OWT JavaScript SDK in Chromium (fake camera and microphone) against the embedded
 * server: publish, subscribe, mute, a signaling cut, unpublish, leave and a refused publish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startOwtPageServer } from '../support/owt-page.js';
import type { StaticServer } from '../support/static-server.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import type { MediaKind, OwtHarness, ReceivedMedia } from './owt-harness-api.js';

/**
 * Pings slow enough for pages that encode and decode video on two shared cores; a session outlives
 * a cut of several seconds. Tickets live as long as by default: the SDK refreshes a ticket 10 s
 * before it expires, at once and again and again if it lives shorter. Tokens wait for a slow page.
 */
const browserTimers = {
  portal: { pingInterval: 2_000, pingTimeout: 4_000, reconnectionTimeout: 20_000, reconnectionTicketLifetime: 600_000 },
  tokens: { lifetime: 60_000 },
};

/** Media takes longer than signaling to show up on a busy machine: ICE, DTLS, a first keyframe. */
const mediaWait = { timeoutMs: 20_000, intervalMs: 200 };
/** How long frames must stay still to count as stopped: many frame intervals at 30 frames per second. */
const STILL_MS = 1_500;
/** What "still flowing" means between two readings: a second's worth of video at a low frame rate. */
const FLOWING = { frames: 10, audioPackets: 20 };

interface SdkPage {
  name: string;
  context: BrowserContext;
  page: Page;
  /** The page's console, kept to explain a failure. */
  console: string[];
  errors: string[];
}

/** Calls `window.owt[method](...args)` in the page. */
function call<M extends keyof OwtHarness>(
  sdk: SdkPage,
  method: M,
  ...args: Parameters<OwtHarness[M]>
): Promise<Awaited<ReturnType<OwtHarness[M]>>> {
  return sdk.page.evaluate(
    ({ method, args }) => {
      const owt = (globalThis as unknown as { owt: Record<string, (...values: unknown[]) => unknown> }).owt;
      return owt[method]!(...args);
    },
    { method, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<OwtHarness[M]>>>;
}

const flowing = (since: ReceivedMedia, now: ReceivedMedia, kinds: MediaKind[]) =>
  (!kinds.includes('video') || (now.framesDecoded >= since.framesDecoded + FLOWING.frames && now.videoWidth > 0)) &&
  (!kinds.includes('audio') || now.audioPackets >= since.audioPackets + FLOWING.audioPackets);

/** Waits until the stream's media of these kinds has flowed on since `since` (default: from nothing). */
async function receiving(sdk: SdkPage, streamId: string, kinds: MediaKind[] = ['audio', 'video'], since?: ReceivedMedia) {
  const start = since ?? { framesDecoded: 0, videoWidth: 0, audioPackets: 0 };
  let now = start;
  await waitFor(
    `${sdk.name} receiving ${kinds.join(' and ')} of ${streamId}`,
    async () => {
      now = await call(sdk, 'received', streamId);
      return flowing(start, now, kinds) || `${JSON.stringify(now)}, from ${JSON.stringify(start)}`;
    },
    mediaWait,
  );
  return now;
}

/** Waits until the stream's media of `kind` has not moved for STILL_MS while `other` still flows. */
async function stopped(sdk: SdkPage, streamId: string, kind: MediaKind, other: MediaKind) {
  const count = (media: ReceivedMedia) => (kind === 'video' ? media.framesDecoded : media.audioPackets);
  let last = await call(sdk, 'received', streamId);
  let stillSince = Date.now();
  await waitFor(
    `${sdk.name} seeing the ${kind} of ${streamId} stop`,
    async () => {
      const now = await call(sdk, 'received', streamId);
      if (count(now) !== count(last)) {
        last = now;
        stillSince = Date.now();
        return `${kind} still arriving: ${JSON.stringify(now)}`;
      }
      return Date.now() - stillSince >= STILL_MS || `${kind} still for ${Date.now() - stillSince} ms`;
    },
    mediaWait,
  );
  // Only the paused kind stops: the rest of the stream, and so the machine, keeps going.
  await receiving(sdk, streamId, [other], last);
}

const hasEvent = (sdk: SdkPage, event: string) => async () => {
  const events = await call(sdk, 'events');
  return events.includes(event) || `events: ${JSON.stringify(events)}`;
};

describe('the OWT JavaScript SDK in Chromium', () => {
  let server: TestServer;
  let pages: StaticServer;
  let browser: Browser;
  let portalPort: string;

  before(async () => {
    server = await startTestServer(browserTimers);
    portalPort = String(server.server.portal.port);
    pages = await startOwtPageServer();
    browser = await launchChromium({ media: true });
  });

  after(async () => {
    await browser?.close();
    await pages?.close();
    await server?.stop();
  });

  /** `prepare` runs before the page loads: WebSocket routes only take sockets of pages loaded after them. */
  async function openSdkPage(name: string, prepare?: (page: Page) => Promise<void>): Promise<SdkPage> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const sdk: SdkPage = { name, context, page, console: [], errors: [] };
    page.on('console', (message) => sdk.console.push(`${name} ${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => sdk.errors.push(`${name}: ${error.message}`));
    await prepare?.(page);
    await page.goto(`${pages.url}/`);
    await page.waitForFunction(() => 'owt' in globalThis);
    return sdk;
  }

  /**
   * Runs a test with up to three SDK pages, closes them after, fails on any uncaught page error, and
   * adds what the portal refused and the pages' last console lines to a failure.
   */
  type Open = (name: string, prepare?: (page: Page) => Promise<void>) => Promise<SdkPage>;

  async function withPages(body: (open: Open) => Promise<void>): Promise<void> {
    const opened: SdkPage[] = [];
    try {
      await body(async (name, prepare) => {
        assert.ok(opened.length < 3, 'at most three pages at once');
        const sdk = await openSdkPage(name, prepare);
        opened.push(sdk);
        return sdk;
      });
      assert.deepEqual(opened.flatMap((sdk) => sdk.errors), []);
    } catch (error) {
      const lines = opened.flatMap((sdk) => [...sdk.errors, ...sdk.console.slice(-15)]);
      for (const sdk of opened) {
        const refused = await call(sdk, 'acks').then(
          (acks) => acks.filter((ack) => ack.status !== 'ok'),
          () => [],
        );
        for (const ack of refused) lines.push(`${sdk.name}: the portal answered ${ack.event} with ${ack.status} ${JSON.stringify(ack.data)}`);
      }
      if (error instanceof Error && lines.length > 0) error.message += `\n--- the pages said ---\n${lines.join('\n')}`;
      throw error;
    } finally {
      for (const sdk of opened) await sdk.context.close();
    }
  }

  async function join(sdk: SdkPage, room: string, role = 'presenter') {
    return call(sdk, 'join', await server.token(room, sdk.name, role));
  }

  /** A new room where the first page publishes and the second, joined after, receives the stream. */
  async function published(open: Open, roomName: string, [first, second]: [string, string], prepare?: (page: Page) => Promise<void>) {
    const room = (await server.management.createRoom(roomName))._id;
    const publisher = await open(first, prepare);
    await join(publisher, room);
    const stream = await call(publisher, 'publish');
    const subscriber = await open(second);
    await join(subscriber, room);
    await call(subscriber, 'subscribe', stream);
    await receiving(subscriber, stream);
    return { publisher, subscriber, stream };
  }

  test('a stream published with camera and microphone is found in room.streams by a later page, which subscribes and decodes it; media flows both ways', () =>
    withPages(async (open) => {
      const room = (await server.management.createRoom('both-ways'))._id;
      const alice = await open('alice');
      const { self: aliceId, streams: before } = await join(alice, room);
      assert.deepEqual(before, []);
      const aliceStream = await call(alice, 'publish');
      // `stream add` goes to everyone in the room, the publisher included.
      await waitFor('alice told of her own stream', hasEvent(alice, `streamadded@${aliceStream}`), mediaWait);

      const bob = await open('bob');
      const { streams } = await join(bob, room);
      assert.deepEqual(streams, [{ id: aliceStream, owner: aliceId, audio: true, video: true }]);
      await call(bob, 'subscribe', aliceStream);
      const bobReceived = await receiving(bob, aliceStream);

      const bobStream = await call(bob, 'publish');
      await waitFor('alice told of bob’s stream', hasEvent(alice, `streamadded@${bobStream}`), mediaWait);
      await call(alice, 'subscribe', bobStream);
      await receiving(alice, bobStream);
      // Bob's publish renegotiated the connection his subscription rides on; it still flows.
      await receiving(bob, aliceStream, ['audio', 'video'], bobReceived);
      for (const sdk of [alice, bob]) assert.deepEqual(await call(sdk, 'peerStates'), ['connecting', 'connected']);
    }));

  test('pausing and playing each track of a publication stops and resumes what its subscriber receives', () =>
    withPages(async (open) => {
      const { publisher: carol, subscriber: dave, stream } = await published(open, 'mute', ['carol', 'dave']);

      await call(carol, 'mute', 'video');
      await waitFor('carol’s publication muted', hasEvent(carol, 'publication-mute:video'), mediaWait);
      await stopped(dave, stream, 'video', 'audio');
      await call(carol, 'unmute', 'video');
      await waitFor('carol’s publication unmuted', hasEvent(carol, 'publication-unmute:video'), mediaWait);
      await receiving(dave, stream, ['video'], await call(dave, 'received', stream));

      await call(carol, 'mute', 'audio');
      await stopped(dave, stream, 'audio', 'video');
      await call(carol, 'unmute', 'audio');
      await receiving(dave, stream, ['audio'], await call(dave, 'received', stream));
    }));

  test('cutting the publisher’s Socket.IO connection does not interrupt the subscriber’s frames, and the SDK’s relogin resumes signaling', () =>
    withPages(async (open) => {
      let cut = false;
      const sockets: WebSocketRoute[] = [];
      const portalSocket = (url: URL) => url.port === portalPort;
      const routed = (page: Page) =>
        page.routeWebSocket(portalSocket, (socket) => {
          if (cut) {
            socket.close();
            return;
          }
          sockets.push(socket, socket.connectToServer());
        });
      const { publisher: erin, subscriber: frank, stream } = await published(open, 'cut', ['erin', 'frank'], routed);
      await waitFor('erin’s socket upgraded to a WebSocket', async () => {
        const transports = await call(erin, 'transports');
        return transports[0] === 'websocket' || JSON.stringify(transports);
      });

      // Down for as long as the test says: the WebSocket closed, new ones and long-polling refused.
      cut = true;
      const refuse = (url: URL) => portalSocket(url) && url.pathname.startsWith('/socket.io/');
      await erin.page.route(refuse, (route) => route.abort());
      for (const socket of sockets.splice(0)) await socket.close();
      await waitFor('erin’s SDK disconnected', async () => (await call(erin, 'transports'))[0] === 'disconnected', mediaWait);
      const atCut = await call(frank, 'received', stream);
      const whileCut = await receiving(frank, stream, ['audio', 'video'], atCut);
      assert.equal((await call(erin, 'transports'))[0], 'disconnected', 'the cut lasted while frank received');

      cut = false;
      await erin.page.unroute(refuse);
      await waitFor(
        'erin’s relogin',
        async () => {
          const relogins = (await call(erin, 'acks')).filter((ack) => ack.event === 'relogin');
          return relogins.some((ack) => ack.status === 'ok') || `relogin acks: ${JSON.stringify(relogins)}`;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      await call(erin, 'send', 'back again');
      await receiving(frank, stream, ['audio', 'video'], whileCut);

      for (const sdk of [erin, frank]) assert.deepEqual(await call(sdk, 'peerStates'), ['connecting', 'connected']);
      const ends = (events: string[]) => events.filter((event) => /ended|error/.test(event));
      assert.deepEqual(ends(await call(erin, 'events')), []);
      assert.deepEqual(ends(await call(frank, 'events')), []);
    }));

  test('unpublish, then leave, each end the stream at its subscriber', () =>
    withPages(async (open) => {
      const { publisher: grace, subscriber: heidi, stream: first } = await published(open, 'ends', ['grace', 'heidi']);

      await call(grace, 'unpublish');
      await waitFor('heidi told the first stream ended', hasEvent(heidi, `stream-ended@${first}`), mediaWait);
      await waitFor('heidi’s first subscription ended', hasEvent(heidi, `subscription-ended@${first}`), mediaWait);
      assert.deepEqual(await call(heidi, 'streams'), []);

      const second = await call(grace, 'publish');
      await waitFor('heidi told of the second stream', hasEvent(heidi, `streamadded@${second}`), mediaWait);
      await call(heidi, 'subscribe', second);
      await receiving(heidi, second);

      await call(grace, 'leave');
      await waitFor('heidi told the second stream ended', hasEvent(heidi, `stream-ended@${second}`), mediaWait);
      await waitFor('heidi’s second subscription ended', hasEvent(heidi, `subscription-ended@${second}`), mediaWait);
      assert.deepEqual(await call(heidi, 'streams'), []);
    }));

  test('a viewer’s publish is refused as unauthorized, and the viewer still subscribes', () =>
    withPages(async (open) => {
      const room = (await server.management.createRoom('viewers'))._id;
      const ivan = await open('ivan');
      await join(ivan, room);
      const stream = await call(ivan, 'publish');
      const judy = await open('judy');
      await join(judy, room, 'viewer');

      await assert.rejects(call(judy, 'publish'), /Failed to publish/);
      assert.deepEqual(
        (await call(judy, 'acks')).filter((ack) => ack.event === 'publish'),
        [{ event: 'publish', status: 'error', data: 'unauthorized' }],
      );
      // After a refused publish the SDK always sends its offer anyway, without a transport id, and
      // leaves the refusal of that soac unhandled in the page: that one uncaught error is the SDK's
      // own. The soac may still be on its way when the publish has been refused: wait for both.
      const soacRefusals = async () =>
        (await call(judy, 'acks')).filter((ack) => ack.event === 'soac' && ack.status === 'error').map((ack) => `judy: ${String(ack.data)}`);
      await waitFor('the SDK’s soac after the refusal to be refused', async () => (await soacRefusals()).length === 1 || 'not yet', mediaWait);
      const refused = await soacRefusals();
      await waitFor('the SDK’s unhandled soac refusal', () => refused.every((error) => judy.errors.includes(error)) || JSON.stringify(judy.errors), mediaWait);
      judy.errors = judy.errors.filter((error) => !refused.includes(error));

      await call(judy, 'subscribe', stream);
      await receiving(judy, stream);
      assert.deepEqual((await call(judy, 'streams')).map((info) => info.id), [stream]);
      const added = (await call(ivan, 'events')).filter((event) => event.startsWith('streamadded'));
      assert.deepEqual(added, [`streamadded@${stream}`]);
    }));
});
