# t/013_lock.pl
#
# Maintenance mode and the grace period with real sessions: lock_database()
# keeps superusers out, across a restart, until unlock_database(), and
# counts only while the pg_database row version it wrote stands; a grace
# lets a transaction that commits in time keep its row and ends one that
# does not; idle sessions go at once and newcomers wait meanwhile;
# rollback_prepared names what it rolled back; 1.0's declarations keep
# working with this library until ALTER EXTENSION UPDATE.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('lock');

# the result of a call started with query_until, once it has returned
sub call_result
{
	my ($s) = @_;
	my $out = $s->query("\\echo done");
	$out =~ s/\n?done$//;
	return $out;
}

# pids of the sessions on dbname, as a sorted list
sub session_pids
{
	my ($dbname) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(pid::text, ',' ORDER BY pid) FROM dbreset.sessions('$dbname')");
}

# --- maintenance mode keeps a superuser out, across a restart ----------

make_db($node, 'm1');
my $su = bystander($node, 'm1');
my $su_pid = session_pid($su);
is($node->safe_psql('postgres', "SELECT database_state FROM dbreset.sessions('m1')"),
	'open', 'sessions() shows the database open');
is($node->safe_psql('postgres', "SELECT dbreset.lock_database('m1')"),
	'1', 'lock_database terminated the superuser session');
is(bystander_alive($su), 0, 'the superuser session is gone');
end_session($su);

my ($ret, $out, $err) = $node->psql('m1', 'SELECT 1');
isnt($ret, 0, 'a superuser cannot connect to a locked database');
like($err, qr/database "m1" is not currently accepting connections/,
	'with core\'s message');
like(slurp_file($node->logfile),
	qr/role "\S+" locked database "m1" after terminating 1 session\n.*DETAIL:  Terminated: pid $su_pid \(user/,
	'the LOG line names the session');

$node->restart;
($ret, $out, $err) = $node->psql('m1', 'SELECT 1');
isnt($ret, 0, 'still locked after a restart');
is($node->safe_psql('postgres', "SELECT dbreset.lock_database('m1')"),
	'0', 'locking again changes nothing');
$node->safe_psql('postgres', "SELECT dbreset.unlock_database('m1')");
is(row_count($node, 'm1'), 100, 'connectable after unlock, with its data');
$node->safe_psql('postgres', "SELECT dbreset.unlock_database('m1')");
is(row_count($node, 'm1'), 100, 'unlocking again changes nothing');

# a background worker may bypass ALLOW_CONNECTIONS: sessions() says the
# database it is on is locked
$node->safe_psql('postgres', "SELECT dbreset.lock_database('m1')");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_database WHERE datname = 'm1' AND NOT datallowconn"),
	'1', 'locked: ALLOW_CONNECTIONS false');
$node->safe_psql('postgres', "SELECT dbreset.unlock_database('m1')");

# --- grace: newcomers wait, idle sessions go at once, transactions finish
#
# The grace is long where a session is to finish within it (the call ends
# as soon as it has), short where one is to run out of it: nothing depends
# on how fast the machine is.

make_db($node, 'g1');
$node->safe_psql('g1', 'CREATE TABLE g (v text)');
my $idle = bystander($node, 'g1');
my $idle_pid = session_pid($idle);
my $quick = bystander($node, 'g1');
my $quick_pid = session_pid($quick);
$quick->query_safe("BEGIN; INSERT INTO g VALUES ('quick')");

my $caller = $node->background_psql('postgres', on_error_stop => 0);
$caller->query_until(qr/started/,
	"\\echo started\nSELECT count(*) FROM dbreset.terminate_sessions('g1', timeout => '30s', grace => '5min');\n");

# the idle session goes at once; the one in a transaction stays
$node->poll_query_until('postgres',
	"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $idle_pid)")
  or die 'the idle session was not terminated';
is(session_pids('g1'), $quick_pid,
	'a session inside a transaction is given the grace');

