/**
 * Property-based fuzzing of a running embedded server: random and mutated payloads at every socket
 * event, raw Socket.IO frames, and every REST route; then the server must still serve normally and
 * hold nothing for the clients that are gone. Each property runs for a bounded time, so the file
 * takes about a minute whatever the machine; a failure prints fast-check's seed and counterexample.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import { ClientStates } from '../../src/client/conference-client.js';
import { createMAuthHeader } from '../../src/management/index.js';
import { MediaClient } from '../support/media-client.js';
import { MediaPeer, openUdpSockets } from '../support/media-peer.js';
import { ask, rawSocket, userAgent } from '../support/raw-socket.js';
import { received, startTestServer, type JoinedClient, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const budget = { socketEvents: 22_000, rawFrames: 8_000, rest: 20_000 };

let t: TestServer;
/** Where the socket fuzzer's logins go. */
let socketRoom: string;
/** What the REST fuzzer may change or delete, with a participant in it. */
let restRoom: string;
let bystander: JoinedClient;
let victim: JoinedClient;
/** The victim's stream, for the streams routes to find. */
let victimStream: string;
/** Strings the fuzzer mutates: a genuine (used) token and a genuine ticket. */
let tokenTemplate: string;
let ticketTemplate: string;
let tenant: { serviceId: string; key: string };
let superService: { serviceId: string; key: string };

/** UDP sockets before the server started: the media plane must leave none open after its clients are gone. */
let udpBefore: number;

before(async () => {
  udpBefore = openUdpSockets();
  t = await startTestServer({
    // The fuzzer is one busy client; the limits have their own tests.
    portal: { eventsPerSecond: 100_000, loginAttemptsPerIpPerMinute: 1_000_000 },
    management: { authFailureDelay: 0, demo: true },
    webrtc: { portRange: '26000-26999' },
  });
  socketRoom = (await t.management.createRoom('socket fuzz'))._id;
  restRoom = (await t.management.createRoom('rest fuzz'))._id;
  bystander = await t.join({ user: 'bystander' });
  victim = await t.join({ user: 'victim', room: restRoom });
  ticketTemplate = victim.client.reconnectionTicket!;
  victimStream = (await new MediaClient(victim).publish(['audio'])).id;
  tokenTemplate = await t.token(socketRoom);
  const peer = new MediaPeer();
  peer.addSender('video');
  peer.addSender('audio');
  peer.addReceiver('video');
  offerTemplate = (await peer.offer()).sdp;
  await peer.close();
  superService = t.superService;
  tenant = (await t.tenant('fuzz-tenant')).credentials;
});
after(() => t.stop());

/** Stand for a fresh, valid token, a genuine ticket and a live participant's id; replaced when the case runs. */
const FRESH_TOKEN = '\u0000fresh-token';
const TICKET = '\u0000ticket';
const VICTIM = '\u0000victim';
/** The latest transport and session a media request was answered with, and a genuine offer. */
const TRANSPORT = '\u0000transport';
const SESSION = '\u0000session';
const OFFER = '\u0000offer';
let lastTransport = 'none';
let lastSession = 'none';
let offerTemplate = '';

async function materialise(value: unknown): Promise<unknown> {
  if (value === FRESH_TOKEN) return t.token(socketRoom);
  if (value === TICKET) return ticketTemplate;
  if (value === VICTIM) return victim.id;
  if (value === TRANSPORT) return lastTransport;
  if (value === SESSION) return lastSession;
  if (value === OFFER) return offerTemplate;
  if (Array.isArray(value)) return Promise.all(value.map(materialise));
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const entries = await Promise.all(Object.entries(value).map(async ([key, field]) => [key, await materialise(field)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}

// ---------------------------------------------------------------- arbitraries

const anything = fc.anything({ maxDepth: 3, maxKeys: 5, withNullPrototype: true });
const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

/** A genuine string, damaged: cut, a character changed, or something inserted. */
function mutated(template: () => string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat().map((at) => template().slice(0, at % (template().length + 1))),
    fc.tuple(fc.nat(), fc.char()).map(([at, char]) => {
      const text = template();
      const index = at % text.length;
      return text.slice(0, index) + char + text.slice(index + 1);
    }),
    fc.tuple(fc.nat(), fc.string({ maxLength: 40 })).map(([at, inserted]) => {
      const text = template();
      const index = at % (text.length + 1);
      return text.slice(0, index) + inserted + text.slice(index);
    }),
  );
}

/** A genuine base64 JSON object with one field replaced or added. */
function reshaped(template: () => string, fields: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...fields, 'extra', '__proto__'), anything).map(([field, value]) => {
    const decoded = JSON.parse(Buffer.from(template(), 'base64').toString()) as Record<string, unknown>;
    return base64Json({ ...decoded, [field]: value });
  });
}

