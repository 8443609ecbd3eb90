// t/clients/pool_node.js -- a node-postgres (npm pg) pool querying a
// database while it is reset again and again (t/021_client_pools.pl,
// t/020_pooler.pl).  The same rounds, options and SUMMARY line as
// t/clients/pool_psycopg.py, which says what they mean:
//
//   node pool_node.js --dsn 'host=... port=... dbname=app' --mark-dsn ...
//     --control-dsn ... --db app --template tpl [--op reset|drop|none]
//     [--keep-spare on|off] [--resets 100] [--pool 4] [--workers 4]
//     [--think-ms 1] [--pause] [--round-timeout 30] [--verbose]
//
// Connection strings are libpq's keyword=value form (host, port, dbname,
// user), turned into node-postgres' options here.  An idle pooled client
// whose server went away is reported by the pool's 'error' event (without
// a listener, node would end the process with that error): those count
// as idle_errors, apart from the errors of queries.

'use strict';

const pg = require('pg');

function parseArgs(argv) {
	const a = {
		op: 'reset', keepSpare: 'off', resets: 100, pool: 4, workers: 4,
		pause: false, roundTimeout: 30, verbose: false, thinkMs: 1,
	};
	const names = {
		'--dsn': 'dsn', '--mark-dsn': 'markDsn', '--control-dsn': 'controlDsn',
		'--db': 'db', '--template': 'template', '--op': 'op',
		'--keep-spare': 'keepSpare', '--resets': 'resets', '--pool': 'pool',
		'--workers': 'workers', '--round-timeout': 'roundTimeout',
		'--think-ms': 'thinkMs',
	};
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === '--pause') a.pause = true;
		else if (argv[i] === '--verbose') a.verbose = true;
		else if (names[argv[i]] && i + 1 < argv.length) a[names[argv[i]]] = argv[++i];
		else throw new Error(`unknown argument ${argv[i]}`);
	}
	for (const k of ['dsn', 'markDsn', 'controlDsn', 'db', 'template'])
		if (!a[k]) throw new Error(`missing --${k}`);
	for (const k of ['resets', 'pool', 'workers', 'roundTimeout', 'thinkMs'])
		a[k] = Number(a[k]);
	return a;
}

// "host=/tmp/x port=5432 dbname=app" -> node-postgres' options
function config(dsn) {
	const c = {};
	for (const kv of dsn.trim().split(/\s+/)) {
		const [k, v] = kv.split('=', 2);
		if (k === 'dbname') c.database = v;
		else if (k === 'port') c.port = Number(v);
		else if (k === 'host' || k === 'user') c[k] = v;
		else throw new Error(`unsupported connection keyword ${k}`);
	}
	return c;
}

// the SQLSTATE of an error the server sent; 08006 for a connection lost
// without one (node's "Connection terminated unexpectedly", ECONNRESET,
// EPIPE: err.code is then node's own)
function codeOf(err) {
	if (err instanceof pg.DatabaseError && typeof err.code === 'string')
		return err.code;
	return '08006';
}

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond, timeoutMs) {
	const deadline = now() + timeoutMs;
	while (!cond()) {
		if (now() > deadline) return false;
		await sleep(2);
	}
	return true;
}

const rec = {
	reads: [], errors: [], idleErrors: [], lastValue: null, lastStart: 0,
	stop: false, paused: false, busy: 0,
};

async function worker(pool, thinkMs) {
	while (!rec.stop) {
		if (rec.paused) {
			await sleep(1);
			continue;
		}
		rec.busy++;
		const start = now();
		try {
			const r = await pool.query('SELECT max(n) AS n FROM marker');
			const value = r.rows[0].n;
			rec.reads.push([start, now(), value]);
			rec.lastValue = value;
			if (start > rec.lastStart) rec.lastStart = start;
		} catch (err) {
			// every error is counted, none ends the loop
			rec.errors.push([now(), codeOf(err),
				`${err instanceof pg.DatabaseError ? '' : err.code || ''} ${err.message}`.trim()]);
		} finally {
			rec.busy--;
		}
		if (thinkMs) await sleep(thinkMs);
	}
}