# a newcomer waits for the drain instead of joining it
my ($late_out, $late_err) = ('', '');
my $late = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('g1'), '-c', 'SELECT count(*) FROM t' ],
	'>', \$late_out, '2>', \$late_err);
wait_for_lock_waiter($node, 'g1', 'the newcomer');
is(session_pids('g1'), $quick_pid, 'the newcomer is not let in meanwhile');

# it commits within the grace: its row stays, then it is terminated -- as
# soon as it waits for its client's next command, which may be the empty
# query that background_psql sends after each one: no query_safe here
$quick->query('COMMIT');
is(call_result($caller), '2', 'terminate_sessions counted both');
is(bystander_alive($quick), 0, 'the session that committed was terminated after');
like(slurp_file($node->logfile),
	qr/terminated 2 sessions on database "g1"\n.*1 of 2 finished their transaction within the grace of 300000 ms/,
	'the LOG line says how many finished on their own');
$late->finish;
chomp $late_out;
is($late_out, '100', 'the newcomer got in once the drain was over');

# one that does not finish within the grace is terminated: rolled back
my $slow = bystander($node, 'g1');
$slow->query_safe("BEGIN; INSERT INTO g VALUES ('slow')");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM dbreset.terminate_sessions('g1', grace => '300ms')"),
	'1', 'the grace ran out');
is(bystander_alive($slow), 0, 'the session that did not commit was terminated');
is($node->safe_psql('g1', 'SELECT string_agg(v, \',\') FROM g'),
	'quick', 'the committed row is there, the other was rolled back');
like(slurp_file($node->logfile),
	qr/terminated 1 session on database "g1"\n.*0 of 1 finished their transaction within the grace of 300 ms/,
	'the LOG line says none finished');
end_session($_) for ($idle, $quick, $slow);

# lock_database with a grace: the same drain, and the newcomer is refused
my $tx = bystander($node, 'g1');
$tx->query_safe("BEGIN; INSERT INTO g VALUES ('in lock grace')");
$caller->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.lock_database('g1', grace => '5min');\n");
wait_for_drop_lock($node, 'g1');
($late_out, $late_err) = ('', '');
$late = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('g1'), '-c', 'SELECT 1' ],
	'>', \$late_out, '2>', \$late_err);
wait_for_lock_waiter($node, 'g1', 'the newcomer');
$tx->query('COMMIT');
is(call_result($caller), '1', 'lock_database waited for the commit, then terminated');
$late->finish;
like($late_err, qr/database "g1" is not currently accepting connections/,
	'the newcomer that waited is refused once the lock commits');
$node->safe_psql('postgres', "SELECT dbreset.unlock_database('g1')");
is($node->safe_psql('g1', "SELECT count(*) FROM g WHERE v = 'in lock grace'"),
	'1', 'its row was committed');
end_session($tx);

# force_drop_database with a grace that runs out: terminated, rolled back
my $stuck = bystander($node, 'g1');
$stuck->query_safe("BEGIN; INSERT INTO g VALUES ('never')");
is($node->safe_psql('postgres',
		"SELECT dbreset.force_drop_database('g1', grace => '300ms')"),
	'1', 'the drop went ahead when the grace ran out');
is(db_exists($node, 'g1'), 0, 'g1 is gone');
like(slurp_file($node->logfile),
	qr/dropped database "g1" after terminating 1 session\n.*0 of 1 finished their transaction within the grace of 300 ms/,
	'the LOG line says none finished');
end_session($stuck);

# a locked database stays locked through a reset that swaps a spare in,
# and unlock_database() still opens it: the record follows the swap
make_db($node, 'sw');
$node->safe_psql('postgres',
	"CREATE DATABASE sw_tpl; ALTER DATABASE sw_tpl IS_TEMPLATE true ALLOW_CONNECTIONS false");
$node->safe_psql('postgres', "SELECT dbreset.lock_database('sw')");
$node->safe_psql('postgres',
	"SELECT dbreset.reset_database('sw', 'sw_tpl', keep_spare => true)");