const tokenArbitrary = fc.oneof(
  { weight: 2, arbitrary: fc.constant(FRESH_TOKEN) },
  mutated(() => tokenTemplate),
  reshaped(() => tokenTemplate, ['tokenId', 'host', 'secure', 'signature']),
  fc.string({ maxLength: 100 }),
  anything,
);

const ticketArbitrary = fc.oneof(
  mutated(() => ticketTemplate),
  reshaped(() => ticketTemplate, ['participantId', 'ticketId', 'notBefore', 'notAfter', 'signature']),
  fc.constant(TICKET),
  anything,
);

const userAgentArbitrary = fc.oneof(
  fc.constant(userAgent()),
  fc.record({ sdk: fc.record({ type: fc.constantFrom('JavaScript', 'C++', 'Python', ''), version: fc.oneof(fc.constant('3.5'), fc.string()) }) }),
  fc.record({ sdk: anything, os: anything, runtime: anything, capabilities: anything }, { requiredKeys: [] }),
  anything,
);

const loginArbitrary = fc.record(
  {
    token: tokenArbitrary,
    userAgent: userAgentArbitrary,
    protocol: fc.oneof(fc.constantFrom('1.0', '1.1', '1.2', '2.0'), anything),
    extra: anything,
  },
  { requiredKeys: [] },
);

const idLike = fc.oneof(fc.constantFrom('all', VICTIM, 'me'), fc.string({ maxLength: 30 }), anything);

const textArbitrary = fc.record(
  {
    to: idLike,
    message: fc.oneof(fc.string({ maxLength: 50 }), fc.string({ minLength: 2_040, maxLength: 2_060 }), anything),
    extra: anything,
  },
  { requiredKeys: [] },
);

const customMessageArbitrary = fc.record(
  { type: fc.oneof(fc.constant('data'), anything), receiver: idLike, data: fc.oneof(fc.string({ maxLength: 50 }), anything), extra: anything },
  { requiredKeys: [] },
);

const knownEvents = [
  'login', 'relogin', 'refreshReconnectionTicket', 'logout', 'text', 'customMessage',
  'publish', 'unpublish', 'subscribe', 'unsubscribe', 'soac', 'stream-control', 'subscription-control',
] as const;
/** Names socket.io-client itself refuses to emit. */
const reservedEvents = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

const kindArbitrary = fc.oneof(fc.constantFrom('audio', 'video'), anything);
/** Mids of the genuine offer, mostly, so that publications and subscriptions meet real m-lines. */
const midArbitrary = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('0', '1', '2') }, fc.string({ maxLength: 40 }), anything);
const transportArbitrary = fc.oneof(
  fc.record({ type: fc.constant('webrtc'), id: fc.oneof(fc.constant(TRANSPORT), fc.string({ maxLength: 20 }), fc.constant(null)) }, { requiredKeys: ['type'] }),
  anything,
);
const sessionIdArbitrary = fc.oneof({ weight: 2, arbitrary: fc.constant(SESSION) }, fc.string({ maxLength: 20 }), anything);

/** A genuine publish of the genuine offer's two sending m-lines, on a new transport or the latest one. */
const genuinePublish = fc.constantFrom(TRANSPORT, undefined).map((id) => ({
  media: { tracks: [{ type: 'video', mid: '0', source: 'camera' }, { type: 'audio', mid: '1', source: 'mic' }] },
  transport: id === undefined ? { type: 'webrtc' } : { type: 'webrtc', id },
}));

