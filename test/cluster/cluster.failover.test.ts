/**
 * Each fault of a cluster of real processes, most of them while the room talks: one sender says
 * something every 50 ms and every participant counts what reached its application, logins keep
 * coming. What a text was acknowledged for must reach everyone: for native 1.2 clients exactly
 * once and in order, for the JavaScript SDK at least. The figures go to the test's diagnostics.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ask, rawSocket } from '../support/raw-socket.js';
import { isRunning } from '../support/processes.js';
import {
  clusterTest,
  clusterTimers,
  notified,
  portalUrlOf,
  slow,
  type Participant,
  type ProcessCluster,
} from '../support/process-cluster.js';
import { Logins, members, tallies, Traffic } from '../support/traffic.js';
import { waitFor } from '../support/wait.js';

const reconnectionTimeout = Number(clusterTimers.PORTAL__RECONNECTION_TIMEOUT);
/** How long the manager takes to give up on a silent worker. */
const workerDeathNoticed = Number(clusterTimers.CLUSTER__CHECK_PERIOD) * (Number(clusterTimers.CLUSTER__CHECK_ALIVE_COUNT) + 1);

const leftEvent = (id: string) => (data: unknown) => JSON.stringify(data) === JSON.stringify({ action: 'leave', data: id });
const rabbitmqctl = (command: string) => promisify(execFile)('rabbitmqctl', [command], { timeout: 60_000 });

async function participantsOf(cluster: ProcessCluster): Promise<string[]> {
  return (await cluster.management.getParticipants(await cluster.sampleRoom())).map(({ user }) => user).sort();
}

/** After losing its controller: both got `drop`, and a new join gets the room afresh. */
async function assertRoomScheduledAgain(cluster: ProcessCluster, dropped: Participant[]): Promise<Participant> {
  for (const participant of dropped) {
    await notified(participant, 'drop');
    await waitFor(`${participant.user}'s client to be dropped`, () => participant.client.state === 'dropped' || participant.client.state);
  }
  const carol = await cluster.join('carol');
  assert.deepEqual(await participantsOf(cluster), ['carol']);
  await carol.client.send('all', 'still here');
  await notified(carol, 'text', (data) => (data as { message?: string }).message === 'still here');
  return carol;
}