$node->poll_query_until('postgres',
	"SELECT state = 'ready' FROM dbreset.spares() WHERE dbname = 'sw'")
  or die 'no spare was made';
$node->safe_psql('postgres',
	"SELECT dbreset.reset_database('sw', 'sw_tpl', keep_spare => true)");
like(slurp_file($node->logfile), qr/reset database "sw" from template "sw_tpl" after terminating 0 sessions\n.*Swapped in a spare/,
	'the second reset swapped a spare in');
($ret, $out, $err) = $node->psql('sw', 'SELECT 1');
like($err, qr/database "sw" is not currently accepting connections/,
	'the swapped-in database is still locked');
$node->safe_psql('postgres', "SELECT dbreset.unlock_database('sw')");
is($node->safe_psql('sw', "SELECT count(*) FROM pg_class WHERE relname = 't'"),
	'0', 'unlocked: connectable, a fresh copy of the template');
$node->safe_psql('postgres', "SELECT dbreset.drop_spares('sw')");

# --- the lock record counts only for the row version its lock wrote ----

# what drop_blockers() says of a database's state: locked, closed or none
sub state_row
{
	my ($dbname) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(kind, ','), 'none') FROM dbreset.drop_blockers('$dbname') WHERE kind IN ('locked', 'closed')"
	);
}

sub allows_connections
{
	my ($dbname) = @_;
	return $node->safe_psql('postgres',
		"SELECT datallowconn FROM pg_database WHERE datname = '$dbname'");
}

sub lock_record
{
	my ($dbname) = @_;
	my $oid = $node->safe_psql('postgres',
		"SELECT oid FROM pg_database WHERE datname = '$dbname'");
	return $node->data_dir . "/pg_dbreset/locked.$oid";
}

# a lock_database() whose worker dies before its commit leaves the
# database open, and nothing that makes it dbreset's: closed by hand
# later, it stays closed.  The worker is held in its ALTER DATABASE by a
# transaction that has updated the database's row and not committed, and
# terminated there.
make_db($node, 'kw');
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('BEGIN; ALTER DATABASE kw CONNECTION LIMIT 50');
$caller->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.lock_database('kw');\n");
my $waiting_worker =
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbreset worker' AND wait_event = 'transactionid'";
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($waiting_worker) w")
  or die 'the lock worker never waited for the row';
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM ($waiting_worker) w");
call_result($caller);
like($caller->{stderr}, qr/ERROR:  terminating (?:connection|background worker .*) due to administrator command/,
	'a lock whose worker is terminated in its ALTER DATABASE fails');
$caller->{stderr} = '';
$holder->query_safe('ROLLBACK');
is(allows_connections('kw'), 't', 'and leaves the database open');
$node->safe_psql('postgres', 'ALTER DATABASE kw ALLOW_CONNECTIONS false');
is(state_row('kw'), 'closed',
	'closed by hand after the failed lock: drop_blockers() says closed');
($ret, $out, $err) =
  $node->psql('postgres', "SELECT dbreset.unlock_database('kw')");
like($err, qr/database "kw" was not locked by dbreset\.lock_database\(\)/,
	'unlock_database() refuses it');
is(allows_connections('kw'), 'f', 'and leaves it closed');
ok(!-e lock_record('kw'), 'no lock record is left');
$node->safe_psql('postgres', 'ALTER DATABASE kw ALLOW_CONNECTIONS true');
end_session($holder);

# a record whose transaction never committed -- what a worker that dies
# between writing it and its commit leaves -- counts for nothing, and the
# next call that looks removes it
make_db($node, 'pl');
my $aborted_xid = $node->safe_psql('postgres',
	"BEGIN; ALTER DATABASE pl ALLOW_CONNECTIONS false; SELECT xmin FROM pg_database WHERE datname = 'pl'; ROLLBACK"
);
mkdir $node->data_dir . '/pg_dbreset';
PostgreSQL::Test::Utils::append_to_file(lock_record('pl'), "$aborted_xid pl\n");
$node->safe_psql('postgres', 'ALTER DATABASE pl ALLOW_CONNECTIONS false');
is(state_row('pl'), 'closed',
	'a record of a transaction that rolled back: drop_blockers() says closed');
