import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ask, rawSocket } from '../support/raw-socket.js';
import { isRunning } from '../support/processes.js';
import { clusterTest, clusterTimers, notified, slow, type Participant, type ProcessCluster } from '../support/process-cluster.js';
import { waitFor } from '../support/wait.js';

const reconnectionTimeout = Number(clusterTimers.PORTAL__RECONNECTION_TIMEOUT);
/** How long the manager takes to give up on a silent worker. */
const workerDeathNoticed = Number(clusterTimers.CLUSTER__CHECK_PERIOD) * (Number(clusterTimers.CLUSTER__CHECK_ALIVE_COUNT) + 1);

const leftEvent = (id: string) => (data: unknown) => JSON.stringify(data) === JSON.stringify({ action: 'leave', data: id });

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

  clusterTest('kill -9 of a conference agent drops its participants, its nodes die with it, and another agent takes the room', async (cluster) => {
    await cluster.start({ portals: 1, agents: 2 });
    const room = await cluster.sampleRoom();
    const participants = [await cluster.join('alice'), await cluster.join('bob')];
    const lost = await cluster.nodeOf(room);
    process.kill(lost.agent.pid, 'SIGKILL');

    await waitFor('the dead agent\'s node process to exit', async () => !(await isRunning(lost.process.pid)), slow);
    await assertRoomScheduledAgain(cluster, participants);
    const again = await cluster.nodeOf(room);
    assert.notEqual(again.agent, lost.agent);
    await cluster.untilWorkersJoined([...cluster.portals, again.agent]);
  });

  clusterTest('kill -9 of a portal: its participants leave the room after the reconnection timeout, and the others are told', async (cluster) => {
    await cluster.start({ portals: 2, agents: 1 });
    const alice = await cluster.join('alice');
    const bob = await cluster.join('bob');
    assert.notEqual(alice.portalUrl, bob.portalUrl);
    const portalOfAlice = cluster.portals.find(({ url }) => url === alice.portalUrl)!;

    await portalOfAlice.kill();
    const killedAt = Date.now();
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

  clusterTest('kill -9 of a portal: a participant that resumes on another portal in time keeps its place and nobody sees it leave', async (cluster) => {
    await cluster.start({ portals: 2, agents: 1 });
    const alice = await cluster.join('alice');
    const bob = await cluster.join('bob');
    assert.notEqual(alice.portalUrl, bob.portalUrl);
    const portalOfAlice = cluster.portals.find(({ url }) => url === alice.portalUrl)!;
    const ticket = alice.client.reconnectionTicket;
    assert.ok(ticket);

    await portalOfAlice.kill();
    const killedAt = Date.now();
    alice.client.close();
    await bob.client.send(alice.id, 'while you were away');
    const resumed = await rawSocket(bob.portalUrl);
    try {
      const texts: unknown[] = [];
      resumed.on('text', (data: unknown) => texts.push(data));
      const relogin = await ask(resumed, 'relogin', ticket);
      assert.equal(relogin.status, 'ok', String(relogin.data));
      assert.equal(typeof relogin.data, 'string', 'the JavaScript SDK gets a new ticket string');

      await bob.client.send(alice.id, 'welcome back');
      await waitFor('the resumed alice to receive both texts', () => texts.length === 2 || `${texts.length}`, slow);
      assert.deepEqual(texts, [
        { from: bob.id, to: 'me', message: 'while you were away' },
        { from: bob.id, to: 'me', message: 'welcome back' },
      ]);
      // Nothing to wait for: a leave, if any, would come once the dead portal is noticed and the
      // reconnection timeout has run out.
      await sleep(Math.max(0, killedAt + workerDeathNoticed + reconnectionTimeout + 1_000 - Date.now()));
      assert.deepEqual(bob.notifications.filter(({ event, data }) => event === 'participant' && leftEvent(alice.id)(data)), []);
      assert.deepEqual(await participantsOf(cluster), ['alice', 'bob']);
    } finally {
      resumed.close();
    }
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
  }, {
    // Workers must re-join while the new manager initializes, and a keep-alive lost with the old
    // manager's queue fails only at its RPC timeout: keep that well inside the initial time.
    CLUSTER__RPC_TIMEOUT: '1500',
    AGENT__NODE_READY_TIMEOUT: '1400',
    CLUSTER__INITIAL_TIME: '4000',
  });

  clusterTest('after RabbitMQ restarts while idle, every component reconnects and the next login works', async (cluster) => {
    await cluster.start({ portals: 1, agents: 1 });
    const workers = [...cluster.portals, ...cluster.agents];
    const joins = (output: string) => output.split('"msg":"joined the cluster manager"').length - 1;
    const joinsBefore = workers.map(({ output }) => joins(output));
    const rabbitmqctl = (command: string) => promisify(execFile)('rabbitmqctl', [command], { timeout: 60_000 });

    await rabbitmqctl('stop_app');
    await rabbitmqctl('start_app');
    await waitFor('every worker to join the manager again', () => {
      const rejoined = workers.map(({ output }, index) => joins(output) > joinsBefore[index]!);
      return rejoined.every(Boolean) || `re-joined: ${JSON.stringify(rejoined)}`;
    }, slow);
    await cluster.untilWorkersJoined();

    const alice = await cluster.join('alice');
    const bob = await cluster.join('bob');
    await bob.client.send(alice.id, 'after the broker restart');
    await notified(alice, 'text', (data) => (data as { message?: string }).message === 'after the broker restart');
  });
});