describe('cluster mode: faults survived', () => {
  clusterTest('kill -9 of a conference node drops its participants, and the room is scheduled again', async (cluster) => {
    await cluster.start({ portals: 1, agents: 1 });
    const room = await cluster.sampleRoom();
    const participants = [await cluster.join('alice'), await cluster.join('bob')];
    const lost = await cluster.nodeOf(room);
    process.kill(lost.process.pid, 'SIGKILL');

    await assertRoomScheduledAgain(cluster, participants);
    const again = await cluster.nodeOf(room);
    assert.notEqual(again.node, lost.node);
    assert.equal(again.agent, lost.agent);
  });

  clusterTest('kill -9 of a conference agent: its participants are dropped, its nodes die with it at once, and logins made meanwhile all succeed on the live agent', async (cluster, t) => {
    await cluster.start({ portals: 1, agents: 2 });
    const room = await cluster.sampleRoom();
    const other = (await cluster.management.createRoom('other room'))._id;
    const participants = [await cluster.join('alice'), await cluster.join('bob')];
    const lost = await cluster.nodeOf(room);
    const logins = new Logins(cluster, [room, other]);
    await waitFor('a few logins', () => logins.succeeded >= 4 || `${logins.succeeded} so far`, slow);
    process.kill(lost.agent.pid, 'SIGKILL');
    await lost.agent.exited;
    const agentGoneAt = Date.now();

    await waitFor('the dead agent\'s node process to exit', async () => !(await isRunning(lost.process.pid)), slow);
    const nodeOutlived = Date.now() - agentGoneAt;
    for (const participant of participants) await notified(participant, 'drop');
    const before = logins.succeeded;
    await waitFor('logins to go on after the kill', () => logins.succeeded >= before + 10 || `${logins.succeeded - before} since`, slow);
    await logins.stop();

    t.diagnostic(`node gone ${nodeOutlived} ms after its agent; ${logins.succeeded} logins, ${logins.failures.length} failed, the slowest took ${logins.slowestMs} ms`);
    assert.deepEqual(logins.failures, []);
    const again = await cluster.nodeOf(room);
    assert.notEqual(again.agent, lost.agent);
    await cluster.untilWorkersJoined([...cluster.portals, again.agent]);
  });

  clusterTest('kill -9 of a portal: tokens name only the live one at once, its participants leave the room after the reconnection timeout, and the others are told', async (cluster) => {
    await cluster.start({ portals: 2, agents: 1 });
    const alice = await cluster.join('alice');
    const bob = await cluster.join('bob');
    assert.notEqual(alice.portalUrl, bob.portalUrl);
    const portalOfAlice = cluster.portals.find(({ url }) => url === alice.portalUrl)!;

    await portalOfAlice.kill();
    const killedAt = Date.now();
    const room = await cluster.sampleRoom();
    const tokens = [];
    for (let index = 0; index < 4; index++) tokens.push(await cluster.management.createToken(room, `user-${index}`, 'presenter'));
    assert.deepEqual(new Set(tokens.map(portalUrlOf)), new Set([bob.portalUrl]));
    await notified(bob, 'participant', leftEvent(alice.id));
    assert.ok(Date.now() - killedAt >= reconnectionTimeout, 'alice was kept for a resume until the reconnection timeout');
    assert.deepEqual(await participantsOf(cluster), ['bob']);
    const late = await rawSocket(bob.portalUrl);
    try {
      assert.deepEqual(await ask(late, 'relogin', alice.client.reconnectionTicket), { status: 'error', data: 'Client does NOT exist' });
    } finally {
      late.close();
    }
  });

  clusterTest('kill -9 of a portal while the room talks: its participants resume on the other one, nobody sees them leave, and every acknowledged text reaches everyone once and in order', async (cluster, t) => {
    await cluster.start({ portals: 2, agents: 1 });
    const room = await cluster.sampleRoom();
    const joined = await members(cluster, room, 8);
    const [dying, surviving] = cluster.portals;
    const moving = joined.filter(({ url }) => url === dying!.url).map(({ member }) => member);
    const staying = joined.filter(({ url }) => url === surviving!.url).map(({ member }) => member);
    assert.equal(moving.length, 4);
    const traffic = new Traffic(staying[0]!);
    await traffic.more(10);

    await dying!.kill();
    const killedAt = Date.now();
    await waitFor('the dead portal\'s participants to resume on the other one', () =>
      moving.every(({ portal, resumes, failure }) => portal === surviving!.url && resumes.length > 0 && !failure)
      || JSON.stringify(moving.map(({ portal, resumes, failure }) => ({ portal, resumes: resumes.length, failure }))), slow);
    const resumedIn = Math.max(...moving.map(({ resumes }) => resumes.at(-1)!.at)) - killedAt;
    await traffic.more(20);
    await traffic.stop();

    const everyone = joined.map(({ member }) => member);
    const counted = await tallies(everyone, traffic.acked);
    t.diagnostic(`${traffic.acked.length} texts acknowledged (${traffic.failures} refused); ${moving.length} participants resumed within ${resumedIn} ms of the kill; native 1.2: ${JSON.stringify(counted.native)}, JavaScript SDK: ${JSON.stringify(counted.javascript)}`);
    assert.deepEqual(counted.native, { lost: 0, duplicated: 0, reordered: 0 });
    assert.equal(counted.javascript.lost, 0);
    // Nothing to wait for: a leave, if any, would come once the dead portal is noticed and the
    // reconnection timeout has run out.
    await sleep(Math.max(0, killedAt + workerDeathNoticed + reconnectionTimeout + 1_000 - Date.now()));
    const left = everyone.flatMap(({ notifications }) => notifications.filter(({ event, data }) =>
      event === 'participant' && moving.some(({ id }) => leftEvent(id)(data))));
    assert.deepEqual(left, []);
    assert.deepEqual(everyone.filter(({ dropped }) => dropped).map(({ user }) => user), []);
    assert.equal((await cluster.management.getParticipants(room)).length, everyone.length, 'nobody left the room');
  });

  clusterTest('stopping the active manager: the standby takes over, workers re-join with their tasks, logins keep working', async (cluster) => {
    await cluster.start({ managers: 2, portals: 1, agents: 1 });
    const [active, standby] = cluster.processes.filter(({ component }) => component === 'cluster-manager');
    assert.doesNotMatch(standby!.output, /cluster manager: active/);
    const room = await cluster.sampleRoom();
    const alice = await cluster.join('alice');

    assert.equal(await active!.stop(), 0);
    await standby!.printed(/cluster manager: active/);
    await cluster.untilWorkersJoined();
    await waitFor('the workers to have re-sent their tasks to the new manager', async () => {
      const workers = await cluster.workers();
      const tasks = Object.fromEntries(workers.map(({ purpose, tasks: held }) => [purpose, held.length]));
      const agentHoldsRoom = workers.some(({ purpose, tasks: held }) => purpose === 'conference' && held.includes(room));
      return (agentHoldsRoom && tasks['portal'] === 1) || `tasks: ${JSON.stringify(workers.map(({ id, tasks: held }) => [id, held]))}`;
    }, slow);

    await cluster.untilTokensIssued();
    const bob = await cluster.join('bob');
    await notified(alice, 'participant', (data) => (data as { action?: string }).action === 'join');
    await bob.client.send('all', 'after the takeover');
    await notified(alice, 'text', (data) => (data as { message?: string }).message === 'after the takeover');
    assert.equal(alice.notifications.some(({ event }) => event === 'drop'), false);
  });

  clusterTest('kill -9 of the active manager: the standby takes over, nobody is dropped, and logins made meanwhile all succeed', async (cluster, t) => {
    await cluster.start({ managers: 2, portals: 1, agents: 1 });
    const room = await cluster.sampleRoom();
    const present = await members(cluster, room, 2);
    const [active, standby] = cluster.processes.filter(({ component }) => component === 'cluster-manager');
    const logins = new Logins(cluster, [room]);
    await waitFor('a few logins', () => logins.succeeded >= 4 || `${logins.succeeded} so far`, slow);
    await active!.kill();
    const killedAt = Date.now();
    await standby!.printed(/cluster manager: active/);
    const takeover = Date.now() - killedAt;
    await standby!.printed(/cluster manager in service/);
    const before = logins.succeeded;
    await waitFor('logins to go on in service', () => logins.succeeded >= before + 10 || `${logins.succeeded - before} since`, slow);
    await logins.stop();

    t.diagnostic(`standby active ${takeover} ms after the kill; ${logins.succeeded} logins, ${logins.failures.length} failed, the slowest took ${logins.slowestMs} ms`);
    assert.deepEqual(logins.failures, []);
    assert.deepEqual(present.filter(({ member }) => member.dropped).map(({ member }) => member.user), []);
    assert.equal((await cluster.management.getParticipants(room)).length, present.length + logins.succeeded);
  });

  clusterTest('RabbitMQ stopped for 5 s while the room talks: nobody is dropped, every component reconnects, and the room talks on', async (cluster, t) => {
    await cluster.start({ portals: 2, agents: 1 });
    const room = await cluster.sampleRoom();
    const joined = await members(cluster, room, 6);
    const everyone = joined.map(({ member }) => member);
    const traffic = new Traffic(everyone[0]!);
    await traffic.more(10);
    await rabbitmqctl('stop_app');
    try {
      // The outage itself: as long as the scenario says, whatever the timers.
      await sleep(5_000);
    } finally {
      await rabbitmqctl('start_app');
    }
    const restartedAt = Date.now();
    await traffic.more(20);
    const flowingIn = Date.now() - restartedAt;
    await traffic.stop();
    const [late] = await members(cluster, room, 1);

    // Even a text answered just before the broker stopped, whose notifications went down with the
    // queues, reaches everyone: the node holds them until the portals confirm them.
    const counted = await tallies(everyone, traffic.acked);
    t.diagnostic(`texts flow again ${flowingIn} ms after the broker's return; ${traffic.acked.length} acknowledged (${traffic.failures} refused during the outage); native 1.2: ${JSON.stringify(counted.native)}, JavaScript SDK: ${JSON.stringify(counted.javascript)}`);
    assert.deepEqual(everyone.filter(({ dropped }) => dropped).map(({ user }) => user), []);
    assert.equal((await cluster.management.getParticipants(room)).length, everyone.length + 1);
    for (const portal of cluster.portals) assert.doesNotMatch(portal.output, /dropping every participant/);
    await late!.member.send('all', 'after the outage');
    await waitFor('the late member\'s text to reach everyone', () => everyone.every(({ texts }) => texts.includes('after the outage')), slow);
  });
});