($ret, $out, $err) =
  $node->psql('postgres', "SELECT dbreset.unlock_database('pl')");
like($err, qr/database "pl" was not locked by dbreset\.lock_database\(\)/,
	'unlock_database() refuses it');
is(allows_connections('pl'), 'f', 'and leaves it closed');
ok(!-e lock_record('pl'), 'and removes the stale record');
$node->safe_psql('postgres', 'ALTER DATABASE pl ALLOW_CONNECTIONS true');

# freezing pg_database, or rewriting it, keeps the lock's row version
make_db($node, 'fz');
$node->safe_psql('postgres', "SELECT dbreset.lock_database('fz')");
$node->safe_psql('postgres', 'VACUUM (FREEZE) pg_database');
is(state_row('fz'), 'locked', 'still locked once pg_database is frozen');
$node->safe_psql('postgres', 'VACUUM FULL pg_database');
is(state_row('fz'), 'locked', 'still locked once pg_database is rewritten');
$node->safe_psql('postgres', "SELECT dbreset.unlock_database('fz')");
is(row_count($node, 'fz'), 100, 'and unlock_database() opens it');

# --- rollback_prepared ----------------------------------------------------

make_db($node, 'p1');
$node->safe_psql('p1', "BEGIN; INSERT INTO t VALUES (0); PREPARE TRANSACTION 'p1_a'");
$node->safe_psql('p1', "BEGIN; INSERT INTO t VALUES (0); PREPARE TRANSACTION 'p1_b'");
my $px_session = bystander($node, 'p1');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('p1')");
like($err, qr/55006: database "p1" is being used by prepared transactions/,
	'prepared transactions refuse a drop');
is(bystander_alive($px_session), 1, 'and no session was terminated');
is($node->safe_psql('postgres',
		"SELECT dbreset.force_drop_database('p1', rollback_prepared => true)"),
	'1', 'rollback_prepared: dropped');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_prepared_xacts"),
	'0', 'the prepared transactions were rolled back');
like(slurp_file($node->logfile),
	qr/dropped database "p1" after terminating 1 session\n.*Rolled back prepared transactions: "p1_a", "p1_b"\./,
	'the LOG line names them');
end_session($px_session);

# the worker that rolls back connects to the database as the caller's
# login role: without CONNECT there, the call is refused before any
# session is terminated
$node->safe_psql('postgres', 'CREATE ROLE rb_owner LOGIN');
$node->safe_psql('postgres',
	'GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO rb_owner');
make_db($node, 'rb', owner => 'rb_owner');
$node->safe_psql('rb', 'ALTER TABLE t OWNER TO rb_owner');
$node->safe_psql('rb', "BEGIN; INSERT INTO t VALUES (0); PREPARE TRANSACTION 'rb_px'",
	extra_params => [ '-U', 'rb_owner' ]);
my $rb_session = bystander($node, 'rb', extra_params => [ '-U', 'rb_owner' ]);
$node->safe_psql('postgres',
	'REVOKE CONNECT ON DATABASE rb FROM PUBLIC, rb_owner');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('rb', rollback_prepared => true)",
	extra_params => [ '-U', 'rb_owner' ]);
like($err, qr/42501: permission denied for database rb\n.*DETAIL:  Rolling back its prepared transactions needs to connect to it as user "rb_owner"\. No session was terminated\./,
	'rollback_prepared without CONNECT: refused, saying why');
is(bystander_alive($rb_session), 1, 'and no session was terminated');
$node->safe_psql('rb', "ROLLBACK PREPARED 'rb_px'");
is(row_count($node, 'rb'), 100, 'the database is there, with its rows');
end_session($rb_session);

