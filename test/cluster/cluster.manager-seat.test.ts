import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { BusErrors, messageOf, rpcClient } from '../../src/bus/index.js';
import { InProcessBus } from '../../src/bus/in-process.js';
import { MANAGER_ADDRESS, type ManagerRpc } from '../../src/cluster/api.js';
import { LEADERSHIP_LOCK, ManagerSeat, SeatStates, type SeatState } from '../../src/cluster/index.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { clusterConfig, silentLogger } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const url = process.env['CONCLAVE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `conclave_test_seat_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const admin = new pg.Client({ connectionString: url });
const config = clusterConfig({ cluster: { leadershipRetryInterval: 50 } });

before(() => admin.connect());
after(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await admin.end();
});

/** Cuts the connection holding the cluster-manager lock of this test's schema, as a network failure would. */
async function cutLockHolder(): Promise<void> {
  const { rowCount } = await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 2
        AND classid::text::bigint = (hashtext($1)::bigint & 4294967295)
        AND objid::text::bigint = (hashtext($2)::bigint & 4294967295)`,
    [schema, LEADERSHIP_LOCK],
  );
  assert.equal(rowCount, 1);
}

interface Contender {
  seat: ManagerSeat;
  states: SeatState[];
  close(): Promise<void>;
}

describe('the cluster manager seat (SPEC §9.6)', () => {
  const bus = new InProcessBus();
  const manager = rpcClient<ManagerRpc>(bus, MANAGER_ADDRESS, 500);
  after(() => bus.close());

  async function contender(): Promise<Contender> {
    const store = await PostgresStore.connect(url, schema);
    const states: SeatState[] = [];
    const seat = new ManagerSeat({ config, logger: silentLogger, store, bus }, (state) => states.push(state));
    return {
      seat,
      states,
      close: async () => {
        await seat.close();
        await store.close();
      },
    };
  }

  const lastState = ({ states }: Contender) => states.at(-1) ?? SeatStates.standby;

  async function managerAnswers(): Promise<boolean | string> {
    try {
      await manager.call('getWorkers', []);
      return true;
    } catch (error) {
      return messageOf(error);
    }
  }

  it('one seat serves the manager and the other stands by; a seat that loses the lock stops its manager, and the other takes over', async () => {
    const first = await contender();
    const second = await contender();
    try {
      await waitFor('the first seat to be active', () => lastState(first) === SeatStates.active || lastState(first));
      await waitFor('the manager to answer', managerAnswers);
      assert.deepEqual(second.states, []);

      await cutLockHolder();
      await waitFor('the first seat to step down', () => first.states.includes(SeatStates.standby) || JSON.stringify(first.states));
      // Either may win the lock now: the standby, or the first seat contending again.
      const active = () => [first, second].filter((each) => lastState(each) === SeatStates.active);
      await waitFor('exactly one seat to be active', () => active().length === 1 || `${active().length} active`);
      await waitFor('the manager to answer', managerAnswers);

      const [winner] = active();
      const other = winner === first ? second : first;
      await winner!.close();
      await waitFor('the other seat to take over', () => lastState(other) === SeatStates.active || lastState(other));
      await waitFor('its manager to answer', managerAnswers);
    } finally {
      await first.close();
      await second.close();
    }
    assert.equal(await managerAnswers(), BusErrors.unreachable(MANAGER_ADDRESS));
  });

  it('a seat that loses the lock with nobody waiting takes it again', async () => {
    const only = await contender();
    try {
      await waitFor('the seat to be active', () => lastState(only) === SeatStates.active || lastState(only));
      await cutLockHolder();
      await waitFor('the seat to be active a second time', () =>
        only.states.filter((state) => state === SeatStates.active).length === 2 || JSON.stringify(only.states));
      assert.deepEqual(only.states, [SeatStates.active, SeatStates.standby, SeatStates.active]);
      await waitFor('the manager to answer', managerAnswers);
    } finally {
      await only.close();
    }
  });

  it('a standby seat closes without ever serving while another holds the lock', async () => {
    const leader = await contender();
    const standby = await contender();
    try {
      await waitFor('the leader to be active', () => lastState(leader) === SeatStates.active || lastState(leader));
      await standby.close();
      assert.deepEqual(standby.states, []);
    } finally {
      await leader.close();
      await standby.close();
    }
  });
});