async function doReset(control, a) {
	if (a.op === 'none') {
		// resets nothing: the check of stale reads must then find some
		await control.query('SELECT 1');
	} else if (a.op === 'reset') {
		await control.query('SELECT dbreset.reset_database($1, $2, keep_spare => $3)',
			[a.db, a.template, a.keepSpare === 'on']);
	} else {
		await control.query('SELECT dbreset.force_drop_database($1)', [a.db]);
		const id = (s) => '"' + s.replace(/"/g, '""') + '"';
		await control.query(`CREATE DATABASE ${id(a.db)} TEMPLATE ${id(a.template)}`);
	}
}

function pct(sorted, p) {
	if (!sorted.length) return -1;
	return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function summarize(a, marks, resets, durations, seconds) {
	const rounds = resets.length;
	const byRound = Array.from({ length: rounds }, () => ({}));
	const totals = {};
	const roundOf = (t) => {
		let n = 0;
		while (n + 1 < rounds && t > marks[n + 1]) n++;
		return n;
	};
	for (const [end, code] of rec.errors) {
		if (!rounds) break;
		const e = byRound[roundOf(end)];
		e[code] = (e[code] || 0) + 1;
		totals[code] = (totals[code] || 0) + 1;
	}
	// per round, the first and the last 3D000 (a connection made while the
	// name was gone)
	const span = Array(rounds).fill(null);
	for (const [end, code] of rec.errors) {
		if (code !== '3D000' || !rounds) continue;
		const n = roundOf(end);
		span[n] = span[n] ? [Math.min(span[n][0], end), Math.max(span[n][1], end)] : [end, end];
	}
	const spans = span.filter((x) => x).map(([a, b]) => b - a);
	let stale = 0;
	for (const [start, , value] of rec.reads) {
		if (value !== null && value > 0 && value <= rounds && start > resets[value - 1]) {
			stale++;
			if (a.verbose)
				console.log(`STALE read of mark ${value}, started ` +
					`${(start - resets[value - 1]).toFixed(1)} ms after reset ${value} returned`);
		}
	}
	const serve = [];
	for (let n = 0; n < rounds; n++) {
		const limit = n + 1 < rounds ? marks[n + 1] : Infinity;
		let first = null;
		for (const [start, end] of rec.reads)
			if (start > resets[n] && start < limit && (first === null || end < first))
				first = end;
		serve.push(first === null ? null : first - resets[n]);
	}
	const served = serve.filter((s) => s !== null).sort((x, y) => x - y);
	const fmt = (o) => Object.keys(o).sort().map((k) => `${k}:${o[k]}`).join(',');
	if (a.verbose) {
		for (let n = 0; n < rounds; n++)
			console.log(`round ${n + 1}: reset ${durations[n].toFixed(1)} ms, serving again after ` +
				`${serve[n] === null ? 'never' : serve[n].toFixed(1)} ms, errors ${fmt(byRound[n]) || 'none'}`);
		const kinds = new Map();
		for (const [what, list] of [['error', rec.errors], ['idle error', rec.idleErrors]]) {
			for (const [, code, msg] of list) {
				const key = `${what} ${code} ${msg}`;
				kinds.set(key, (kinds.get(key) || 0) + 1);
			}
		}
		for (const [key, count] of [...kinds].sort())
			console.log(`${key} (x${count})`);
	}
	const sortedDur = durations.slice().sort((x, y) => x - y);
	console.log([
		'SUMMARY client=node-pg', `op=${a.op}`, `keep_spare=${a.keepSpare}`,
		`resets=${rounds}`, `queries=${rec.reads.length}`, `stale=${stale}`,
		`unserved=${serve.filter((s) => s === null).length}`,
		`errors=${fmt(totals) || 'none'}`,
		`rounds_with_errors=${byRound.filter((e) => Object.keys(e).length).length}`,
		`max_errors_per_round=${Math.max(0, ...byRound.map((e) => Object.values(e).reduce((x, y) => x + y, 0)))}`,
		`idle_errors=${rec.idleErrors.length}`,
		`span_3d000_ms_max=${Math.max(0, ...spans).toFixed(1)}`,
		`serve_ms_median=${pct(served, 0.5).toFixed(1)}`,
		`serve_ms_p90=${pct(served, 0.9).toFixed(1)}`,
		`serve_ms_max=${pct(served, 1).toFixed(1)}`,
		`reset_ms_median=${pct(sortedDur, 0.5).toFixed(1)}`,
		`seconds=${seconds.toFixed(1)}`,
	].join(' '));
}

async function main() {
	const a = parseArgs(process.argv.slice(2));
	const timeout = a.roundTimeout * 1000;
	const pool = new pg.Pool({ ...config(a.dsn), max: a.pool });
	// an idle client's server went away: the pool drops that client and
	// says so here
	pool.on('error', (err) => rec.idleErrors.push([now(), codeOf(err), String(err.message)]));
	const began = now();
	const workers = [];
	for (let i = 0; i < a.workers; i++) workers.push(worker(pool, a.thinkMs));
	const control = new pg.Client(config(a.controlDsn));
	await control.connect();
	const marks = [], resets = [], durations = [];
	let failed = null;
	for (let n = 1; n <= a.resets && !failed; n++) {
		try {
			const mark = new pg.Client(config(a.markDsn));
			await mark.connect();
			try {
				await mark.query('INSERT INTO marker VALUES ($1)', [n]);
			} finally {
				await mark.end();
			}
		} catch (err) {
			failed = `round ${n}: marking failed: ${codeOf(err)} ${err.message}`;
			break;
		}
		marks.push(now());
		if (!await waitUntil(() => rec.lastValue === n, timeout)) {
			failed = `round ${n}: the pool never read mark ${n}`;
			break;
		}
		if (a.pause) {
			rec.paused = true;
			await waitUntil(() => rec.busy === 0, timeout);
		}
		const called = now();
		try {
			await doReset(control, a);
		} catch (err) {
			failed = `round ${n}: the ${a.op} failed: ${codeOf(err)} ${err.message}`;
			break;
		}
		const returned = now();
		resets.push(returned);
		durations.push(returned - called);
		rec.paused = false;
		if (!await waitUntil(() => rec.lastStart > returned, timeout))
			failed = `round ${n}: the pool did not serve again`;
	}
	rec.stop = true;
	rec.paused = false;
	await Promise.all(workers);
	await pool.end();
	await control.end();
	summarize(a, marks.slice(0, resets.length), resets, durations, (now() - began) / 1000);
	if (failed) {
		console.log(`FAILED ${failed}`);
		process.exitCode = 1;
	}
}

main().catch((err) => {
	console.log(`FAILED ${err.stack || err}`);
	process.exitCode = 1;
});
