# Copyright (c) 2026, dbreset authors
#
# t/014_standing.pl
#
# Standing workers (src/core/standing.c): a worker that has finished a job stays,
# idle, for the next call of the same database and login role.  Found
# through the DSM registry on 17+, before 17 through the main shared
# memory.  This file turns them on whatever the suite's setting, and never
# preloads dbreset: the list is then made on first use, in the DSM
# registry or (before 17) in the room core leaves in the main shared
# memory, and made anew after a crash restart.  A last server has dbreset
# preloaded: the list is then set aside at startup.
#
#  - a second call reuses the first call's worker (a DEBUG1 line names it);
#  - one job's SET ROLE does not carry over to the next;
#  - a call that fails ends its worker, and the next call starts another;
#  - callers of two login roles get two workers;
#  - two concurrent callers: the second starts a worker of its own;
#  - a caller's statement_timeout mid-job, before and after the point of no
#    return: the database is intact, or gone;
#  - an idle worker leaves when someone else wants its database;
#  - SIGKILL of an idle and of a working worker: after the crash restart
#    the next call works, the database intact;
#  - dbreset.max_idle_workers caps the idle workers, and parallel query
#    gets its workers; an idle worker leaves after
#    dbreset.worker_idle_timeout and its slot is free again.
#  - before 17, with no room left in the main shared memory for the list,
#    every call still works, a worker per call;
#  - preloaded: the list is in the main shared memory from startup, and
#    the second call finds the first call's worker.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# never preloaded: see the header
delete $ENV{DBRESET_TEST_PRELOAD};
sub standing_conf
{
	my ($extra) = @_;
	return "dbreset.worker_idle_timeout = '60s'\n$extra";
}

# restart_after_crash: TAP clusters turn it off, the SIGKILLs need it
my $node = new_node('standing',
	conf => standing_conf(
		"dbreset.max_idle_workers = 4\nrestart_after_crash = on\n"));
my $me = $node->safe_psql('postgres', 'SELECT current_user');