const publishArbitrary = fc.oneof(
  { weight: 2, arbitrary: genuinePublish },
  fc.record(
    {
      media: fc.record({
        tracks: fc.oneof(
          fc.array(fc.record({ type: kindArbitrary, mid: midArbitrary, source: fc.oneof(fc.constantFrom('mic', 'camera', 'screen-cast'), anything) }, { requiredKeys: ['type', 'mid', 'source'] }), { maxLength: 4 }),
          anything,
        ),
      }, { requiredKeys: [] }),
      attributes: anything,
      transport: transportArbitrary,
    },
    { requiredKeys: ['media'] },
  ),
);

const parametersArbitrary = fc.record(
  {
    resolution: fc.oneof(fc.record({ width: fc.integer({ min: -1, max: 5000 }), height: fc.integer({ min: -1, max: 5000 }) }), anything),
    framerate: fc.oneof(fc.integer({ min: 0, max: 120 }), anything),
    bitrate: fc.oneof(fc.constantFrom('x1.0', 'x0.5', 1), anything),
    keyFrameInterval: fc.oneof(fc.integer({ min: 0, max: 100 }), anything),
  },
  { requiredKeys: [] },
);

const subscribeArbitrary = fc.record(
  {
    media: fc.record({
      tracks: fc.oneof(
        fc.array(fc.record({ type: kindArbitrary, mid: midArbitrary, from: fc.oneof(fc.constant(SESSION), fc.string({ maxLength: 20 }), anything), parameters: parametersArbitrary, format: anything }, { requiredKeys: ['type', 'mid', 'from'] }), { maxLength: 3 }),
        anything,
      ),
    }, { requiredKeys: [] }),
    transport: transportArbitrary,
  },
  { requiredKeys: ['media'] },
);

const soacArbitrary = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ id: fc.constant(TRANSPORT), signaling: fc.record({ type: fc.constant('offer'), sdp: fc.oneof(fc.constant(OFFER), mutated(() => offerTemplate)) }) }),
  },
  fc.record(
  {
    id: fc.oneof({ weight: 3, arbitrary: fc.constant(TRANSPORT) }, fc.string({ maxLength: 20 }), anything),
    signaling: fc.oneof(
      fc.record({ type: fc.constant('offer'), sdp: fc.oneof({ weight: 2, arbitrary: fc.constant(OFFER) }, mutated(() => offerTemplate), fc.string({ maxLength: 200 }), anything) }),
      fc.record({
        type: fc.constant('candidate'),
        candidate: fc.record(
          {
            candidate: fc.oneof(fc.constant('a=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host'), fc.string({ maxLength: 100 }), anything),
            sdpMid: fc.oneof(fc.constant('0'), anything),
            sdpMLineIndex: fc.oneof(fc.integer({ min: -1, max: 5 }), anything),
          },
          { requiredKeys: [] },
        ),
      }),
      anything,
    ),
  },
  { requiredKeys: [] },
  ),
);

