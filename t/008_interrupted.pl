# t/008_interrupted.pl
#
# A call interrupted after its worker has passed the point of no return:
# the worker holds the database lock itself, so nobody connects to a
# database being dropped in the background; the call does not return while
# its worker runs (a second cancel gives the wait up, and the session's
# next call waits for that worker, then fails naming it).  Also: an error
# raised in the worker reaches the caller intact, with a context line; the
# worker acts with the caller's identity, not the session user's.
#
# To stop a worker after its point of no return, a session holds
# pg_database in SHARE mode: DROP DATABASE opens it in ROW EXCLUSIVE mode
# first.  Nothing else in a call needs that lock.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('intr');

# a session that makes the worker's DROP wait on pg_database
sub catalog_locker
{
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	$s->query_safe('BEGIN');
	$s->query_safe('LOCK TABLE pg_database IN SHARE MODE');
	return $s;
}

# until the dbreset worker waits for pg_database: past its point of no
# return, holding the database lock
sub wait_worker_blocked
{
	my $wpid = worker_pid($node);
	$node->poll_query_until(
		'postgres', qq(
SELECT count(*) = 1 FROM pg_locks
WHERE pid = $wpid AND relation = 'pg_database'::regclass AND NOT granted))
	  or die 'the worker never waited for pg_database';
	return $wpid;
}

# --- one cancel: the call returns only once the DROP is done ------------

make_db($node, 'i1');
my $locker = catalog_locker();
my $caller = $node->background_psql('postgres', on_error_stop => 0);
my $caller_pid = session_pid($caller);
$caller->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('i1', timeout => '60s');\n");
my $wpid = wait_worker_blocked();

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_cancel_backend($caller_pid)");
$node->wait_for_log(qr/the drop of database "i1" continues in the background/,
	$log_offset);
# still waiting for its worker, cancel held off: the call has not returned
is( $node->safe_psql(
		'postgres', "SELECT state FROM pg_stat_activity WHERE pid = $caller_pid"),
	'active',
	'one cancel: the call waits for its worker to finish');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $wpid"),
	1, 'one cancel: the worker goes on with the DROP');

$locker->query_safe('COMMIT');
wait_for_no_worker($node);
my $err = session_error($caller);
like($err, qr/WARNING:  the drop of database "i1" continues in the background/,
	'one cancel: the caller was warned');
like($err, qr/ERROR:  canceling statement due to user request/,
	'one cancel: then reports the cancel');
is(db_exists($node, 'i1'), 0, 'one cancel: i1 was dropped, as the warning said');
ok(!$node->log_contains(qr/FATAL:.*dbreset/, $log_offset),
	'one cancel: no FATAL line in the server log');
end_session($caller);

# --- two cancels: the call gives up waiting; the lock stays held --------

make_db($node, 'i2');
$locker = catalog_locker();
$caller = $node->background_psql('postgres', on_error_stop => 0);
$caller_pid = session_pid($caller);
$caller->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('i2', timeout => '60s');\n");
$wpid = wait_worker_blocked();
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_cancel_backend($caller_pid)");
$node->wait_for_log(qr/the drop of database "i2" continues in the background/,
	$log_offset);
$node->safe_psql('postgres', "SELECT pg_cancel_backend($caller_pid)");
$node->poll_query_until('postgres',
	"SELECT state = 'idle' FROM pg_stat_activity WHERE pid = $caller_pid")
  or die 'the twice-cancelled caller never returned';
like(session_error($caller), qr/ERROR:  canceling statement due to user request/,
	'two cancels: the call returns');

# the caller has let its lock go; the worker's own lock keeps newcomers out
my ($stdout, $stderr) = ('', '');
my $late = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('i2'), '-c', 'SELECT 1' ],
	'>', \$stdout, '2>', \$stderr);
$node->poll_query_until(
	'postgres', qq(
SELECT count(*) = 1 FROM pg_locks
WHERE locktype = 'object' AND classid = 'pg_database'::regclass
  AND objid = (SELECT oid FROM pg_database WHERE datname = 'i2')
  AND NOT granted)) or die 'the newcomer never waited';
