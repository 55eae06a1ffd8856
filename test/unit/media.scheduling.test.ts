/**
 * Where a room's media goes (SPEC-MEDIA M2): a webrtc agent matched to the token `preference` of
 * whoever opens the room's first transport, as portals are matched (SPEC §9.4).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { InProcessLauncher, type Agent } from '../../src/agent/index.js';
import { rpcClient } from '../../src/bus/index.js';
import { MANAGER_ADDRESS, type ManagerRpc, type Preference } from '../../src/cluster/api.js';
import type { Notification } from '../../src/client/conference-client.js';
import { inProcessNodes, startAgentOf, startNode } from '../../src/components.js';
import { createLogger } from '../../src/logger.js';
import { MediaClient } from '../support/media-client.js';
import { MediaPeer } from '../support/media-peer.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { setTimeout as sleep } from 'node:timers/promises';

let t: TestServer;
/** Serves one ISP and one region only; the embedded server's own webrtc agent serves everyone. */
let regional: Agent;

before(async () => {
  t = await startTestServer({ webrtc: { portRange: '28000-28999' } });
  const { config, store, bus } = t.server;
  const regionalConfig = { ...config, webrtc: { ...config.webrtc, isps: ['isp-eu'], regions: ['eu'] } };
  const infrastructure = { config: regionalConfig, store, bus, logger: createLogger('silent') };
  regional = await startAgentOf('webrtc', infrastructure, inProcessNodes('webrtc', infrastructure));
});
afterEach(() => MediaPeer.closeAll());
after(async () => {
  await MediaPeer.closeAll();
  await regional.close();
  await t.stop();
});

/** Opens a room whose first user's token carries `preference`, publishes, and says which webrtc agent got the room. */
async function mediaAgentFor(preference: Preference): Promise<string | null> {
  const room = (await t.management.createRoom(`media near ${JSON.stringify(preference)}`))._id;
  const client = t.client();
  const notifications: Notification[] = [];
  client.on('notification', (notification: Notification) => notifications.push(notification));
  const result = await client.join(await t.management.createToken(room, 'alice', 'presenter', preference));
  const media = new MediaClient({ client, id: result['id'] as string, result, notifications });
  await media.publish(['audio']);
  const manager = rpcClient<ManagerRpc>(t.server.bus, MANAGER_ADDRESS, 2_000);
  const agent = await manager.call('getScheduled', ['webrtc', room]);
  await media.close();
  client.close();
  return agent;
}

describe('media scheduling', () => {
  test('a room whose first user comes from the ISP and region an agent serves gets its media there', async () => {
    assert.equal(await mediaAgentFor({ isp: 'isp-eu', region: 'eu' }), regional.worker.id);
  });

  test('a room whose first user comes from another ISP never goes to an agent restricted to other ISPs', async () => {
    assert.equal(await mediaAgentFor({ isp: 'isp-us' }), t.server.webrtcAgent.worker.id);
  });

  test('a room whose media agent must first start a node waits for it, though that outlasts an ordinary call', async () => {
    const { config, store, bus } = t.server;
    const startTime = config.cluster.rpcTimeout * 1.5;
    const slowConfig = {
      ...config,
      agent: { ...config.agent, prerunProcesses: 0, nodeReadyTimeout: startTime * 3 },
      webrtc: { ...config.webrtc, isps: ['isp-slow'], regions: ['slow'] },
    };
    const infrastructure = { config: slowConfig, store, bus, logger: createLogger('silent') };
    const slowToStart = new InProcessLauncher(async (id, agentId) => {
      await sleep(startTime);
      return startNode('webrtc', infrastructure, id, agentId);
    });
    const slow = await startAgentOf('webrtc', infrastructure, slowToStart);
    try {
      assert.equal(await mediaAgentFor({ isp: 'isp-slow', region: 'slow' }), slow.worker.id);
    } finally {
      await slow.close();
    }
  });
});