# call(sql, user => role): run sql in database postgres with DEBUG1
#	messages shown; returns (exit code, stdout, stderr)
sub call
{
	my ($sql, %opt) = @_;
	my ($ret, $out, $err) = $node->psql(
		'postgres',
		"SET client_min_messages = debug1;\n$sql",
		extra_params => [ '-U', $opt{user} // $me ]);
	chomp($out, $err);
	return ($ret, $out, $err);
}

# the pids of the dbreset workers of login role "user"
sub workers
{
	my ($user) = @_;
	return $node->safe_psql('postgres', qq(
SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '')
FROM pg_stat_activity
WHERE backend_type = 'dbreset worker' AND usename = '$user'));
}

# until no dbreset worker with this pid is left
sub wait_gone
{
	my ($pid, $what) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
	  or die "$what: worker $pid never left";
	return;
}

# --- a second call reuses the first call's worker -----------------------

make_db($node, $_) for qw(st1 st2);
my ($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st1')");
is($ret, 0, 'first call succeeds');
like($err, qr/DEBUG:  dbreset: started a worker for the drop of database "st1"/,
	'the first call starts a worker');
my $w1 = workers($me);
like($w1, qr/^\d+$/, 'one worker stays, idle');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st2')");
is($ret, 0, 'second call succeeds');
like($err,
	qr/DEBUG:  dbreset: the drop of database "st2" handed to standing worker PID $w1\b/,
	"the second call reuses the first call's worker");
is(db_exists($node, 'st2'), 0, 'and the database is gone');
is(workers($me), $w1, 'the same worker waits again');


# --- a refused call leaves the standing workers alone --------------------

$node->safe_psql('postgres', q(
CREATE ROLE st_weak LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.terminate_sessions(name, interval, interval) TO st_weak;));
my $holder = $node->background_psql('postgres');
($ret, $out, $err) = call("SELECT * FROM dbreset.terminate_sessions('postgres')",
	user => 'st_weak');
like($err, qr/permission denied to terminate process/,
	'terminate_sessions() of a superuser\'s session is refused');
is(workers($me), $w1, 'and the standing worker on that database stays');
$holder->quit;

# --- the next job is found whatever the worker's settings say -----------

# A standing worker reads its role's settings when it connects, after its
# first job was looked up; dynamic_library_path among them must not decide
# where its later jobs are found: they are in the library it runs.
# From 18 on core searches dynamic_library_path for "$libdir/..." module
# names too, so that role could not call dbreset at all: nothing to show.
SKIP:
{
	skip 'from PostgreSQL 18 on, MODULE_PATHNAME is searched on dynamic_library_path too (core behaviour)', 4
	  if $node->pg_version >= 18;
	$node->safe_psql('postgres', q(
	CREATE ROLE st_lp LOGIN;
	ALTER ROLE st_lp SET dynamic_library_path = '/nonexistent';
	GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO st_lp;));
	for my $db (qw(st_lp1 st_lp2))
	{
		make_db($node, $db);
		$node->safe_psql('postgres', "ALTER DATABASE $db OWNER TO st_lp");
	}
	($ret, $out, $err) =
	  call("SELECT dbreset.force_drop_database('st_lp1')", user => 'st_lp');
	is($ret, 0, 'dynamic_library_path elsewhere: the first call succeeds');
	my $wlp = workers('st_lp');
	($ret, $out, $err) =
	  call("SELECT dbreset.force_drop_database('st_lp2')", user => 'st_lp');
	is($ret, 0, 'and so does the next, in the same standing worker')
	  or diag($err);
	like($err, qr/handed to standing worker PID $wlp\b/,
		'(served by the standing worker)');
	is(db_exists($node, 'st_lp2'), 0, 'the database is gone');
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($wlp)");
	wait_gone($wlp, 'the worker of st_lp');
}

# --- SET ROLE does not carry over to the next job -----------------------

$node->safe_psql('postgres', q(
CREATE ROLE st_r1 CREATEDB;
GRANT EXECUTE ON FUNCTION dbreset.clone_database(name, name, boolean, interval) TO st_r1;));
make_db($node, 'st_src');
$node->safe_psql('postgres', 'ALTER DATABASE st_src OWNER TO st_r1');
($ret, $out, $err) = call(
	"SET ROLE st_r1; SELECT dbreset.clone_database('st_src', 'st_c1')");
is($ret, 0, 'a clone under SET ROLE succeeds');
like($err, qr/handed to standing worker PID $w1\b/, 'in the same worker');
($ret, $out, $err) =
  call("SELECT dbreset.clone_database('st_src', 'st_c2')");
like($err, qr/handed to standing worker PID $w1\b/,
	'the next clone, without SET ROLE, too');
is( $node->safe_psql(
		'postgres', q(
SELECT string_agg(datname || ':' || pg_get_userbyid(datdba), ' ' ORDER BY datname)
FROM pg_database WHERE datname IN ('st_c1', 'st_c2'))),
	"st_c1:st_r1 st_c2:$me",
	'each clone belongs to its own caller\'s current user: the role did not carry over');

# --- a job after a drop can be interrupted -----------------------------

# The drop's point of no return held cancels off; a later job of the same
# worker must be interruptible again.  The clone's worker waits for the
# source's lock, which a rename holds: the call's timeout (a lock_timeout
# in the worker) ends it.
make_db($node, 'st_held');
my $renamer = $node->background_psql('postgres', on_error_stop => 0);
$renamer->query_safe('BEGIN');
$renamer->query_safe('ALTER DATABASE st_held RENAME TO st_held_x');
my $timed_out = 0;
($ret, $out, $err) = $node->psql(
	'postgres',
	"SET client_min_messages = debug1;
SELECT dbreset.clone_database('st_held', 'st_heldc', timeout => '1s')",
	timeout => 60,
	timed_out => \$timed_out);
is($timed_out, 0, 'after a drop, the same worker can be interrupted again');
like($err, qr/handed to standing worker PID $w1\b/, 'it served the call');
like($err, qr/could not lock database "st_held" within 1000 ms/,
	"the call's timeout ends its wait for the lock");
$renamer->query_safe('ROLLBACK');
$renamer->quit;
is(db_exists($node, 'st_heldc'), 0, 'nothing was copied');
wait_gone($w1, 'interrupted job');
make_db($node, 'st_after');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st_after')");
like($err, qr/started a worker/,
	'the failed call ended its worker: the next one starts another');
$w1 = workers($me);

# --- a call that fails ends its worker ----------------------------------

make_db($node, 'st3');
$node->safe_psql('st3',
	"BEGIN; INSERT INTO t VALUES (0); PREPARE TRANSACTION 'st3_px'");
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st3')");
isnt($ret, 0, 'a drop refused for a prepared transaction fails');
like($err, qr/handed to standing worker PID $w1\b/, 'in the standing worker');
like($err, qr/is being used by prepared transactions/, 'with the refusal');
wait_gone($w1, 'failed call');
is(row_count($node, 'st3'), 100, 'the database is intact, with its rows');
$node->safe_psql('st3', "ROLLBACK PREPARED 'st3_px'");
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st3')");
is($ret, 0, 'the next call succeeds');
like($err, qr/started a worker/, 'with a new worker');
my $w2 = workers($me);
isnt($w2, $w1, 'whose pid is another');

# --- two login roles, two workers ---------------------------------------

$node->safe_psql('postgres', q(
CREATE ROLE st_u2 LOGIN CREATEDB;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO st_u2;
CREATE DATABASE st4 OWNER st_u2;));
($ret, $out, $err) =
  call("SELECT dbreset.force_drop_database('st4')", user => 'st_u2');
is($ret, 0, "another role's call succeeds");
like($err, qr/started a worker/, 'with a worker of its own');
my $wu2 = workers('st_u2');
like($wu2, qr/^\d+$/, 'which stays for that role');
isnt($wu2, $w2, 'and is not the first role\'s');
make_db($node, 'st4b');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st4b')");
like($err, qr/handed to standing worker PID $w2\b/,
	'the first role still gets its own worker');

# --- two concurrent callers ---------------------------------------------

# The first caller waits for a session that cannot leave (SIGSTOP); the
# second clones rather than drops, since on 15+ every DROP DATABASE waits
# for every backend, the stopped one too, to absorb a ProcSignalBarrier.
make_db($node, 'st5');
my $stuck = bystander($node, 'st5');
my $stuck_pid = session_pid($stuck);
stop_process($stuck_pid);
my $c1 = $node->background_psql('postgres', on_error_stop => 0);
$c1->query_safe('SET client_min_messages = debug1');
$c1->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('st5', timeout => '60s');\n");
$node->poll_query_until('postgres', qq(
SELECT count(*) = 1 FROM pg_locks
WHERE pid = $w2 AND locktype = 'object' AND classid = 'pg_database'::regclass
  AND objid = (SELECT oid FROM pg_database WHERE datname = 'st5') AND granted))
  or die 'the first caller\'s worker never took the lock';
($ret, $out, $err) =
  call("SELECT dbreset.clone_database('st_src', 'st6')");
is($ret, 0, 'a second caller succeeds while the first one waits');
like($err, qr/started a worker/, 'with a worker of its own');
continue_process($stuck_pid);
is($c1->query('\echo done'), "1\ndone",
	'the first caller finishes, having terminated the session');
like($c1->{stderr}, qr/handed to standing worker PID $w2\b/,
	'the first caller had the standing worker');
is(db_exists($node, 'st5') . db_exists($node, 'st6'), '01',
	'the first one dropped, the second one cloned');
$c1->quit;

# --- statement_timeout mid-job ------------------------------------------

# before the point of no return: the job is cancelled, the worker leaves
make_db($node, 'st7');
$w2 = (split /,/, workers($me))[0];
$stuck = bystander($node, 'st7');
$stuck_pid = session_pid($stuck);
stop_process($stuck_pid);
($ret, $out, $err) = call("SET statement_timeout = '1s';
SELECT dbreset.force_drop_database('st7', timeout => '60s')");
like($err, qr/canceling statement due to statement timeout/,
	'statement_timeout while the sessions leave cancels the call');
continue_process($stuck_pid);
is(row_count($node, 'st7'), 100, 'the database is intact');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st7')");
is($ret, 0, 'the next call succeeds');
is(db_exists($node, 'st7'), 0, 'and drops it');

# past the point of no return: the DROP goes on, the call comes back
make_db($node, 'st8');
my $locker = $node->background_psql('postgres', on_error_stop => 0);
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE pg_database IN SHARE MODE');
my $c2 = $node->background_psql('postgres', on_error_stop => 0);
$c2->query_until(qr/started/, "SET statement_timeout = '1s';\n"
	  . "\\echo started\nSELECT dbreset.force_drop_database('st8');\n");
$node->poll_query_until('postgres', q(
SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE a.backend_type = 'dbreset worker'
  AND l.relation = 'pg_database'::regclass AND NOT l.granted))
  or die 'the worker never waited for pg_database';
sleep(1.5);
$locker->query_safe('COMMIT');
$c2->query('\echo done');
like($c2->{stderr}, qr/continues in the background/,
	'statement_timeout past the point of no return: a WARNING says so');
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_database WHERE datname = 'st8'"),
	'and the database is gone, not half');
$c2->quit;
$locker->quit;
make_db($node, 'st8b');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st8b')");
is($ret, 0, 'the next call succeeds');

# --- an idle worker leaves when someone wants its database --------------

$node->safe_psql('postgres', 'CREATE DATABASE st_home');
$node->safe_psql('st_home', 'CREATE EXTENSION dbreset');
make_db($node, 'st9');
($ret, $out, $err) = $node->psql('st_home',
	"SELECT dbreset.force_drop_database('st9')");
is($ret, 0, 'a call from another database succeeds');
my $home = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbreset worker' AND datname = 'st_home'"
);
like($home, qr/^\d+$/, 'its worker stays, connected to that database');
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE st_home');
is($ret, 0, 'a plain DROP DATABASE of that database succeeds: the worker left');
wait_gone($home, 'plain DROP');

# --- SIGKILL: an idle worker, a working one -----------------------------

my $idle = (split /,/, workers($me))[0];
ok(kill('KILL', $idle), 'SIGKILL an idle worker');
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'no restart';
make_db($node, 'st10');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st10')");
is($ret, 0, 'after the restart, the next call succeeds');
make_db($node, 'st10b');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st10b')");
like($err,
	qr/DEBUG:  dbreset: the drop of database "st10b" handed to standing worker PID \d+/,
	'and the one after it finds that call\'s worker standing: the list was made anew');

make_db($node, 'st11');
$locker = $node->background_psql('postgres', on_error_stop => 0);
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE pg_database IN SHARE MODE');
my $c3 = $node->background_psql('postgres', on_error_stop => 0);
$c3->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('st11');\n");
$node->poll_query_until('postgres', q(
SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE a.backend_type = 'dbreset worker'
  AND l.relation = 'pg_database'::regclass AND NOT l.granted))
  or die 'the worker never waited for pg_database';
my $working = $node->safe_psql('postgres', q(
SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE a.backend_type = 'dbreset worker'
  AND l.relation = 'pg_database'::regclass AND NOT l.granted));
ok(kill('KILL', $working), 'SIGKILL a working worker');
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'no restart';
eval { $c3->quit };
eval { $locker->quit };
is(row_count($node, 'st11'), 100,
	'the database is intact: the DROP had not begun');
($ret, $out, $err) = call("SELECT dbreset.force_drop_database('st11')");
is($ret, 0, 'the next call drops it');
is(db_exists($node, 'st11'), 0, 'and it is gone');
$node->stop;

# --- the cap, parallel query, the idle timeout --------------------------

# max_worker_processes 4: the logical replication launcher, one idle dbreset
# worker (the cap), two parallel workers
my $pq = new_node('pq', conf => standing_conf(q(
max_worker_processes = 4
max_parallel_workers = 4
dbreset.max_idle_workers = 1
)));
my $pqme = $pq->safe_psql('postgres', 'SELECT current_user');
$pq->safe_psql('postgres', q(
CREATE ROLE pq_a LOGIN CREATEDB;
CREATE ROLE pq_b LOGIN CREATEDB;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO pq_a, pq_b;
CREATE DATABASE pq1 OWNER pq_a;
CREATE DATABASE pq2 OWNER pq_b;
CREATE DATABASE pq3;
CREATE TABLE big AS SELECT g FROM generate_series(1, 100000) g;
ANALYZE big;));
for my $c (['pq1', 'pq_a'], ['pq2', 'pq_b'], ['pq3', $pqme])
{
	my ($r) = $pq->psql('postgres',
		"SELECT dbreset.force_drop_database('$c->[0]')",
		extra_params => [ '-U', $c->[1] ]);
	is($r, 0, "$c->[1] drops $c->[0]");
}
$pq->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'dbreset worker'"
) or die 'more idle workers than the cap';
pass('three login roles, but dbreset.max_idle_workers = 1 idle worker');
my $plan = $pq->safe_psql('postgres', q(
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM big));
like($plan, qr/Workers Launched: 2/,
	'parallel query gets its workers beside the idle one');