is( $node->safe_psql(
		'postgres', qq(
SELECT count(*) FROM pg_locks
WHERE locktype = 'object' AND classid = 'pg_database'::regclass
  AND objid = (SELECT oid FROM pg_database WHERE datname = 'i2')
  AND granted AND mode = 'AccessExclusiveLock' AND pid = $wpid)),
	1,
	'two cancels: the worker holds the database lock itself');
is($node->safe_psql('postgres', "SELECT count(*) FROM dbreset.sessions('i2')"),
	0, 'two cancels: the newcomer waits on the lock, not connected');

# the same session tries again: it waits for the earlier worker, then fails
my ($ret, $out);
$caller->{stderr} = '';
$caller->query_until(qr/started/,
	"\\echo started\n\\set VERBOSITY verbose\nSELECT dbreset.force_drop_database('i2', timeout => '300ms');\n");
$node->poll_query_until('postgres',
	"SELECT state = 'idle' FROM pg_stat_activity WHERE pid = $caller_pid")
  or die 'the retry never returned';
$err = session_error($caller);
like($err,
	qr/ERROR:  55006: the drop of database "i2", started by an earlier call in this session, is still in progress/,
	'retry: refused, naming the drop in progress');
like($err, qr/background worker \(PID $wpid\) is still running/,
	'retry: the detail names the worker');

$locker->query_safe('COMMIT');
$late->finish;
like($stderr, qr/database "i2" does not exist/,
	'the newcomer finds the database gone');
wait_for_no_worker($node);
is(db_exists($node, 'i2'), 0, 'two cancels: i2 was dropped in the background');
$caller->{stderr} = '';
$caller->query("SELECT dbreset.force_drop_database('i2', if_exists => true)");
like($caller->{stderr}, qr/database "i2" does not exist, skipping/,
	'the next call of that session runs once the worker is gone');
end_session($caller);

# --- an error in the worker reaches the caller intact -------------------
# The role's lock_timeout applies to the worker's connection: its DROP gives
# up waiting for pg_database.

$node->safe_psql(
	'postgres', q(
CREATE ROLE relay LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval) TO relay;
ALTER ROLE relay SET lock_timeout = '200ms';
));
make_db($node, 'i3', owner => 'relay');
$locker = catalog_locker();
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('i3')",
	extra_params => [ '-U', 'relay' ]);
like($err, qr/ERROR:  55P03: canceling statement due to lock timeout/,
	"the worker's error: message and SQLSTATE");
like($err, qr/CONTEXT:  .*dbreset background worker/s,
	"the worker's error: a context line says where it came from");
$locker->query_safe('COMMIT');
wait_for_no_worker($node);
is(row_count($node, 'i3'), 100, "the worker's error: i3 kept with its rows");

# --- the worker acts as the caller, not as the session user -------------
# A login role that may not drop i3 calls a SECURITY DEFINER function of
# i3's owner: the drop runs with the owner's rights, in the worker too.

$node->safe_psql(
	'postgres', q(
CREATE ROLE definer_caller LOGIN;
CREATE FUNCTION public.drop_as_relay(db name) RETURNS integer
LANGUAGE sql SECURITY DEFINER
AS $$ SELECT dbreset.force_drop_database(db) $$;
ALTER FUNCTION public.drop_as_relay(name) OWNER TO relay;
GRANT EXECUTE ON FUNCTION public.drop_as_relay(name) TO definer_caller;
));
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('i3')",
	extra_params => [ '-U', 'definer_caller' ]);
like($err, qr/ERROR:  42501: permission denied for function force_drop_database/,
	'identity: the session user itself may not call it');
($ret, $out, $err) = $node->psql('postgres', "SELECT public.drop_as_relay('i3')",
	extra_params => [ '-U', 'definer_caller' ]);
is($ret, 0, "identity: through the owner's SECURITY DEFINER function it may")
  or diag $err;
is(db_exists($node, 'i3'), 0, 'identity: i3 is gone');
ok( $node->log_contains(
		qr/role "relay" dropped database "i3" after terminating 0 sessions/),
	'identity: the LOG line names the role the drop ran as');

$node->stop;
done_testing();
