import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTER_EVENTS, type ClusterEvent } from '../../src/cluster/api.js';
import { ConferenceErrors, type HandedOver } from '../../src/conference/index.js';
import { waitFor } from '../support/wait.js';
import { participant, startConferenceHarness, type ConferenceHarness, type Recorder } from '../support/conference.js';

const RECONNECTION_TIMEOUT = 300;

const text = (message: string, seq: number, confirmed = false, to = 'me'): HandedOver =>
  ({ event: 'text', data: { from: 'stays', to, message }, seq, confirmed });

describe('conference node: participants whose portal is gone or who move (cluster mode)', () => {
  let h: ConferenceHarness;
  let portalA: Recorder;
  let portalB: Recorder;

  beforeEach(async () => {
    // The node believes it runs in cluster mode (the bus it is given stays in-process).
    h = await startConferenceHarness({
      bus: { type: 'amqp' },
      portal: { reconnectionTimeout: RECONNECTION_TIMEOUT, messageBufferSize: 5 },
      // How often the node asks whether a portal it could not reach serves again.
      cluster: { checkPeriod: 50 },
    });
    portalA = await h.portal('portal-a');
    portalB = await h.portal('portal-b');
    await h.createRoom('room-1');
    // Numbered 1 and 2: the joins.
    await h.rpc.call('join', ['room-1', participant('stays', { portal: 'portal-b' })]);
    await h.rpc.call('join', ['room-1', participant('moves', { portal: 'portal-a' })]);
    await portalB.waitForCalls(1);
    portalA.calls.length = 0;
    portalB.calls.length = 0;
  });
  afterEach(() => h.close());

  const quit = (id: string) =>
    h.bus.publish(CLUSTER_EVENTS, { type: 'worker-quit', purpose: 'portal', id } satisfies ClusterEvent);
  const confirm = (portal: string, upTo: number, away: Array<[string, number]> = []) =>
    h.rpc.call('confirm', ['room-1', portal, upTo, away]);

  it('holds what a participant misses after its portal quit and hands it over, numbered, on resume elsewhere', async () => {
    quit('portal-a');
    await new Promise((resolve) => setImmediate(resolve));
    await h.rpc.call('text', ['stays', 'moves', 'one']);
    await h.rpc.call('text', ['stays', 'all', 'two']);
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), [text('one', 3), text('two', 4, false, 'all')]);
    assert.deepEqual(portalA.argsOf('notify'), [], 'nothing went to the portal that quit');
    await h.rpc.call('text', ['stays', 'moves', 'three']);
    await portalB.waitForCalls(1, 'notify');
    assert.deepEqual(portalB.argsOf('notify'), [['moves', 'text', { from: 'stays', to: 'me', message: 'three' }, 5]]);
    assert.equal((await h.rpc.call('getParticipant', ['room-1', 'moves'])).portal, 'portal-b');
  });

  it('what a portal took but never confirmed is handed over, though no delivery failed and nobody said it died', async () => {
    await h.rpc.call('text', ['stays', 'moves', 'one']);
    await portalA.waitForCalls(1, 'notify');
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), [text('one', 3)]);
  });

  it('what its portal confirmed is handed over marked confirmed, for a client that replays; an away participant is confirmed only up to what it was sent', async () => {
    await h.rpc.call('text', ['stays', 'moves', 'one']);
    await h.rpc.call('text', ['stays', 'moves', 'two']);
    await h.rpc.call('text', ['stays', 'moves', 'three']);
    await confirm('portal-a', 5, [['moves', 4]]);
    // Another portal's word about its own participants changes nothing for this one.
    await confirm('portal-b', 5);
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), [text('one', 3, true), text('two', 4, true), text('three', 5)]);
  });

  it('what a portal that stopped serving never took is handed over on a resume elsewhere', async () => {
    await h.killPortal('portal-a');
    await h.rpc.call('text', ['stays', 'moves', 'lost in transit']);
    // Nothing outside the node shows that the failed delivery came back; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.rpc.call('text', ['stays', 'moves', 'after']);
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), [text('lost in transit', 3), text('after', 4)]);
  });

  it('a portal that stopped serving for a while (a broker outage) gets what it missed once it serves again, in order, and keeps its participants', async () => {
    await h.killPortal('portal-a');
    await h.rpc.call('text', ['stays', 'moves', 'one']);
    await h.rpc.call('text', ['stays', 'all', 'two']);
    await h.rpc.call('text', ['stays', 'moves', 'three']);
    assert.equal(portalA.calls.length, 0, 'nothing reaches a portal that does not serve');
    await h.portal('portal-a');
    await portalA.waitForCalls(3);
    await h.rpc.call('text', ['stays', 'moves', 'four']);
    await portalA.waitForCalls(4);
    assert.deepEqual(
      portalA.calls.map(({ method, args }) => [method, args.at(-1)]),
      [['notify', 3], ['broadcast', 4], ['notify', 5], ['notify', 6]],
    );
    assert.deepEqual(portalA.argsOf('broadcast'), [['room-1', [], 'text', { from: 'stays', to: 'all', message: 'two' }, 4]]);
    await new Promise((resolve) => setTimeout(resolve, RECONNECTION_TIMEOUT * 2));
    assert.equal((await h.rpc.call('getParticipant', ['room-1', 'moves'])).portal, 'portal-a');
    assert.deepEqual(portalA.argsOf('drop'), []);
  });

  it('a broadcast a portal missed does not reach, on its return, those who joined there after it', async () => {
    await h.killPortal('portal-a');
    await h.rpc.call('text', ['stays', 'all', 'before the newcomer']);
    await h.rpc.call('join', ['room-1', participant('newcomer', { portal: 'portal-a' })]);
    await h.portal('portal-a');
    await portalA.waitForCalls(2, 'broadcast');
    assert.deepEqual(portalA.argsOf('broadcast'), [
      ['room-1', ['newcomer'], 'text', { from: 'stays', to: 'all', message: 'before the newcomer' }, 3],
      ['room-1', ['newcomer'], 'participant', { action: 'join', data: { id: 'newcomer', user: 'user-newcomer', role: 'presenter' } }, 4],
    ]);
  });

  it('a participant whose portal, away, misses more than the log holds is dropped when the portal is back', async () => {
    await h.killPortal('portal-a');
    for (let index = 0; index < 6; index++) await h.rpc.call('text', ['stays', 'moves', `m${index}`]);
    await h.portal('portal-a');
    await portalA.waitForCalls(1, 'drop');
    assert.deepEqual(portalA.argsOf('drop'), [['moves']]);
    assert.deepEqual(portalA.argsOf('notify'), [], 'nothing of a record with a hole in it');
    await assert.rejects(h.rpc.call('getParticipant', ['room-1', 'moves']), { message: ConferenceErrors.participantNotFound });
  });

  /** Serves portal A again with a first notification it never answers (its queue went down with it), recording the rest. */
  async function portalLosingFirstNotification(): Promise<{ taken: number[]; dropped: string[]; close(): Promise<void> }> {
    await h.killPortal('portal-a');
    const taken: number[] = [];
    const dropped: string[] = [];
    let first = true;
    const served = await h.bus.serve('portal-a', {
      notify: (...args: unknown[]) => {
        if (first) {
          first = false;
          return new Promise(() => undefined);
        }
        taken.push(args.at(-1) as number);
      },
      broadcast: (...args: unknown[]) => void taken.push(args.at(-1) as number),
      drop: (participantId: string) => void dropped.push(participantId),
      release: () => undefined,
    });
    return { taken, dropped, close: () => served.close() };
  }

  it('a participant whose portal took a newer notification before an older one was known lost is dropped, never sent it out of order', async () => {
    const portal = await portalLosingFirstNotification();
    try {
      await h.rpc.call('text', ['stays', 'moves', 'lost']);
      await h.rpc.call('text', ['stays', 'moves', 'newer']);
      await waitFor('the participant to be given up', () => portal.dropped.length > 0 || `took ${JSON.stringify(portal.taken)}`);
      assert.deepEqual(portal.taken, [4]);
      assert.deepEqual(portal.dropped, ['moves']);
      await assert.rejects(h.rpc.call('getParticipant', ['room-1', 'moves']), { message: ConferenceErrors.participantNotFound });
    } finally {
      await portal.close();
    }
  });

  it('a room closed while a delivery is pending starts no catch-up when it fails', async () => {
    const portal = await portalLosingFirstNotification();
    try {
      await h.rpc.call('text', ['stays', 'moves', 'pending']);
      await h.node.close();
      await sleep(RECONNECTION_TIMEOUT * 2);
      assert.deepEqual(portal.taken, []);
      assert.deepEqual(portal.dropped, []);
    } finally {
      await portal.close();
    }
  });

  it('a participant that resumed on a portal still behind is not sent again what its previous portal confirmed', async () => {
    await h.killPortal('portal-a');
    await h.rpc.call('text', ['stays', 'moves', 'one']);
    await h.rpc.call('text', ['stays', 'all', 'two']);
    await portalB.waitForCalls(1, 'broadcast');
    await confirm('portal-b', 4);
    await h.rpc.call('resume', ['stays', 'portal-a']);
    await h.portal('portal-a');
    await portalA.waitForCalls(2);
    const [two] = portalA.argsOf('broadcast');
    assert.equal(two!.at(-1), 4);
    assert.ok((two![1] as string[]).includes('stays'), 'the broadcast excludes who already has it');
  });

  it('a participant that already missed more than the log holds, then misses more while its portal is behind, is dropped when the portal is back', async () => {
    for (let index = 0; index < 6; index++) await h.rpc.call('text', ['stays', 'moves', `a${index}`]);
    await portalA.waitForCalls(6);
    await h.killPortal('portal-a');
    portalA.calls.length = 0;
    for (let index = 0; index < 7; index++) await h.rpc.call('text', ['stays', 'moves', `b${index}`]);
    await h.portal('portal-a');
    await portalA.waitForCalls(1, 'drop');
    assert.deepEqual(portalA.argsOf('drop'), [['moves']]);
    assert.deepEqual(portalA.argsOf('notify'), [], 'nothing of a record with a hole in it');
  });

  it('a participant not resumed within the reconnection timeout leaves and the others are told', async () => {
    quit('portal-a');
    const [leave] = await portalB.waitForCalls(1, 'broadcast');
    assert.deepEqual(leave!.args, ['room-1', ['moves'], 'participant', { action: 'leave', data: 'moves' }, 3]);
    await assert.rejects(h.rpc.call('resume', ['moves', 'portal-b']), { message: ConferenceErrors.notJoined });
  });

  it('a portal that only looked gone (a broker blip) is told to drop the participant it gave up', async () => {
    quit('portal-a');
    await portalA.waitForCalls(1, 'drop');
    assert.deepEqual(portalA.argsOf('drop'), [['moves']]);
  });

  it('a participant whose portal is gone and that misses more than the log holds is given up at once', async () => {
    quit('portal-a');
    await new Promise((resolve) => setImmediate(resolve));
    for (let index = 0; index < 6; index++) await h.rpc.call('text', ['stays', 'moves', `m${index}`]);
    await portalB.waitForCalls(1, 'broadcast');
    await assert.rejects(h.rpc.call('resume', ['moves', 'portal-b']), { message: ConferenceErrors.notJoined });
  });

  it('a participant that missed more than the log holds cannot move while its portal lives, and stays where it is', async () => {
    for (let index = 0; index < 6; index++) await h.rpc.call('text', ['stays', 'moves', `m${index}`]);
    await assert.rejects(h.rpc.call('resume', ['moves', 'portal-b']), { message: ConferenceErrors.resumeIncomplete });
    assert.equal((await h.rpc.call('getParticipant', ['room-1', 'moves'])).portal, 'portal-a');
  });

  it('confirmed notifications leave the log, so a confirming portal never runs it over', async () => {
    for (let index = 0; index < 12; index++) {
      await h.rpc.call('text', ['stays', 'moves', `m${index}`]);
      await confirm('portal-a', 3 + index);
      await confirm('portal-b', 3 + index);
    }
    const handed = await h.rpc.call('resume', ['moves', 'portal-b']);
    assert.deepEqual(handed.map(({ seq }) => seq), [10, 11, 12, 13, 14], 'the last five, confirmed, for a replay');
    assert.ok(handed.every(({ confirmed }) => confirmed));
  });

  it('a resume while the old portal is alive moves the participant and tells the old portal to release it', async () => {
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), []);
    await portalA.waitForCalls(1, 'release');
    assert.deepEqual(portalA.argsOf('release'), [['moves']]);
    // The old portal's leave arrives late and is ignored: the participant lives on portal B now.
    await h.rpc.call('leave', ['moves', 'portal-a']);
    assert.equal((await h.rpc.call('getParticipant', ['room-1', 'moves'])).portal, 'portal-b');
    await h.rpc.call('leave', ['moves', 'portal-b']);
    await assert.rejects(h.rpc.call('getParticipant', ['room-1', 'moves']), { message: ConferenceErrors.participantNotFound });
  });

  it('a broadcast goes to the portals that hold a live participant of the room, following those who move or whose portal goes', async () => {
    const portalC = await h.portal('portal-c');
    // Moved while portal A lives: A holds nobody of the room now, and C holds 'moves' alone.
    await h.rpc.call('resume', ['moves', 'portal-c']);
    await h.rpc.call('text', ['stays', 'all', 'one']);
    await portalB.waitForCalls(1, 'broadcast');
    await portalC.waitForCalls(1, 'broadcast');
    assert.deepEqual(portalA.argsOf('broadcast'), []);
    // Portal C is gone: 'moves' waits for a resume, and C gets nothing meanwhile.
    quit('portal-c');
    await new Promise((resolve) => setImmediate(resolve));
    await h.rpc.call('text', ['stays', 'all', 'two']);
    await portalB.waitForCalls(2, 'broadcast');
    assert.equal(portalC.argsOf('broadcast').length, 1);
    // It resumes on A, alone there again.
    await h.rpc.call('resume', ['moves', 'portal-a']);
    await h.rpc.call('text', ['stays', 'all', 'three']);
    await portalB.waitForCalls(3, 'broadcast');
    const [[, exclude, event, data]] = (await portalA.waitForCalls(1, 'broadcast')).map((call) => call.args);
    assert.deepEqual([exclude, event, data], [[], 'text', { from: 'stays', to: 'all', message: 'three' }]);
  });

  it('a malformed confirmation is refused and changes nothing', async () => {
    await h.rpc.call('text', ['stays', 'moves', 'one']);
    await assert.rejects(h.rpc.call('confirm', ['room-1', 'portal-a', -1, []]), /upTo must be a non-negative integer/);
    await assert.rejects(h.rpc.call('confirm', ['room-1', 'portal-a', 3, [['moves']] as never]), /away must be a list/);
    assert.deepEqual(await h.rpc.call('resume', ['moves', 'portal-b']), [text('one', 3)]);
  });
});
