# t/001_force_drop.pl
#
# force_drop_database() with real sessions: idle, active, idle in
# transaction and lock-holding sessions are terminated and the database is
# gone; a connection attempted during the drop fails cleanly; the LOG line
# names who was terminated; the pre-13 flow (no FORCE) works the same.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('main');

# --- four kinds of sessions, all terminated, database gone -------------

make_db($node, 'd1');
my $idle = $node->background_psql('d1', on_error_stop => 0);
$idle->query_safe('SELECT 1');

my $active = $node->background_psql('d1', on_error_stop => 0);
$active->query_until(qr/started/, "\\echo started\nSELECT pg_sleep(600);\n");

my $in_xact = $node->background_psql('d1', on_error_stop => 0);
$in_xact->query_safe('BEGIN');
$in_xact->query_safe('SELECT count(*) FROM t');

my $locker = $node->background_psql('d1', on_error_stop => 0);
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE t IN SHARE MODE');

wait_for_sessions($node, 'd1', 4);
my @d1_pids = split /\n/,
  $node->safe_psql('postgres',
	"SELECT pid FROM dbreset.sessions('d1') ORDER BY pid");
my $me = $node->safe_psql('postgres', 'SELECT current_user');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(state, ',' ORDER BY state) FROM dbreset.sessions('d1')"
	),
	'active,idle,idle in transaction,idle in transaction',
	'sessions() sees the four states');

my $terminated =
  $node->safe_psql('postgres', "SELECT dbreset.force_drop_database('d1')");
is($terminated, 4, 'four sessions terminated');
is(db_exists($node, 'd1'), 0, 'd1 is gone');
is($node->safe_psql('postgres', "SELECT count(*) FROM dbreset.sessions('postgres') WHERE backend_type = 'client backend'"),
	0, 'no session of d1 survived anywhere');
ok( $node->log_contains(
		qr/LOG:  role "\Q$me\E" dropped database "d1" after terminating 4 sessions/),
	'LOG line records who dropped d1 and how many were terminated');
my ($detail) = slurp_file($node->logfile) =~
  /dropped database "d1" after terminating 4 sessions\n[^\n]*DETAIL:  Terminated: ([^\n]*)\n/;
my @named = sort { $a <=> $b } (($detail // '') =~
	  /pid (\d+) \(user \Q$me\E, application 001_force_drop\.pl\)/g);
is(join(',', @named), join(',', @d1_pids),
	'LOG detail names each of the four sessions: pid, user, application');

# the clients see core's termination message
like(session_error($idle), qr/terminating connection due to administrator command/,
	'idle client was told why (core behaviour)');
end_session($_) for ($idle, $active, $in_xact, $locker);

# --- a connection attempted during the drop waits, then fails cleanly --

make_db($node, 'd2');
my $frozen = $node->background_psql('d2', on_error_stop => 0);
my $frozen_pid = session_pid($frozen);
stop_process($frozen_pid);

my $dropper = $node->background_psql('postgres', on_error_stop => 0);
$dropper->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('d2', timeout => '60s');\n"
);
wait_for_drop_lock($node, 'd2');

my ($stdout, $stderr) = ('', '');
my $late = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('d2'), '-c', 'SELECT 1' ],
	'>', \$stdout, '2>', \$stderr);

# the newcomer waits on the database lock, uncounted, in InitPostgres
wait_for_lock_waiter($node, 'd2', 'the newcomer');
is($node->safe_psql('postgres', "SELECT count(*) FROM dbreset.sessions('d2')"),
	1, 'the waiting newcomer is not a session yet');

continue_process($frozen_pid);
$late->finish;
like($stderr, qr/database "d2" does not exist/,
	'connection attempted during the drop fails with 3D000');
$dropper->query_safe('SELECT 1');
is(db_exists($node, 'd2'), 0, 'd2 is gone');
end_session($dropper);
end_session($frozen);

# --- the pre-13 flow: terminate, wait, plain DROP DATABASE --------------

make_db($node, 'd3');
my @plain = map { $node->background_psql('d3', on_error_stop => 0) } 1 .. 3;
$_->query_safe('SELECT 1') for @plain;
wait_for_sessions($node, 'd3', 3);
is( $node->safe_psql(
		'postgres', q(
SET dbreset.use_force_option = off;
SELECT dbreset.force_drop_database('d3');)),
	3,
	'use_force_option = off: three sessions terminated');
