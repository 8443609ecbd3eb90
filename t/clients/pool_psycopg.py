"""t/clients/pool_psycopg.py -- a psycopg_pool pool querying a database
while it is reset again and again (t/021_client_pools.pl, t/020_pooler.pl).

WORKERS threads share a ConnectionPool of POOL connections (autocommit) to
--dsn and loop on "SELECT max(n) FROM marker" until the end.  The main
thread, over connections of its own, runs RESETS rounds:

  1. mark: insert n into the database's table marker through a new direct
     connection (--mark-dsn), then wait until some pooled query has read n
     -- so that the pool is serving and reading the old contents up to the
     reset;
  2. reset: SELECT dbreset.reset_database(db, template, keep_spare => ...)
     over the control connection (--control-dsn, another database), or with
     --op drop: force_drop_database(db) and CREATE DATABASE db TEMPLATE
     template (--op none: nothing, to see the check of stale reads find
     them); its return time is T[n];
  3. wait until a pooled query that started after T[n] has returned.

The template's marker holds the single row 0.  A query that *started*
after T[m] and read m (> 0) saw the contents of before reset m: a stale
read.  Errors are counted per round (by when they happened: after mark n
and before mark n + 1) and by SQLSTATE; an error without one counts as
08006 (psycopg gives none once the connection has ended, even for the
server's 57P01 FATAL: "consuming input failed: terminating connection due
to administrator command"), a pool timeout as "pooltimeout".  The pool's
own connection attempts that fail (in the background, retried after 1 s,
then doubling) are counted apart, by the server's message (libpq gives no
SQLSTATE there either).  "serve" is the time from T[n] to the end of the
first successful query that started after T[n].  --pause keeps the
workers idle during each reset and --check calls pool.check() after it,
as a test suite that resets between tests can.

Prints one line, parsed by the TAP tests:

  SUMMARY client=psycopg op=reset keep_spare=on resets=100 queries=...
  stale=0 unserved=0 errors=08006:3 rounds_with_errors=...
  max_errors_per_round=... connect_errors=3D000:2 span_3d000_ms_max=...
  serve_ms_median=... serve_ms_p90=... serve_ms_max=...
  reset_ms_median=... seconds=...

(span_3d000_ms_max: the longest time, in one round, from the first 3D000
to the last.)

and, with --verbose, one line per round.  Exits 0 once every round has run
(the TAP tests judge the figures), 1 if a mark or a reset failed or a
round did not finish within --round-timeout.
"""

import argparse
import logging
import sys
import threading
import time

import psycopg
import psycopg_pool
from psycopg import sql


def code_of(exc):
    """The SQLSTATE of exc, 08006 for a connection lost without one."""
    state = getattr(exc, "sqlstate", None)
    if state:
        return state
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return "pooltimeout"
    if isinstance(exc, psycopg.OperationalError):
        return "08006"
    return type(exc).__name__


def connect_code_of(exc):
    """What a failed connection attempt met: libpq gives no SQLSTATE
    there, only the server's message."""
    if "does not exist" in str(exc):
        return "3D000"
    return code_of(exc)


