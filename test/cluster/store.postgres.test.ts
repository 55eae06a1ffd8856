import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres.js';
import { migrations } from '../../src/store/migrations.js';
import type { Leadership } from '../../src/store/index.js';
import { storeConformance } from '../support/store-conformance.js';
import { waitFor } from '../support/wait.js';

const url = process.env['CONCLAVE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = randomUUID().slice(0, 8);
const schemas: string[] = [];
const admin = new pg.Client({ connectionString: url });

function freshSchema(): string {
  const schema = `conclave_test_${run}_${schemas.length}`;
  schemas.push(schema);
  return schema;
}

before(() => admin.connect());

after(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await admin.end();
});

storeConformance('PostgreSQL', async () => {
  const schema = freshSchema();
  return { store: await PostgresStore.connect(url, schema), reopen: () => PostgresStore.connect(url, schema) };
});

/** Whether a leadership contender for `name` is blocked on the lock, as PostgreSQL itself reports. */
async function isWaitingForLock(name: string): Promise<boolean | string> {
  const { rows } = await admin.query<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'advisory'`,
    [`conclave leader ${name}`],
  );
  return rows[0]?.waiting === 1 || 'no contender is waiting on the lock';
}

/** A leadership request whose settlement can be checked without waiting for it. */
function contend(store: PostgresStore, name: string, onLost?: () => void) {
  const attempt = { leadership: undefined as Leadership | undefined, granted: store.acquireLeadership(name, onLost) };
  void attempt.granted.then((leadership) => (attempt.leadership = leadership), () => undefined);
  return attempt;
}

describe('PostgreSQL store specifics', () => {
  it('stores starting at once on a new schema migrate it once, without error', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.connect(url, schema)));
    try {
      const { rows } = await admin.query<{ version: number }>(
        `SELECT version FROM ${pg.escapeIdentifier(schema)}.schema_migrations ORDER BY version`,
      );
      assert.deepEqual(rows.map((row) => row.version), migrations.map((_, index) => index + 1));
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('a second contender for leadership waits until the leader releases it', async () => {
    const schema = freshSchema();
    const [first, second] = [await PostgresStore.connect(url, schema), await PostgresStore.connect(url, schema)];
    const name = `manager-${randomUUID()}`;
    try {
      const leader = await first.acquireLeadership(name);
      const standby = contend(second, name);
      await waitFor('the standby to wait on the lock', () => isWaitingForLock(name));
      assert.equal(standby.leadership, undefined);
      await leader.release();
      await (await standby.granted).release();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('the same leadership name in another schema is a different lock', async () => {
    const [first, second] = [await PostgresStore.connect(url, freshSchema()), await PostgresStore.connect(url, freshSchema())];
    try {
      const leader = await first.acquireLeadership('manager');
      // Were it the same lock, the second would wait for the first's release, which comes only after.
      const other = contend(second, 'manager');
      await waitFor('the other schema to grant its own leadership while the first is held', () => other.leadership !== undefined, { timeoutMs: 10_000 });
      await leader.release();
      await other.leadership!.release();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("when the leader's connection dies it is told, and the standby takes over", async () => {
    const schema = freshSchema();
    const [first, second] = [await PostgresStore.connect(url, schema), await PostgresStore.connect(url, schema)];
    const name = `manager-${randomUUID()}`;
    try {
      let lost = 0;
      await first.acquireLeadership(name, () => lost++);
      const standby = contend(second, name);
      await waitFor('the standby to wait on the lock', () => isWaitingForLock(name));
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event IS DISTINCT FROM 'advisory'`,
        [`conclave leader ${name}`],
      );
      const takeover = await standby.granted;
      await waitFor('the old leader to be told it lost the lock', () => lost === 1 || `onLost called ${lost} times`);
      await takeover.release();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("when the leader's process dies the standby takes over", async () => {
    const schema = freshSchema();
    const name = `manager-${randomUUID()}`;
    const module = new URL('../../src/store/postgres.ts', import.meta.url).href;
    const leaderProcess = spawn(
      process.execPath,
      [
        '--import', 'tsx', '--input-type=module', '-e',
        `const { PostgresStore } = await import(${JSON.stringify(module)});
         const store = await PostgresStore.connect(${JSON.stringify(url)}, ${JSON.stringify(schema)});
         await store.acquireLeadership(${JSON.stringify(name)});
         console.log('leader');
         setInterval(() => undefined, 60_000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const second = await PostgresStore.connect(url, schema);
    try {
      const [output] = (await once(leaderProcess.stdout, 'data')) as [Buffer];
      assert.equal(output.toString().trim(), 'leader');
      const standby = contend(second, name);
      await waitFor('the standby to wait on the lock', () => isWaitingForLock(name));
      assert.equal(standby.leadership, undefined);
      leaderProcess.kill('SIGKILL');
      await (await standby.granted).release();
    } finally {
      leaderProcess.kill('SIGKILL');
      await second.close();
    }
  });

  it('closing a store gives up a leadership it is still waiting for', async () => {
    const schema = freshSchema();
    const [first, second] = [await PostgresStore.connect(url, schema), await PostgresStore.connect(url, schema)];
    const name = `manager-${randomUUID()}`;
    try {
      await first.acquireLeadership(name);
      const standby = second.acquireLeadership(name);
      await waitFor('the standby to wait on the lock', () => isWaitingForLock(name));
      const givenUp = assert.rejects(standby);
      await second.close();
      await givenUp;
    } finally {
      await first.close();
      await second.close();
    }
  });
});
