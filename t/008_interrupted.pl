# t/008_interrupted.pl
#
# A call interrupted after its worker has passed the point of no return
# comes back at once (a cancel) or exits (a terminate), while the worker
# finishes the DROP, holding the database lock itself, so nobody connects
# to a database being dropped in the background and a later statement of
# the session waits for that lock like anyone's; a stray cancel of the
# worker cannot stop the DROP halfway.  Also: an error raised in the
# worker reaches the caller intact, with a context line; the worker acts
# with the caller's identity, not the session user's.
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

# --- a cancel: the call comes back, the DROP goes on ----------------------
# As in PostgreSQL's own 037_invalid_database.pl: a prepared transaction
# holds pg_tablespace, which DROP DATABASE reads once it has begun.  The
# call returns at once with the cancel's error and a WARNING; the worker
# holds the database's lock and finishes once the lock is free; a later
# statement of the session waits for that lock like anyone's.  Meanwhile
# a new connection's planner would wait for pg_tablespace too (tablespace
# costs): the checks go through a session whose cache has them already.

make_db($node, 'i1');
my $i1 = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'i1'");
my $monitor = $node->background_psql('postgres', on_error_stop => 0);
my $locks_of = sub {
	my ($pid) = @_;
	return $monitor->query_safe(qq(
SELECT string_agg(what, ', ' ORDER BY what)
FROM (SELECT CASE WHEN relation = 'pg_tablespace'::regclass AND NOT granted
                  THEN 'waits for pg_tablespace'
                  WHEN locktype = 'object' AND classid = 'pg_database'::regclass
                       AND objid = $i1 AND granted
                  THEN mode || ' on i1' END AS what
      FROM pg_locks WHERE pid = $pid) l));
};
$monitor->query_safe("SELECT count(*) FROM pg_database WHERE datname = 'i1'");
$node->safe_psql('postgres',
	"BEGIN; LOCK pg_tablespace; PREPARE TRANSACTION 'lock_tblspc'");
my $caller = $node->background_psql('postgres', on_error_stop => 0);
my $caller_pid = session_pid($caller);
$caller->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('i1', timeout => '60s');\n");
my $wpid;
for (my $i = 0; $i < 1800; $i++)
{
	$wpid = $monitor->query_safe(
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbreset worker' AND wait_event = 'relation'");
	last if $wpid ne '' && $locks_of->($wpid) =~ /waits for pg_tablespace/;
	select(undef, undef, undef, 0.1);
}
die 'the worker never waited for pg_tablespace'
  unless $wpid ne '' && $locks_of->($wpid) =~ /waits for pg_tablespace/;

my $log_offset = -s $node->logfile;
$monitor->query_safe("SELECT pg_cancel_backend($caller_pid)");
$caller->query_until(qr/back/, "\\echo back\n");
like($caller->{stderr}, qr/WARNING:  the drop of database "i1" continues in the background/,
	'a cancel: the caller is warned');
like($caller->{stderr}, qr/ERROR:  canceling statement due to user request/,
	'a cancel: and the call comes back with the cancel, the DROP still blocked');
is($locks_of->($wpid), 'AccessExclusiveLock on i1, waits for pg_tablespace',
	'a cancel: the worker holds the database lock itself and waits, past its point of no return');
$caller->{stderr} = '';
$caller->query_until(qr/back/, "\\set VERBOSITY verbose\n"
	  . "SELECT dbreset.force_drop_database('i1', timeout => '1s');\n\\echo back\n");
like($caller->{stderr},
	qr/ERROR:  55P03: could not lock database "i1" within 1000 ms\nDETAIL:  Process $wpid holds a lock on the database/,
	'a cancel: a later call of the session waits for the worker\'s lock, within its timeout');
$caller->{stderr} = '';
is($caller->query_safe('SELECT 1'), '1', 'a cancel: the session goes on');
# a stray cancel of the worker itself does not stop the DROP halfway
$monitor->query_safe("SELECT pg_cancel_backend($wpid)");
is($locks_of->($wpid), 'AccessExclusiveLock on i1, waits for pg_tablespace',
	'a cancel sent to the worker past its point of no return is held off');
is($monitor->query_safe("SELECT count(*) FROM pg_database WHERE datname = 'i1'"),
	'1', 'a cancel: the database is still there, invalid');
$monitor->query_safe("COMMIT PREPARED 'lock_tblspc'");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_database WHERE datname = 'i1'"),
	'a cancel: i1 is dropped in the background once the lock is free, as warned');