const avArbitrary = fc.oneof(fc.constantFrom('audio', 'video', 'av'), anything);
const streamControlArbitrary = fc.record(
  { id: sessionIdArbitrary, operation: fc.oneof(fc.constantFrom('pause', 'play', 'mix', 'unmix', 'set-region', 'get-region'), anything), data: avArbitrary },
  { requiredKeys: [] },
);
const subscriptionControlArbitrary = fc.record(
  {
    id: sessionIdArbitrary,
    operation: fc.oneof(fc.constantFrom('pause', 'play', 'update'), anything),
    data: fc.oneof(avArbitrary, fc.record({ audio: fc.record({ from: sessionIdArbitrary }), video: fc.record({ from: sessionIdArbitrary, parameters: parametersArbitrary }, { requiredKeys: [] }) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

const payloads = new Map<string, fc.Arbitrary<unknown>>([
  ['login', loginArbitrary],
  ['relogin', ticketArbitrary],
  ['text', textArbitrary],
  ['customMessage', customMessageArbitrary],
  ['publish', publishArbitrary],
  ['subscribe', subscribeArbitrary],
  ['unpublish', fc.record({ id: sessionIdArbitrary }, { requiredKeys: [] })],
  ['unsubscribe', fc.record({ id: sessionIdArbitrary }, { requiredKeys: [] })],
  ['soac', soacArbitrary],
  ['stream-control', streamControlArbitrary],
  ['subscription-control', subscriptionControlArbitrary],
]);
const payloadFor = (event: string) => payloads.get(event) ?? anything;

interface Step {
  event: string;
  args: unknown[];
  /** Whether the last argument is an ack function; otherwise the arguments go alone. */
  acknowledged: boolean;
}

const stepArbitrary: fc.Arbitrary<Step> = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom(...knownEvents) },
    fc.string({ maxLength: 20 }).filter((name) => !reservedEvents.has(name)),
  )
  .chain((event) =>
    fc.record({
      event: fc.constant(event),
      args: fc.oneof(
        { weight: 3, arbitrary: payloadFor(event).map((payload) => [payload]) },
        fc.array(anything, { maxLength: 3 }),
        fc.tuple(payloadFor(event), anything, anything),
      ),
      acknowledged: fc.boolean(),
    }),
  );

// ---------------------------------------------------------------- socket helpers

type Outcome = { kind: 'ack'; status: unknown; data: unknown } | { kind: 'disconnected' };

/**
 * Emits and waits for the ack or the socket's end; silence is a failure. An offer is answered once
 * the media node has negotiated it (the first one also loads the media library), so it gets longer.
 */
function answerOrDisconnect(socket: Socket, event: string, args: unknown[]): Promise<Outcome> {
  const patience = event === 'soac' ? t.server.config.webrtc.negotiationTimeout + t.server.config.portal.rpcTimeout : 3_000;
  return new Promise((resolve, reject) => {
    if (!socket.connected) {
      resolve({ kind: 'disconnected' });
      return;
    }
    const timer = setTimeout(() => reject(new Error(`no answer to "${event}" within ${patience} ms`)), patience);
    const onDisconnect = () => {
      clearTimeout(timer);
      resolve({ kind: 'disconnected' });
    };
    socket.once('disconnect', onDisconnect);
    socket.emit(event, ...args, (status: unknown, data: unknown) => {
      clearTimeout(timer);
      socket.off('disconnect', onDisconnect);
      resolve({ kind: 'ack', status, data });
    });
  });
}

/** Later steps reuse a session that a publish or subscribe created, so they reach it. */
function rememberSession(outcome: Outcome): void {
  if (outcome.kind !== 'ack' || outcome.status !== 'ok' || typeof outcome.data !== 'object' || outcome.data === null) return;
  const { id, transportId } = outcome.data as { id?: unknown; transportId?: unknown };
  if (typeof id === 'string' && typeof transportId === 'string') {
    lastSession = id;
    lastTransport = transportId;
  }
}

function assertWellFormed(outcome: Outcome, event: string): void {
  if (outcome.kind === 'disconnected') return;
  assert.ok(['ok', 'success', 'error'].includes(outcome.status as string), `"${event}" answered status ${String(outcome.status)}`);
  if (outcome.status === 'error') {
    assert.equal(typeof outcome.data, 'string', `"${event}" answered error without a message`);
    assert.ok((outcome.data as string).length > 0);
  }
}

async function loggedInSocket(): Promise<Socket> {
  const socket = await rawSocket(t.portalUrl);
  const answer = await ask(socket, 'login', { token: await t.token(socketRoom), userAgent: userAgent(), protocol: '1.2' });
  assert.equal(answer.status, 'ok', `login refused: ${String(answer.data)}`);
  return socket;
}

const fuzzOptions = (timeLimit: number) => ({
  numRuns: 1_000_000,
  interruptAfterTimeLimit: timeLimit,
  markInterruptAsFailure: false,
});

// ---------------------------------------------------------------- REST

const restRoutes = [
  ['POST', '/services'], ['GET', '/services'], ['GET', '/services/:id'], ['DELETE', '/services/:id'],
  ['POST', '/v1/rooms'], ['GET', '/v1/rooms'], ['GET', '/v1/rooms/:id'], ['PUT', '/v1/rooms/:id'], ['DELETE', '/v1/rooms/:id'],
  ['POST', '/v1/rooms/:id/tokens'], ['GET', '/v1/rooms/:id/participants'],
  ['GET', '/v1/rooms/:id/participants/:id'], ['PATCH', '/v1/rooms/:id/participants/:id'], ['DELETE', '/v1/rooms/:id/participants/:id'],
  ['GET', '/v1/cluster/workers'], ['GET', '/v1/cluster/rooms'], ['GET', '/v1/cluster/rooms/:id/participants'],
  ['DELETE', '/v1/cluster/rooms/:id/participants/:id'],
  ['GET', '/v1/rooms/:id/streams'], ['GET', '/v1/rooms/:id/streams/:id'], ['PATCH', '/v1/rooms/:id/streams/:id'],
  ['DELETE', '/v1/rooms/:id/streams/:id'], ['GET', '/v1.1/rooms/:id/streams'], ['PATCH', '/v1.1/rooms/:id/streams/:id'],
  ['GET', '/v1/cluster/rooms/:id/streams'], ['DELETE', '/v1/cluster/rooms/:id/streams/:id'],
  ['POST', '/v1/rooms/:id/streaming-ins'], ['GET', '/v1.1/rooms/:id/recordings/:id'], ['PATCH', '/v1/rooms/:id/sipcalls/:id'],
  ['DELETE', '/v1.1/rooms/:id/streaming-outs/:id'],
  ['GET', '/healthz'], ['GET', '/metrics'], ['GET', '/web/:id'], ['POST', '/demo/token'],
] as const;

/** Resources of OWT's API this server does not offer: 501 is their answer, in the API's format. */
const unsupported = /^\/v1(\.1)?\/rooms\/[^/]+\/(streaming-ins|streaming-outs|recordings|sipcalls)(\/|\?|$)/;

/** The web pages answer as pages (in tests they are not built: 503 and a hint), not in the API's format. */
const pagePaths = new Set(['/', '/admin']);

const pathParameter = fc.oneof(
  fc.constantFrom('ROOM', 'SUPER', 'TENANT', 'VICTIM', 'STREAM'),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom('..', '%zz', '%00', '%2F', 'a'.repeat(101), 'a'.repeat(200), '__proto__', 'constructor', 'ffffffffffffffffffffffff'),
);

const validishBodies = fc.oneof(
  fc.record({ name: fc.oneof(fc.string(), anything) }, { requiredKeys: [] }),
  fc.record(
    {
      name: fc.string({ maxLength: 20 }),
      options: fc.record(
        {
          participantLimit: fc.oneof(fc.integer({ min: -2, max: 5 }), anything),
          roles: fc.oneof(fc.array(fc.record({ role: fc.string({ maxLength: 10 }), publish: anything, subscribe: anything }, { requiredKeys: [] }), { maxLength: 3 }), anything),
          views: fc.oneof(fc.array(anything, { maxLength: 2 }), anything),
          notifying: anything,
          extra: anything,
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record({ user: fc.oneof(fc.string({ maxLength: 300 }), anything), role: fc.constantFrom('presenter', 'viewer', 'nobody'), preference: anything }, { requiredKeys: [] }),
  fc.array(
    fc.record({ op: fc.constantFrom('replace', 'add', 'remove'), path: fc.constantFrom('/permission/publish', '/permission/subscribe/audio', '/permission', '/x'), value: anything }, { requiredKeys: [] }),
    { maxLength: 3 },
  ),
  fc.array(
    fc.record(
      {
        op: fc.constantFrom('replace', 'add', 'remove'),
        path: fc.constantFrom('/media/audio/status', '/media/video/status', '/info/inViews', '/info/layout/0/stream', '/media'),
        value: fc.oneof(fc.constantFrom('active', 'inactive'), anything),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
);

const restCase = fc.record({
  route: fc.constantFrom(...restRoutes),
  parameters: fc.tuple(pathParameter, pathParameter),
  query: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined }),
  body: fc.option(
    fc.oneof(
      { weight: 3, arbitrary: validishBodies.map((body) => JSON.stringify(body)) },
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 100 }),
    ),
    { nil: undefined },
  ),
  contentType: fc.constantFrom(undefined, 'application/json', 'text/plain;charset=UTF-8', 'application/xml', 'application/json; charset=utf-8'),
  auth: fc.constantFrom('super', 'super', 'super', 'tenant', 'none', 'garbage', 'wrong key', 'stale'),
});

type RestCase = typeof restCase extends fc.Arbitrary<infer T> ? T : never;

function authorizationFor(auth: RestCase['auth']): string | undefined {
  switch (auth) {
    case 'super':
      return createMAuthHeader(superService);
    case 'tenant':
      return createMAuthHeader(tenant);
    case 'wrong key':
      return createMAuthHeader({ ...superService, key: 'not-the-key' });
    case 'stale':
      return createMAuthHeader({ ...superService, timestamp: Date.now() - 3_600_000 });
    case 'garbage':
      return 'MAuth realm=x,mauth_signature_method=HMAC_SHA256,mauth_serviceid=,mauth_timestamp=abc';
    case 'none':
      return undefined;
  }
}

async function send(restCaseValue: RestCase): Promise<{ label: string; status: number; text: string; page: boolean; unsupported: boolean }> {
  const [method, template] = restCaseValue.route;
  const real: Record<string, string> = {
    ROOM: restRoom,
    SUPER: superService.serviceId,
    TENANT: tenant.serviceId,
    VICTIM: victim.id,
    STREAM: victimStream,
  };
  let index = 0;
  let path: string = template.replace(/:id/g, () => {
    const parameter = restCaseValue.parameters[index++]!;
    return real[parameter] ?? parameter;
  });
  if (restCaseValue.query) path += `?${new URLSearchParams(restCaseValue.query)}`;
  const headers: Record<string, string> = {};
  const authorization = authorizationFor(restCaseValue.auth);
  if (authorization) headers['authorization'] = authorization;
  if (restCaseValue.contentType) headers['content-type'] = restCaseValue.contentType;
  const withBody = restCaseValue.body !== undefined && method !== 'GET';
  const response = await fetch(`http://127.0.0.1:${t.server.management.port}${path}`, {
    method,
    headers,
    body: withBody ? restCaseValue.body! : null,
  });
  const { pathname } = new URL(response.url);
  const page = pagePaths.has(pathname);
  return { label: `${method} ${path}`, status: response.status, text: await response.text(), page, unsupported: unsupported.test(pathname) };
}

// ---------------------------------------------------------------- the tests

describe('fuzzing', () => {
  test('every socket event answers random and mutated payloads with ok/error or a disconnect, never silence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.boolean(), fc.array(stepArbitrary, { minLength: 1, maxLength: 6 }), async (startLoggedIn, publishing, steps) => {
        const socket = startLoggedIn ? await loggedInSocket() : await rawSocket(t.portalUrl);
        try {
          // A session of this very participant, so that the steps reach its transport and its streams.
          if (startLoggedIn && publishing) {
            const published = await answerOrDisconnect(socket, 'publish', [await materialise(fc.sample(genuinePublish, 1)[0])]);
            rememberSession(published);
          }
          for (const step of steps) {
            const args = (await materialise(step.args)) as unknown[];
            if (!step.acknowledged) {
              socket.emit(step.event, ...args);
              continue;
            }
            const outcome = await answerOrDisconnect(socket, step.event, args);
            assertWellFormed(outcome, step.event);
            if (outcome.kind === 'disconnected') break;
            rememberSession(outcome);
          }
          // Whatever came before, the connection still answers (or has been closed).
          assertWellFormed(await answerOrDisconnect(socket, 'refreshReconnectionTicket', []), 'refreshReconnectionTicket');
        } finally {
          socket.close();
        }
      }),
      fuzzOptions(budget.socketEvents),
    );
  });

  test('raw Socket.IO frames, malformed or not, at most close their own connection', async () => {
    const frame = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.tuple(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '42', '43', '451-', '21', '2/other,'), fc.string({ maxLength: 60 })).map(([prefix, rest]) => prefix + rest),
      fc.tuple(fc.constantFrom('2', '21', '3', '4', '0', '51-'), fc.jsonValue({ maxDepth: 3 })).map(([prefix, value]) => prefix + JSON.stringify(value)),
      fc.tuple(fc.constantFrom(...knownEvents), fc.jsonValue({ maxDepth: 2 })).map(([event, value]) => `2${JSON.stringify([event, value])}`),
    // A DISCONNECT packet of the main namespace is the client leaving on purpose: rightly, nothing
    // more is said on that socket. The namespace is "/" when none is named ("1…") or when it is
    // named "/" ("1/" alone, or "1/," and whatever trails it).
    ).filter((text) => !/^1(?!\/)|^1\/(,|$)/.test(text));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 4 }), async (startLoggedIn, frames) => {
        const socket = startLoggedIn ? await loggedInSocket() : await rawSocket(t.portalUrl);
        try {
          for (const text of frames) socket.io.engine.write(text);
          assertWellFormed(await answerOrDisconnect(socket, 'logout', []), 'logout');
        } finally {
          socket.close();
        }
      }),
      fuzzOptions(budget.rawFrames),
    );
    assert.equal(bystander.client.state, ClientStates.connected);
  });

  test('every REST route answers random and mutated requests with a status below 500 and the API error format', async () => {
    await fc.assert(
      fc.asyncProperty(restCase, async (restCaseValue) => {
        const { label, status, text, page, unsupported } = await send(restCaseValue);
        if (page) return;
        assert.ok(status < 500 || (unsupported && status === 501), `${label} answered ${status}: ${text}`);
        if (status >= 400 && !label.includes('/web/')) {
          const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
          assert.equal(typeof body.error?.code, 'number', `${label}: ${text}`);
          assert.equal(typeof body.error?.message, 'string', `${label}: ${text}`);
        }
      }),
      fuzzOptions(budget.rest),
    );
  });

  test('afterwards the server still serves a normal login, text and relogin, and the bystander was never disturbed', async () => {
    assert.equal(bystander.client.state, ClientStates.connected);
    const alice = await t.join({ user: 'alice' });
    await alice.client.send('all', 'after the storm');
    const seen = await received(bystander.notifications, 'text');
    assert.ok(seen.some((notification) => (notification.data as { message: string }).message === 'after the storm'));
    alice.client.socket.io.engine.close();
    await waitFor('alice to resume', () => alice.client.state === ClientStates.resumed || alice.client.state);
    await alice.client.send('all', 'resumed');
    await alice.client.leave();
  });

  test('afterwards no participant or task is left but the bystander', async () => {
    victim.client.close();
    await MediaPeer.closeAll();
    const portal = t.server.portal;
    const bystanderCode = portal.registry.get(bystander.id)!.tokenCode;
    const settle = { timeoutMs: 8_000, intervalMs: 50 };
    await waitFor('the portal to hold only the bystander', () => {
      const ids = portal.registry.all().map((session) => session.participantId);
      return (ids.length === 1 && ids[0] === bystander.id) || `registry holds ${ids.length}`;
    }, settle);
    assert.deepEqual(portal.tasks, [bystanderCode]);
    await waitFor('the manager to see the portal holding only the bystander', () => {
      const tasks = t.server.manager.getWorkers('portal').flatMap((worker) => worker.tasks);
      return (tasks.length === 1 && tasks[0] === bystanderCode) || `portal tasks ${tasks.length}`;
    }, settle);
    const sample = await t.management.getParticipants(t.sampleRoom);
    assert.deepEqual(sample.map((participant) => participant.id), [bystander.id]);
    await waitFor('the fuzzed rooms to be empty and given up', async () => {
      const rooms = t.server.agent.nodes.snapshot().flatMap((node) => node.tasks);
      return (rooms.length === 1 && rooms[0] === t.sampleRoom) || `agent tasks ${JSON.stringify(rooms)}`;
    }, settle);
    assert.deepEqual([...t.server.agent.worker.tasks], [t.sampleRoom]);
    await waitFor('every webrtc node to give its room up', () => {
      const busy = t.server.webrtcAgent.nodes.snapshot().filter((node) => node.room !== null);
      return busy.length === 0 || `busy: ${JSON.stringify(busy)}`;
    }, settle);
    assert.deepEqual([...t.server.webrtcAgent.worker.tasks], []);
    await waitFor('every UDP socket to close', () => openUdpSockets() === udpBefore || `${openUdpSockets() - udpBefore} open`, settle);
  });
});