class Recorder:
    """What the workers saw: (start, end, value) of every successful query,
    (end, code, message) of every error, and the last value read."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reads = []
        self.errors = []
        # the pool's own connection attempts that failed: (end, code)
        self.connect_errors = []
        self.last_value = None
        self.last_start = 0.0
        self.stop = threading.Event()
        # cleared: the workers wait (--pause)
        self.go = threading.Event()
        self.go.set()
        self.busy = 0

    def read(self, start, end, value):
        with self.lock:
            self.reads.append((start, end, value))
            self.last_value = value
            self.last_start = max(self.last_start, start)

    def error(self, end, code, msg):
        with self.lock:
            self.errors.append((end, code, msg))


def counting_connection(rec):
    """A connection class that records the pool's failed attempts (the
    pool retries them itself, after 1 s, then doubling)."""

    class CountingConnection(psycopg.Connection):
        @classmethod
        def connect(cls, *args, **kwargs):
            try:
                return super().connect(*args, **kwargs)
            except Exception as exc:
                with rec.lock:
                    rec.connect_errors.append(
                        (time.monotonic(), connect_code_of(exc)))
                raise

    return CountingConnection


def worker(pool, rec, query, think):
    while not rec.stop.is_set():
        # go is cleared under the lock: a query counted in busy has begun
        # before, any other waits
        with rec.lock:
            going = rec.go.is_set()
            if going:
                rec.busy += 1
        if not going:
            rec.go.wait(0.05)
            continue
        start = time.monotonic()
        try:
            with pool.connection() as conn:
                value = conn.execute(query).fetchone()[0]
            rec.read(start, time.monotonic(), value)
        except Exception as exc:  # every error is counted, none ends the loop
            rec.error(time.monotonic(), code_of(exc), str(exc).strip())
            # as an application would: go on at once (psycopg_pool has
            # already put a broken connection aside)
        finally:
            with rec.lock:
                rec.busy -= 1
        if think:
            time.sleep(think)


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def do_reset(control, args):
    if args.op == "none":
        # resets nothing: the check of stale reads must then find some
        control.execute("SELECT 1")
    elif args.op == "reset":
        control.execute(
            "SELECT dbreset.reset_database(%s, %s, keep_spare => %s)",
            (args.db, args.template, args.keep_spare == "on"))
    else:
        control.execute("SELECT dbreset.force_drop_database(%s)", (args.db,))
        control.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(args.db), sql.Identifier(args.template)))


def summarize(args, rec, marks, resets, durations, seconds):
    rounds = len(resets)
    errors_by_round = [dict() for _ in range(rounds)]
    totals = {}
    for end, code, _ in rec.errors:
        n = 0
        while n + 1 < rounds and end > marks[n + 1]:
            n += 1
        errors_by_round[n][code] = errors_by_round[n].get(code, 0) + 1
        totals[code] = totals.get(code, 0) + 1
    connect_totals = {}
    span = [None] * rounds
    events = [(end, code) for end, code, _ in rec.errors]
    for end, code in rec.connect_errors:
        connect_totals[code] = connect_totals.get(code, 0) + 1
        events.append((end, code))
    for end, code in events:
        if code != "3D000" or not rounds:
            continue
        n = 0
        while n + 1 < rounds and end > marks[n + 1]:
            n += 1
        first, last = span[n] or (end, end)
        span[n] = (min(first, end), max(last, end))
    spans = [(b - a) * 1000 for a, b in (x for x in span if x)]
    stale = 0
    serve = [None] * rounds
    for start, end, value in rec.reads:
        if value is not None and 0 < value <= rounds and start > resets[value - 1]:
            stale += 1
            if args.verbose:
                print(f"STALE read of mark {value}, started "
                      f"{(start - resets[value - 1]) * 1000:.1f} ms after "
                      f"reset {value} returned")
    # the first read that started after T[n] and before mark n + 1
    for n in range(rounds):
        limit = marks[n + 1] if n + 1 < rounds else float("inf")
        ends = [end for start, end, _ in rec.reads
                if resets[n] < start < limit]
        if ends:
            serve[n] = (min(ends) - resets[n]) * 1000
    served = sorted(s for s in serve if s is not None)

    def pct(values, p):
        if not values:
            return -1
        return values[min(len(values) - 1, int(len(values) * p))]

    if args.verbose:
        for n in range(rounds):
            errs = ",".join(f"{k}:{v}" for k, v in sorted(errors_by_round[n].items()))
            s = "never" if serve[n] is None else f"{serve[n]:.1f}"
            print(f"round {n + 1}: reset {durations[n]:.1f} ms, serving again "
                  f"after {s} ms, errors {errs or 'none'}")
        kinds = {}
        for _, code, msg in rec.errors:
            key = (code, msg.splitlines()[0] if msg else "")
            kinds[key] = kinds.get(key, 0) + 1
        for (code, msg), count in sorted(kinds.items()):
            print(f"error {code} x{count}: {msg}")
    fields = [
        "SUMMARY client=psycopg",
        f"op={args.op}",
        f"keep_spare={args.keep_spare}",
        f"resets={rounds}",
        f"queries={len(rec.reads)}",
        f"stale={stale}",
        f"unserved={sum(1 for s in serve if s is None)}",
        "errors=" + (",".join(f"{k}:{v}" for k, v in sorted(totals.items())) or "none"),
        f"rounds_with_errors={sum(1 for e in errors_by_round if e)}",
        f"max_errors_per_round={max((sum(e.values()) for e in errors_by_round), default=0)}",
        "connect_errors=" + (",".join(f"{k}:{v}" for k, v in sorted(connect_totals.items())) or "none"),
        f"span_3d000_ms_max={max(spans, default=0):.1f}",
        f"serve_ms_median={pct(served, 0.5):.1f}",
        f"serve_ms_p90={pct(served, 0.9):.1f}",
        f"serve_ms_max={pct(served, 1.0):.1f}",
        f"reset_ms_median={pct(sorted(durations), 0.5):.1f}",
        f"seconds={seconds:.1f}",
    ]
    print(" ".join(fields))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", required=True, help="the pool's connection string")
    ap.add_argument("--mark-dsn", required=True, help="direct, to the database")
    ap.add_argument("--control-dsn", required=True, help="another database")
    ap.add_argument("--db", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--op", choices=("reset", "drop", "none"), default="reset")
    ap.add_argument("--keep-spare", choices=("on", "off"), default="off")
    ap.add_argument("--resets", type=int, default=100)
    ap.add_argument("--pool", type=int, default=4)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--check", action="store_true",
                    help="pool.check() after each reset")
    ap.add_argument("--think-ms", type=float, default=1.0,
                    help="each worker's pause between two queries")
    ap.add_argument("--pause", action="store_true",
                    help="no query in flight during a reset, as in a test "
                    "suite that resets between tests")
    ap.add_argument("--no-prepare", action="store_true",
                    help="prepare_threshold=None, for pgbouncer")
    ap.add_argument("--round-timeout", type=float, default=30.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    # psycopg_pool logs a WARNING for each broken connection it discards
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    rec = Recorder()
    kwargs = {"autocommit": True}
    if args.no_prepare:
        # pgbouncer before 1.21 does not carry prepared statements over
        # in transaction mode: psycopg must not prepare (it does after 5
        # executions of a query)
        kwargs["prepare_threshold"] = None
    pool = psycopg_pool.ConnectionPool(
        args.dsn, min_size=args.pool, max_size=args.pool,
        kwargs=kwargs, timeout=args.round_timeout,
        connection_class=counting_connection(rec))
    pool.wait(timeout=args.round_timeout)
    threads = [threading.Thread(target=worker, daemon=True,
                                args=(pool, rec, "SELECT max(n) FROM marker",
                                      args.think_ms / 1000))
               for _ in range(args.workers)]
    began = time.monotonic()
    for t in threads:
        t.start()
    control = psycopg.connect(args.control_dsn, autocommit=True)
    marks, resets, durations = [], [], []
    failed = None
    for n in range(1, args.resets + 1):
        try:
            with psycopg.connect(args.mark_dsn, autocommit=True) as mark:
                mark.execute("INSERT INTO marker VALUES (%s)", (n,))
        except Exception as exc:
            failed = f"round {n}: marking failed: {code_of(exc)} {exc}"
            break
        marks.append(time.monotonic())
        if not wait_until(lambda: rec.last_value == n, args.round_timeout):
            failed = f"round {n}: the pool never read mark {n}"
            break
        if args.pause:
            with rec.lock:
                rec.go.clear()
            wait_until(lambda: rec.busy == 0, args.round_timeout)
        called = time.monotonic()
        try:
            do_reset(control, args)
        except Exception as exc:
            failed = f"round {n}: the {args.op} failed: {code_of(exc)} {exc}"
            break
        returned = time.monotonic()
        resets.append(returned)
        durations.append((returned - called) * 1000)
        if args.check:
            pool.check()
        rec.go.set()
        if not wait_until(lambda: rec.last_start > returned, args.round_timeout):
            failed = f"round {n}: the pool did not serve again"
            break
    rec.stop.set()
    rec.go.set()
    for t in threads:
        t.join(args.round_timeout)
    pool.close()
    control.close()
    # a round that failed half-way is not counted
    marks = marks[:len(resets)]
    summarize(args, rec, marks, resets, durations, time.monotonic() - began)
    if failed:
        print(f"FAILED {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