ok(!$node->log_contains(qr/FATAL:.*dbreset/, $log_offset),
	'a cancel: no FATAL line in the server log');
end_session($_) for ($caller, $monitor);

# --- a terminated caller exits at once; the worker keeps newcomers out -----

make_db($node, 'i2');
my $locker = catalog_locker();
$caller = $node->background_psql('postgres', on_error_stop => 0);
$caller_pid = session_pid($caller);
$caller->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('i2', timeout => '60s');\n");
$wpid = wait_worker_blocked();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($caller_pid)");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $caller_pid"),
	'caller terminated: its backend exits');
is($node->safe_psql('postgres', qq(
SELECT count(*) FROM pg_locks
WHERE pid = $wpid AND relation = 'pg_database'::regclass AND NOT granted)),
	1, 'caller terminated: while its worker still waits');
is( $node->safe_psql(
		'postgres', qq(
SELECT count(*) FROM pg_locks
WHERE locktype = 'object' AND classid = 'pg_database'::regclass
  AND objid = (SELECT oid FROM pg_database WHERE datname = 'i2')
  AND granted AND mode = 'AccessExclusiveLock' AND pid = $wpid)),
	1,
	'caller terminated: the worker holds the database lock itself');

my ($stdout, $stderr) = ('', '');
my $late = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('i2'), '-c', 'SELECT 1' ],
	'>', \$stdout, '2>', \$stderr);
wait_for_lock_waiter($node, 'i2', 'the newcomer');
is($node->safe_psql('postgres', "SELECT count(*) FROM dbreset.sessions('i2')"),
	0, 'caller terminated: a newcomer waits on the lock, not connected');

$locker->query_safe('COMMIT');
$late->finish;
like($stderr, qr/database "i2" does not exist/,
	'the newcomer finds the database gone');
is(db_exists($node, 'i2'), 0, 'i2 was dropped in the background');
end_session($caller);
my $err;

# --- an error in the worker reaches the caller intact -------------------
# A deadlock the worker's DROP runs into after its point of no return: the
# locker holds pg_database and then waits for the database's lock, which
# the caller's group holds.  The locker's deadlock_timeout is long, so the
# worker is the one to detect it.

make_db($node, 'i3');
my ($ret, $out);
my $s3 = bystander($node, 'i3');
my $pid3;
$pid3 = session_pid($s3);
stop_process($pid3);
$locker = catalog_locker();
$locker->query_safe("SET deadlock_timeout = '10min'");
$caller = $node->background_psql('postgres', on_error_stop => 0);
$caller->query_until(qr/started/,
	"\\echo started\n\\set VERBOSITY verbose\nSELECT dbreset.force_drop_database('i3', timeout => '60s');\n");
wait_for_drop_lock($node, 'i3');
$locker->query_until(qr/started/,
	"\\echo started\nCOMMENT ON DATABASE i3 IS 'waits';\n");
wait_for_lock_waiter($node, 'i3', 'the locker');
continue_process($pid3);
wait_for_no_worker($node);
$err = session_error($caller);
like($err, qr/ERROR:  40P01: deadlock detected/,
	"the worker's error: message and SQLSTATE");
like($err, qr/CONTEXT:  .*dbreset background worker/s,
	"the worker's error: a context line says where it came from");
$locker->query('ROLLBACK');
is(row_count($node, 'i3'), 100, "the worker's error: i3 kept with its rows");
end_session($_) for ($caller, $locker, $s3);

# --- the worker acts as the caller, not as the session user -------------
# A login role that may not drop i3 calls a SECURITY DEFINER function of
# i3's owner: the drop runs with the owner's rights, in the worker too (it
# connects as the session user, which is not allowed to drop i3).

$node->safe_psql(
	'postgres', q(
CREATE ROLE relay LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO relay;
ALTER DATABASE i3 OWNER TO relay;
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