# a transaction prepared during the grace: the drop stops before it, and
# rollback_prepared rolls it back too
make_db($node, 'p2');
for my $rollback (0, 1)
{
	my $s = bystander($node, 'p2');
	$s->query_safe("BEGIN; INSERT INTO t VALUES (0)");
	$caller->query_until(qr/started/,
		"\\echo started\n\\set VERBOSITY verbose\nSELECT dbreset.force_drop_database('p2', grace => '5min', rollback_prepared => "
		  . ($rollback ? 'true' : 'false') . ");\n");
	wait_for_drop_lock($node, 'p2');
	$s->query("PREPARE TRANSACTION 'p2_late'");
	my $result = call_result($caller);
	if ($rollback)
	{
		is($result, '1', 'prepared during the grace, rolled back: dropped');
		like(slurp_file($node->logfile),
			qr/dropped database "p2" after terminating 1 session\n.*Rolled back prepared transactions: "p2_late"\./,
			'the LOG line names it');
	}
	else
	{
		like($caller->{stderr},
			qr/55006: database "p2" is being used by prepared transactions\n.*DETAIL:  Prepared transaction "p2_late" was prepared while the sessions were ending\. The sessions were terminated\. The database was not dropped\./,
			'prepared during the grace: refused before the drop, saying so');
		$caller->{stderr} = '';
		is(row_count($node, 'p2'), 100, 'the database is there, with its data');
	}
	end_session($s);
}
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_prepared_xacts"),
	'0', 'nothing prepared is left');

# the worker that rolls back is connected to the database itself: its
# messages and the gids it reports come back in the caller's encoding
my $enc = PostgreSQL::Test::Cluster->new('enc');
$enc->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$enc->append_conf('postgresql.conf', "max_prepared_transactions = 2\n");
$enc->start;
$enc->safe_psql('postgres', 'CREATE EXTENSION dbreset');
$enc->safe_psql('postgres',
	"CREATE DATABASE latin1 ENCODING 'LATIN1' TEMPLATE template0");
$enc->safe_psql('latin1',
	"CREATE TABLE t (i int); BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'gx_\x{e9}t\x{e9}'",
	extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
is($enc->safe_psql('postgres',
		"SELECT dbreset.force_drop_database('latin1', rollback_prepared => true)"),
	'0', 'a LATIN1 database with a prepared transaction is dropped');
like(slurp_file($enc->logfile),
	qr/Rolled back prepared transactions: "gx_\x{c3}\x{a9}t\x{c3}\x{a9}"\./,
	'the gid reaches the UTF8 caller as UTF8');
$enc->stop;

# --- 1.0's declarations with this library ------------------------------

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init;
$old->start;
$old->safe_psql('postgres',
	"CREATE SCHEMA dbreset; CREATE EXTENSION dbreset VERSION '1.0'");
make_db($old, 'u1');
my $u = $old->background_psql('u1', on_error_stop => 0);
$u->query_safe('SELECT 1');
is($old->safe_psql('postgres',
		"SELECT count(*) || ' ' || max(datname) FROM dbreset.sessions('u1')"),
	'1 u1', '1.0: sessions() has its 14 columns and a row');
is($old->safe_psql('postgres',
		"SELECT count(*) FROM dbreset.terminate_sessions('u1', '5s')"),
	'1', '1.0: terminate_sessions()');
end_session($u);
$old->safe_psql('postgres', "ALTER EXTENSION dbreset UPDATE TO '1.1'");
$u = $old->background_psql('u1', on_error_stop => 0);
$u->query_safe('SELECT 1');
is($old->safe_psql('postgres',
		"SELECT database_state FROM dbreset.sessions('u1')"),
	'open', '1.1: sessions() has database_state');
is($old->safe_psql('postgres',
		"SELECT dbreset.force_drop_database('u1', false, '5s')"),
	'1', '1.1: a 1.0 call of force_drop_database()');
end_session($u);
$old->stop;

done_testing();
