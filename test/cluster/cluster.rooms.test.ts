import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { PortalErrors } from '../../src/portal/index.js';
import { childrenOf, isRunning } from '../support/processes.js';
import { ask, rawSocket, userAgent } from '../support/raw-socket.js';
import { clusterTest, portalUrlOf } from '../support/process-cluster.js';
import { received } from '../support/server.js';
import { waitFor } from '../support/wait.js';

describe('cluster mode: rooms across separate processes', () => {
  clusterTest('clients on different portals in the same room see each other and exchange text', async (cluster) => {
    await cluster.start({ portals: 2, agents: 2 });
    const alice = await cluster.join('alice');
    const bob = await cluster.join('bob');
    assert.notEqual(alice.portalUrl, bob.portalUrl, 'round-robin sends consecutive tokens to different portals');

    const [joined] = await received(alice.notifications, 'participant');
    assert.deepEqual(joined!.data, { action: 'join', data: { id: bob.id, user: 'bob', role: 'presenter' } });
    await alice.client.send('all', 'hello from portal A');
    await bob.client.send(alice.id, 'hello from portal B');
    const [toBob] = await received(bob.notifications, 'text');
    assert.deepEqual(toBob!.data, { from: alice.id, to: 'all', message: 'hello from portal A' });
    // A text to all reaches its sender too.
    const toAlice = await received(alice.notifications, 'text', 2);
    assert.deepEqual(toAlice.map(({ data }) => data), [
      { from: alice.id, to: 'all', message: 'hello from portal A' },
      { from: bob.id, to: 'me', message: 'hello from portal B' },
    ]);
    const listed = await cluster.management.getParticipants(await cluster.sampleRoom());
    assert.deepEqual(listed.map(({ user }) => user).sort(), ['alice', 'bob']);
  });

  clusterTest('the scheduler spreads tokens over the portals, and each portal picks up the tokens used on it', async (cluster) => {
    await cluster.start({ portals: 2, agents: 1 });
    const room = await cluster.sampleRoom();
    const tokens = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((user) => cluster.management.createToken(room, user, 'presenter')));
    const urls = tokens.map(portalUrlOf);
    assert.deepEqual(new Set(urls), new Set(cluster.portals.map(({ url }) => url)));
    assert.equal(urls.filter((url) => url === cluster.portals[0]!.url).length, 2);

    const first = await cluster.join('first');
    const second = await cluster.join('second');
    assert.notEqual(first.portalUrl, second.portalUrl);
    await waitFor('each portal to hold the token code it served', async () => {
      const workers = await cluster.workers('portal');
      const held = cluster.portals.map((portal) => workers.find(({ id }) => id === portal.id)?.tasks.length ?? 0);
      return JSON.stringify(held) === '[1,1]' || `tasks per portal: ${JSON.stringify(held)}`;
    });
  });

  clusterTest('a login waits for a conference node process to start, though that takes longer than an RPC timeout', async (cluster) => {
    await cluster.start({ portals: 1, agents: 1 });
    const [agent] = cluster.agents;
    assert.deepEqual(await childrenOf(agent!.pid), [], 'no node is kept ready');
    const alice = await cluster.join('alice');
    await alice.client.send('all', 'hello');
    await waitFor('alice to get her own text', () => alice.notifications.some(({ event }) => event === 'text'));
  }, { AGENT__PRERUN_PROCESSES: '0', CLUSTER__RPC_TIMEOUT: '300' });

  clusterTest('one token used on two portals at once logs in exactly once', async (cluster) => {
    await cluster.start({ portals: 2, agents: 1 });
    const token = await cluster.management.createToken(await cluster.sampleRoom(), 'twice', 'presenter');
    const sockets = await Promise.all(cluster.portals.map(({ url }) => rawSocket(url)));
    try {
      const answers = await Promise.all(
        sockets.map((socket) => ask(socket, 'login', { token, userAgent: userAgent(), protocol: '1.2' })),
      );
      assert.deepEqual(answers.map(({ status }) => status).sort(), ['error', 'ok']);
      assert.equal(answers.find(({ status }) => status === 'error')!.data, PortalErrors.tokenMissing);
      const listed = await cluster.management.getParticipants(await cluster.sampleRoom());
      assert.deepEqual(listed.map(({ user }) => user), ['twice']);
    } finally {
      for (const socket of sockets) socket.close();
    }
  });
});

describe('cluster mode: shutting down', () => {
  clusterTest('every component stops cleanly on SIGTERM, and an agent stops the node processes it forked', async (cluster) => {
    await cluster.start({ portals: 1, agents: 1 });
    await cluster.join('alice');
    const [agent] = cluster.agents;
    const nodes = await childrenOf(agent!.pid);
    assert.equal(nodes.length, 2, "the room's node and one idle node kept ready");

    for (const component of ['portal', 'conference-agent', 'management-api', 'cluster-manager']) {
      const stopping = cluster.processes.filter((each) => each.component === component);
      assert.deepEqual(await Promise.all(stopping.map((each) => each.stop())), stopping.map(() => 0), `${component} exits with 0`);
    }
    for (const node of nodes) assert.equal(await isRunning(node.pid), false);
  });
});