$pq->safe_psql('postgres',
	"ALTER SYSTEM SET dbreset.worker_idle_timeout = '1s'; SELECT pg_reload_conf()");
$pq->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'dbreset worker'"
) or die 'the idle worker never left';
pass('the idle worker leaves after dbreset.worker_idle_timeout');
$plan = $pq->safe_psql('postgres', q(
SET max_parallel_workers_per_gather = 3;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM big));
like($plan, qr/Workers Launched: 3/, 'and its slot is free again');
$pq->stop;

# --- no room left in the main shared memory (before 17) ---------------
# The list is taken on first use from what the main shared memory has
# left.  A lock table grown past its size (advisory locks until "out of
# shared memory") can leave less than the list needs, for good: dbreset
# must then work as it did without the list, a worker per call.  How much
# is left depends on the build and the settings: max_connections is tried
# from 100 up until less than the list's 772 bytes (and the index entry)
# is left; if none does, the case is skipped, saying so.
SKIP:
{
	my $full = new_node('full', conf => standing_conf(''));
	skip 'from 17 on the list is in the DSM registry', 4
	  if $full->pg_version >= 17;
	my $left;
	for my $mc (100 .. 120)
	{
		$full->append_conf('postgresql.conf', "max_connections = $mc\n");
		$full->restart;
		$full->psql('postgres',
			'SELECT count(pg_advisory_xact_lock(g)) FROM generate_series(1, 200000) g');
		$left = $full->safe_psql('postgres',
			'SELECT coalesce(sum(size), 0) FROM pg_shmem_allocations WHERE name IS NULL');
		note "max_connections $mc: $left bytes of main shared memory left";
		last if $left < 640;
	}
	skip "no max_connections from 100 to 120 left less than the list needs", 4
	  if $left >= 640;
	make_db($full, 'full1');
	my ($r, $o, $e) = $full->psql('postgres',
		"SELECT count(*) FROM dbreset.sessions('full1')");
	is("$r:$o", '0:0', 'no room for the list: dbreset.sessions() works') or diag $e;
	($r, $o, $e) = $full->psql('postgres',
		"SELECT dbreset.force_drop_database('full1')");
	is("$r:$o", '0:0', 'and a drop works, a worker per call') or diag $e;
	is(db_exists($full, 'full1'), 0, 'and the database is gone');
	# last: a session whose interrupts stay held would hold up a drop
	($r, $o, $e) = $full->psql('postgres',
		"SELECT count(*) FROM dbreset.sessions('postgres');
		 SET statement_timeout = '100ms'; SELECT pg_sleep(5)");
	like($e, qr/canceling statement due to statement timeout/,
		'a session that met no room still takes interrupts afterwards');
	$full->stop('immediate');
}

# --- preloaded: the list set aside at startup ----------------------------

my $pre = new_node('preloaded',
	conf => standing_conf("shared_preload_libraries = 'dbreset'\n"));
is( $pre->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_shmem_allocations WHERE name = 'dbreset standing workers'"
	),
	1,
	'preloaded, the list is in the main shared memory from startup'
);
make_db($pre, $_) for qw(pre1 pre2);
$pre->safe_psql('postgres', "SELECT dbreset.force_drop_database('pre1')");
my ($pret, $pout, $perr) = $pre->psql('postgres',
	"SET client_min_messages = debug1;\nSELECT dbreset.force_drop_database('pre2')");
like($perr,
	qr/DEBUG:  dbreset: the drop of database "pre2" handed to standing worker PID \d+/,
	'preloaded, the second call finds the first call\'s worker standing');
$pre->stop;

done_testing();