is(db_exists($node, 'd3'), 0, 'd3 is gone without FORCE');
end_session($_) for @plain;

# --- terminate_sessions(): rows per session, database kept -------------

make_db($node, 'd4');
my @victims = map { $node->background_psql('d4', on_error_stop => 0) } 1 .. 2;
$victims[$_]->query_safe("SET application_name = 'victim$_'") for 0 .. 1;
wait_for_sessions($node, 'd4', 2);
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(application_name || ':' || state, ',' ORDER BY application_name) FROM dbreset.terminate_sessions('d4')"
	),
	'victim0:idle,victim1:idle',
	'terminate_sessions() returns one row per session');
is($node->safe_psql('postgres', "SELECT count(*) FROM dbreset.sessions('d4')"),
	0, 'they are gone when it returns');
is(row_count($node, 'd4'), 100, 'd4 kept with its rows');
end_session($_) for @victims;

# --- a pg_database row with a TOASTed ACL --------------------------------
# (PostgreSQL 15 gave pg_database a TOAST table.)  Deleting the row needs
# an active snapshot in the worker, as a top-level statement has one.

SKIP:
{
	skip 'pg_database has no TOAST table before PostgreSQL 15', 3
	  if $node->pg_version < 15;

	make_db($node, 'd5');
	$node->safe_psql(
		'postgres', q{
DO $$
BEGIN
	FOR i IN 1 .. 2000 LOOP
		EXECUTE format('CREATE ROLE toast_r%s', i);
	END LOOP;
END $$;
SELECT 'GRANT CONNECT ON DATABASE d5 TO '
       || string_agg(format('toast_r%s', g), ', ')
FROM generate_series(1, 2000) g \gexec
});
	is( $node->safe_psql(
			'postgres',
			"SELECT pg_column_size(datacl) > 2000 FROM pg_database WHERE datname = 'd5'"
		),
		't',
		'd5 has a large (TOASTed) ACL');
	my $user = $node->background_psql('d5', on_error_stop => 0);
	session_pid($user);
	is($node->safe_psql('postgres', "SELECT dbreset.force_drop_database('d5')"),
		1, 'TOASTed ACL: one session terminated');
	is(db_exists($node, 'd5'), 0, 'TOASTed ACL: d5 is gone');
	end_session($user);
}

# --- callers that end right after the call ------------------------------
#
# A call returns once its worker has exited, so its slot is free for the
# next call (and a helper in a lock group never outlives its leader: such
# a member never gets its PGPROC back on the free list).  Many more calls
# from one-shot sessions than there are worker slots all succeed.
my $oneshot = new_node('oneshot', conf => "max_worker_processes = 2\n");
my $calls = 30;
for my $i (1 .. $calls)
{
	$oneshot->safe_psql('postgres', "CREATE DATABASE oneshot$i");
	my ($r, $o, $e) = $oneshot->psql('postgres',
		"SELECT dbreset.force_drop_database('oneshot$i')");
	if ($r != 0)
	{
		fail("one-shot call $i of $calls: $e");
		last;
	}
}
is($oneshot->safe_psql('postgres',
		"SELECT count(*) FROM pg_database WHERE datname LIKE 'oneshot%'"),
	'0', 'more one-shot calls than worker slots: every database dropped');
unlike(slurp_file($oneshot->logfile), qr/sorry, too many clients already/,
	'no worker ran out of process slots');
$oneshot->stop;

# --- the settings prefix is reserved --------------------------------------

# Once the library is loaded, a misspelt dbreset.* setting is an error, not
# a silent placeholder (MarkGUCPrefixReserved, 15+; 13 and 14 only warn
# about placeholders set before the load).
SKIP:
{
	skip 'MarkGUCPrefixReserved() exists from PostgreSQL 15 on', 1
	  if $node->pg_version < 15;
	my ($r, $o, $e) = $node->psql('postgres',
		"LOAD 'dbreset'; SET dbreset.no_such_setting = 1");
	like($e,
		qr/invalid configuration parameter name "dbreset\.no_such_setting"/,
		'a misspelt dbreset.* setting is refused once the library is loaded');
}

$node->stop;
done_testing();
