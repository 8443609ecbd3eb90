// A pg.Pool that keeps working across dbreset resets, and the reset itself.
//
// A reset terminates every session of the database (SQLSTATE 57P01), so
// each connection the pool holds is lost once:
//   - an idle pooled client reads the server's FATAL at once; the pool drops
//     it and emits 'error' on itself -- without a listener, node would end
//     the process;
//   - a query in flight fails with err.code '57P01', or with "Connection
//     terminated unexpectedly" (no code);
//   - a connection opened while the database's name is briefly gone (during
//     the swap of a spare, or the copy without one) fails with 3D000.
// query() retries those, a few times, on a new connection.  Connection
// settings: the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD), as
// libpq reads them; DBRESET_ADMIN_DB names the database that resets are
// called from (default "postgres").
'use strict';

const { Pool, Client } = require('pg');

const ADMIN_DB = process.env.DBRESET_ADMIN_DB || 'postgres';

const RETRYABLE = new Set(['57P01', '3D000']);

function retryable(err) {
  return RETRYABLE.has(err.code) || /Connection terminated|ECONNRESET|EPIPE/.test(err.message);
}

function createPool(database, options = {}) {
  const pool = new Pool({ database, max: 4, ...options });
  pool.errors = 0;
  // idle clients terminated by a reset: the pool has already dropped them
  pool.on('error', () => { pool.errors += 1; });
  return pool;
}

// query(pool, text, params): pool.query, retried when the connection was
// lost to a reset (the statement did not run, or its transaction did not
// commit: safe to run again)
async function query(pool, text, params, attempts = 5) {
  for (let i = 1; ; i++) {
    try {
      return await pool.query(text, params);
    } catch (err) {
      if (i >= attempts || !retryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 10 * i));
    }
  }
}

// a client of the admin database; reset_database() refuses a transaction
// block, so it runs alone, as pg's simple query does
async function adminClient() {
  const client = new Client({ database: ADMIN_DB });
  await client.connect();
  return client;
}

// reset(admin, db, template): a fresh copy of template as db; returns how
// many sessions the reset terminated
async function reset(admin, db, template) {
  const { rows } = await admin.query(
    'SELECT dbreset.reset_database($1, $2, keep_spare => true) AS terminated',
    [db, template]);
  return rows[0].terminated;
}

module.exports = { createPool, query, adminClient, reset, retryable };
