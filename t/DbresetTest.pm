#
# DbresetTest -- helpers shared by dbreset's TAP tests.
#
# Every test starts its own cluster with new_node(); nothing here talks to a
# cluster the test did not start.  The environment variable
# DBRESET_USE_FORCE_OPTION (on/off) is written into each cluster's
# configuration, so that scripts/test can run the whole suite with the
# final DROP DATABASE done WITH (FORCE) and without it; so are
# DBRESET_TEST_WORKERS (per-call: dbreset.worker_idle_timeout = 0, else
# standing workers where the major has them) and DBRESET_TEST_PRELOAD (set:
# dbreset in shared_preload_libraries).

package DbresetTest;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(new_node make_db db_exists row_count wait_for_sessions
  stop_process continue_process wait_for_drop_lock wait_for_no_worker
  session_pid end_session session_error psql_verbose bystander
  bystander_alive worker_pid wait_for_lock_waiter is_fresh spare_ready
  set_test_point is_test_build);

# new_node(name, %params)
#	A started cluster with dbreset created in database postgres.  %params:
#	conf => extra postgresql.conf lines, init => params for init().
sub new_node
{
	my ($name, %params) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	my $force = $ENV{DBRESET_USE_FORCE_OPTION} // 'on';
	my $workers = $ENV{DBRESET_TEST_WORKERS} // 'standing';

	$node->init(%{ $params{init} // {} });
	$node->append_conf(
		'postgresql.conf', qq(
max_prepared_transactions = 4
max_connections = 60
dbreset.use_force_option = $force
log_min_messages = info
));
	# scripts/test: one pass with a worker per call, one with standing ones
	$node->append_conf('postgresql.conf', "dbreset.worker_idle_timeout = 0\n")
	  if $workers eq 'per-call';
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'dbreset'\n")
	  if $ENV{DBRESET_TEST_PRELOAD};
	$node->append_conf('postgresql.conf', $params{conf}) if $params{conf};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION dbreset');
	return $node;
}

# make_db(node, name, %params)
#	A database with a table t of 100 rows, so that "still there, with its
#	data" can be checked after a refusal.  owner => role.
sub make_db
{
	my ($node, $name, %params) = @_;
	my $owner = $params{owner} ? " OWNER $params{owner}" : '';

	$node->safe_psql('postgres', qq(CREATE DATABASE "$name"$owner));
	$node->safe_psql($name,
		'CREATE TABLE t (i int); INSERT INTO t SELECT generate_series(1, 100)'
	);
	return;
}

# db_exists(node, name): 1 or 0
sub db_exists
{
	my ($node, $name) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_database WHERE datname = '$name'");
}

# row_count(node, name): the rows of t, read through a new connection --
# proving the database is connectable and has its data.
sub row_count
{
	my ($node, $name) = @_;
	return $node->safe_psql($name, 'SELECT count(*) FROM t');
}

# wait_for_sessions(node, dbname, n): until n sessions are on dbname
sub wait_for_sessions
{
	my ($node, $dbname, $n) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = $n FROM dbreset.sessions('$dbname')")
	  or die "timed out waiting for $n sessions on $dbname";
	return;
}

# session_pid(background psql): the backend pid behind it
sub session_pid
{
	my ($session) = @_;
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	chomp $pid;
	return $pid;
}

# end_session(background psql): stop psql whatever state it is in -- its
# backend may have been terminated, or may be running a long query.
sub end_session
{
	my ($session) = @_;
	eval { $session->{run}->kill_kill; };
	return;
}

# session_error(background psql): what psql printed on stderr when it next
# tried to talk to its backend -- for sessions that were terminated.
sub session_error
{
	my ($session) = @_;
	eval { $session->query('SELECT 1'); };
	return $session->{stderr};
}

# psql_verbose(node, dbname, sql, %params): ($ret, $stdout, $stderr) of a
#	psql run whose errors carry their SQLSTATE ("ERROR:  55006: ...").
#	%params go to PostgreSQL::Test::Cluster::psql (extra_params, ...).
sub psql_verbose
{
	my ($node, $dbname, $sql, %params) = @_;
	my ($ret, $out, $err) =
	  $node->psql($dbname, "\\set VERBOSITY verbose\n$sql", %params);
	return ($ret, $out, $err);
}

# bystander(node, dbname, %params): a session on dbname that has read its
#	table t -- the session a refusal must leave alone.
sub bystander
{
	my ($node, $dbname, %params) = @_;
	my $s = $node->background_psql($dbname, on_error_stop => 0, %params);
	$s->query_safe('SELECT count(*) FROM t');
	return $s;
}

# bystander_alive(session): 1 if the session still answers with the 100
#	rows of t, else 0 -- without dying when it was terminated.
sub bystander_alive
{
	my ($s) = @_;
	my $n = eval { $s->query('SELECT count(*) FROM t') };
	return (defined $n && $n eq '100') ? 1 : 0;
}

# worker_pid(node): the pid of the one dbreset worker running
sub worker_pid
{
	my ($node) = @_;
	my $pid;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'dbreset worker'"
	) or die 'no dbreset worker';
	$pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbreset worker'");
	return $pid;
}

# stop_process / continue_process: freeze a backend with SIGSTOP so that a
# SIGTERM stays pending -- a session that will not leave until we let it.
sub stop_process
{
	my ($pid) = @_;
	kill 'STOP', $pid or die "could not stop $pid: $!";
	return;
}

sub continue_process
{
	my ($pid) = @_;
	kill 'CONT', $pid or die "could not continue $pid: $!";
	return;
}

# wait_for_drop_lock(node, dbname): until force_drop_database() holds the
# database's lock and its worker is up, i.e. the drop is under way and new
# connections wait.
sub wait_for_drop_lock
{
	my ($node, $dbname) = @_;
	$node->poll_query_until(
		'postgres', qq(
SELECT count(*) = 1
FROM pg_locks l
WHERE l.locktype = 'object'
  AND l.classid = 'pg_database'::regclass
  AND l.objid = (SELECT oid FROM pg_database WHERE datname = '$dbname')
  AND l.mode = 'AccessExclusiveLock' AND l.granted
  AND EXISTS (SELECT FROM pg_stat_activity
              WHERE backend_type = 'dbreset worker'))) or die "no drop lock on $dbname";
	return;
}

# wait_for_lock_waiter(node, dbname, who): until some process waits for a
#	lock on database dbname (a newcomer in InitPostgres, a session's
#	COMMENT ON DATABASE); "who" names it in the error if none ever does.
sub wait_for_lock_waiter
{
	my ($node, $dbname, $who) = @_;
	$node->poll_query_until(
		'postgres', qq(
SELECT count(*) = 1 FROM pg_locks
WHERE locktype = 'object' AND classid = 'pg_database'::regclass
  AND objid = (SELECT oid FROM pg_database WHERE datname = '$dbname')
  AND NOT granted)) or die "$who never waited for the lock on $dbname";
	return;
}

# is_fresh(node, dbname): 1 if dbname is a fresh copy of the reset tests'
#	template -- it has the template's table "fresh" and not the table "t"
#	that make_db() and the tests create -- else 0.
sub is_fresh
{
	my ($node, $db) = @_;
	return $node->safe_psql($db,
		"SELECT count(*) FILTER (WHERE relname = 'fresh') = 1
		    AND count(*) FILTER (WHERE relname = 't') = 0
		 FROM pg_class WHERE relname IN ('t', 'fresh')") eq 't' ? 1 : 0;
}

# spare_ready(node, db): until a ready spare of db is listed and nothing
# else (no spare being made, nothing left to drop)
sub spare_ready
{
	my ($node, $db) = @_;
	return $node->poll_query_until(
		'postgres', qq(
SELECT count(*) FILTER (WHERE dbname = '$db' AND state = 'ready') = 1
   AND count(*) FILTER (WHERE state <> 'ready') = 0
FROM dbreset.spares()));
}

# wait_for_no_worker(node): until no dbreset worker is left
sub wait_for_no_worker
{
	my ($node) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'dbreset worker'"
	) or die "dbreset worker still running";
	return;
}

# is_test_build(node): whether node's dbreset is a test build (make
# DBRESET_TESTING=1), which has the setting dbreset.test_stop_at
sub is_test_build
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"LOAD 'dbreset'; SELECT count(*) FROM pg_settings WHERE name = 'dbreset.test_stop_at'"
	) eq '1';
}

# set_test_point(node, point[, session]): dbreset.test_stop_at = point for
# every process of node ('' for none; test builds), set through session (a
# background_psql) if given, and waited for until the server has read it
sub set_test_point
{
	my ($node, $point, $session) = @_;
	# (ALTER SYSTEM knows the setting once the library is loaded)
	my $sql = "LOAD 'dbreset';\n"
	  . ($point eq '' ? 'ALTER SYSTEM RESET dbreset.test_stop_at'
		: "ALTER SYSTEM SET dbreset.test_stop_at = '$point'")
	  . '; SELECT pg_reload_conf()';
	if ($session)
	{
		$session->query($sql);
		die "setting test point failed: $session->{stderr}"
		  if $session->{stderr} ne '';
	}
	else
	{
		$node->safe_psql('postgres', $sql);
	}
	$node->poll_query_until('postgres',
		"SELECT coalesce(current_setting('dbreset.test_stop_at', true), '') = '$point'")
	  or die "the server never read dbreset.test_stop_at = '$point'";
	return;
}

1;
