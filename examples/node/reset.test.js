// node --test: each test dirties the database, and each starts from the
// template's seed data again -- reset_database(..., keep_spare => true) in
// beforeEach -- while one pg.Pool serves every test across the resets.
'use strict';

const { describe, before, after, beforeEach, test } = require('node:test');
const assert = require('node:assert');
const { Client } = require('pg');
const { createPool, query, adminClient, reset } = require('./db');

const TEMPLATE = 'node_template';
const DB = 'node_test';

const SCHEMA = `
  CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE orders (id int PRIMARY KEY,
                       customer_id int NOT NULL REFERENCES customers,
                       amount numeric(10, 2) NOT NULL);
  INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');
  INSERT INTO orders VALUES (1, 1, 10.00);`;

let admin;
let pool;

// the template, built once for the run and sealed (IS_TEMPLATE,
// ALLOW_CONNECTIONS false) so that each reset can swap in a spare copy
async function buildTemplate() {
  const old = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE]);
  if (old.rowCount) {
    await admin.query(`ALTER DATABASE ${TEMPLATE} IS_TEMPLATE false`);
    await admin.query(`DROP DATABASE ${TEMPLATE}`);
  }
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  const c = new Client({ database: TEMPLATE });
  await c.connect();
  await c.query(SCHEMA);
  await c.end();
  await admin.query(`ALTER DATABASE ${TEMPLATE} IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB]);
  if (!db.rowCount) await admin.query(`CREATE DATABASE ${DB} TEMPLATE ${TEMPLATE}`);
}

async function assertClean() {
  const { rows } = await query(pool, `
    SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename)
              FROM pg_tables WHERE schemaname = 'public') AS tables,
           (SELECT count(*)::int FROM customers) AS customers,
           (SELECT count(*)::int FROM orders) AS orders`);
  assert.deepStrictEqual(rows[0], { tables: 'customers,orders', customers: 2, orders: 1 });
}

describe('a fresh database for every test', () => {
  before(async () => {
    admin = await adminClient();
    await buildTemplate();
    pool = createPool(DB);
  });

  after(async () => {
    await pool.end();
    await admin.query('SELECT dbreset.drop_spares($1)', [DB]);
    await admin.end();
  });

  beforeEach(async () => {
    await reset(admin, DB, TEMPLATE);
  });

  test('inserts and deletes', async () => {
    await assertClean();
    await query(pool, 'INSERT INTO orders VALUES (2, 2, 25.50), (3, 2, 4.50)');
    await query(pool, 'DELETE FROM orders WHERE id = 1');
    const { rows } = await query(pool, 'SELECT count(*)::int AS n FROM orders');
    assert.strictEqual(rows[0].n, 2);
  });

  test('changes the schema', async () => {
    await assertClean();
    await query(pool, 'CREATE TABLE audit (what text)');
    await query(pool, 'ALTER TABLE orders ADD COLUMN note text');
    await query(pool, 'TRUNCATE orders, customers');
  });

  test('starts clean again', async () => {
    await assertClean();
  });

  test('the pool serves queries after a reset, even with connections busy', async (t) => {
    await assertClean();
    // fill the pool: one connection running a query, the others idle
    const busy = query(pool, 'SELECT pg_sleep(30)', [], 1).catch((err) => err);
    await Promise.all([1, 2, 3].map(() => query(pool, 'SELECT 1')));
    for (let i = 0; i < 500; i++) {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM dbreset.sessions($1)
          WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%'`, [DB]);
      if (rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await query(pool, "INSERT INTO customers VALUES (3, 'Mark')");
    const errorsBefore = pool.errors;

    const terminated = await reset(admin, DB, TEMPLATE);
    assert.ok(terminated >= 1, `terminated ${terminated}`);

    // the query in flight failed with 57P01 (or the connection ended) ...
    const err = await busy;
    assert.ok(err instanceof Error, 'the running query failed');
    assert.ok(err.code === '57P01' || /Connection terminated/.test(err.message), err.message);
    // ... the pool serves the next ones, on fresh data
    await assertClean();
    const { rows } = await query(pool, 'SELECT count(*)::int AS n FROM customers WHERE id = 3');
    assert.strictEqual(rows[0].n, 0);
    // the idle ones were dropped by the pool, through its 'error' event
    t.diagnostic(`pool 'error' events during the reset: ${pool.errors - errorsBefore}`);
  });
});
