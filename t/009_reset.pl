# t/009_reset.pl
#
# reset_database(), clone_database() and snapshot_database() with sessions
# in the way: the database's sessions are terminated; a connection made
# during a reset lands in the fresh database where the major keeps the OID
# (15+); a session held on the template is waited for, and a reset whose
# template stays busy is refused with nothing touched; clone and snapshot
# wait for or terminate the source's sessions, with pg_terminate_backend()'s
# permission rules; a create that fails after the drop says the database is
# gone and why, and leaves no files behind.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('reset');
my $major = $node->safe_psql('postgres',
	"SELECT current_setting('server_version_num')::int / 10000");

# a sealed template with a marker table, and the database reset from it
$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('tpl', 'CREATE TABLE fresh (i int)');
$node->safe_psql('postgres',
	'ALTER DATABASE tpl IS_TEMPLATE true ALLOW_CONNECTIONS false');
make_db($node, 'other');
$node->safe_psql('postgres', 'CREATE ROLE rs_owner LOGIN CREATEDB');
$node->safe_psql('postgres',
	'GRANT EXECUTE ON FUNCTION dbreset.reset_database(name, name, boolean, interval, interval),
	 dbreset.clone_database(name, name, boolean, interval) TO rs_owner');

# holds_lock(db, mode): whether some process holds the lock on db in mode
sub holds_lock
{
	my ($db, $mode) = @_;
	return $node->poll_query_until(
		'postgres', qq(
SELECT count(*) >= 1 FROM pg_locks
WHERE locktype = 'object' AND classid = 'pg_database'::regclass
  AND objid = (SELECT oid FROM pg_database WHERE datname = '$db')
  AND mode = '$mode' AND granted));
}

# 1. the sessions on the database are terminated; the others are not
make_db($node, 'app');
$node->safe_psql('postgres', "COMMENT ON DATABASE app IS 'kept'");
my @s = map { bystander($node, 'app') } 1 .. 3;
$s[2]->query_safe('BEGIN; SELECT count(*) FROM t');
my $other = bystander($node, 'other');
wait_for_sessions($node, 'app', 3);
my ($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl')");
is($ret, 0, 'reset with three sessions succeeds');
is($out, '3', 'it returns the number of sessions terminated');
like(session_error($_), qr/terminating connection due to administrator command/,
	'a session on the database was terminated')
  for @s;
is(bystander_alive($other), 1, 'a session on another database was not');
is(is_fresh($node, 'app'), 1, 'the database is a fresh copy of the template');
is($node->safe_psql('postgres',
		"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'app'"),
	'kept', 'its comment was kept');
ok($node->log_contains(
		qr/LOG:  role "\w+" reset database "app" from template "tpl" after terminating 3 sessions/),
	'the LOG line says who reset what and how many sessions went');
# (TAP clusters run with wal_level = minimal, where a reset that keeps the
# OID copies with FILE_COPY: see choose_strategy() in src/copy.c)
ok($node->log_contains(
		$major >= 15 ? qr/DETAIL:  Copied with strategy FILE_COPY \(wal_level = minimal and the database keeps its OID\)\. Terminated: /
		: qr/DETAIL:  Copied file by file \(source [0-9]+ kB\)\. Terminated: /),
	'and which copy strategy was used, and why');
end_session($_) for @s;

# 2. a session held on the template is waited for; a connection made while
#    the reset waits queues on the database's lock and then lands in the
#    fresh database (15+: same OID), or gets 3D000 before 15
$node->safe_psql('postgres', 'ALTER DATABASE tpl ALLOW_CONNECTIONS true');
my $holder = $node->background_psql('tpl', on_error_stop => 0);
$holder->query_safe('SELECT 1');
$node->safe_psql('app', 'CREATE TABLE t (i int)');
my $caller = $node->background_psql('postgres', on_error_stop => 0);
$caller->query_until(qr/started/, qq(\\echo started
SELECT dbreset.reset_database('app', 'tpl', timeout => '60s');
\\echo done
));
holds_lock('app', 'AccessExclusiveLock') or die 'the reset never locked app';
holds_lock('tpl', 'ShareLock') or die 'the reset never locked tpl';

my ($nc_out, $nc_err) = ('', '');
my $newcomer = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('app'), '-c',
		"SELECT count(*) FROM pg_class WHERE relname = 't'" ],
	'>', \$nc_out, '2>', \$nc_err);
wait_for_lock_waiter($node, 'app', 'the newcomer');
is($node->safe_psql('postgres', "SELECT count(*) FROM dbreset.sessions('app')"),
	'0', 'the newcomer waits uncounted while the reset waits for the template');

$holder->quit;
$caller->query_until(qr/done/, '');
$newcomer->finish;
if ($major >= 15)
{
	is($nc_out, "0\n",
		'the connection made during the reset landed in the fresh database');
}
else
{
	like($nc_err, qr/database "app" does not exist/,
		'before 15 the connection made during the reset gets 3D000 (new OID)');
}
is(is_fresh($node, 'app'), 1, 'the reset went through once the template was free');

# 2b. clients that connect while the reset waits for the database's lock
#     queue behind its worker, which takes the lock itself, first: once the
#     lock is free they wait for the whole reset and land in the fresh
#     database.  (A lock taken by the caller and handed to the worker would
#     let them in first, to be terminated.)  15+, where the OID is kept.
SKIP:
{
	skip 'before 15 a reset gives the database a new OID: such clients get 3D000', 6
	  if $major < 15;
	$node->safe_psql('app', 'CREATE TABLE t (i int)');
	my $appoid = $node->safe_psql('postgres',
		"SELECT oid FROM pg_database WHERE datname = 'app'");
	my $locker = $node->background_psql('postgres', on_error_stop => 0);
	$locker->query_safe('BEGIN');
	$locker->query_safe("COMMENT ON DATABASE app IS 'held while clients queue'");
	my $resetter = $node->background_psql('postgres', on_error_stop => 0);
	$resetter->query_until(qr/started/, qq(\\echo started
SELECT dbreset.reset_database('app', 'tpl', timeout => '60s');
\\echo done
));
	my $waiters = "SELECT count(*) FROM pg_locks WHERE locktype = 'object'
	    AND classid = 'pg_database'::regclass AND objid = $appoid AND NOT granted";
	$node->poll_query_until('postgres', "$waiters", '1')
	  or die 'the reset never waited for the lock on app';
	my @clients;
	for my $i (1 .. 5)
	{
		my %c = (out => '', err => '');
		$c{run} = IPC::Run::start(
			[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('app'), '-c',
				"SELECT count(*) FROM pg_class WHERE relname = 't'" ],
			'>', \$c{out}, '2>', \$c{err});
		push @clients, \%c;
	}
	$node->poll_query_until('postgres', "$waiters", '6')
	  or die 'the clients never queued for the lock on app';
	$locker->query_safe('COMMIT');
	my $result = $resetter->query_until(qr/done/, '');
	like($result, qr/^0$/m, 'the reset terminated nobody: the clients were still waiting');
	$_->{run}->finish for @clients;
	is(join('', map { $_->{err} } @clients), '',
		'no client that queued during the reset got an error');
	is(join('', map { $_->{out} } @clients), "0\n" x 5,
		'every one of them landed in the fresh database');
	is(is_fresh($node, 'app'), 1, 'the reset went through');
	is($node->safe_psql('postgres', "SELECT shobj_description($appoid, 'pg_database')"),
		'held while clients queue', 'keeping the comment committed while it waited');
	is($node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'app'"),
		$appoid, 'and the OID');
	end_session($_) for ($locker, $resetter);
}

# 2c. the reset's worker waits for the database's lock; its holder then
#     waits for a table the caller's own query holds: a deadlock that the
#     detector cannot see (the caller waits for its worker, on a latch),
#     raised by the caller as the detector would, nothing touched
$node->safe_psql('app', 'CREATE TABLE t AS SELECT generate_series(1, 100) AS i');
$node->safe_psql('postgres', 'CREATE TABLE q (i int); INSERT INTO q VALUES (1)');
my $dl_holder = $node->background_psql('postgres', on_error_stop => 0);
$dl_holder->query_safe('BEGIN');
$dl_holder->query_safe("COMMENT ON DATABASE app IS 'held in a deadlock'");
my $dl_caller = $node->background_psql('postgres', on_error_stop => 0);
$dl_caller->query_until(qr/started/, q(\echo started
\set VERBOSITY verbose
SELECT dbreset.reset_database('app', 'tpl', timeout => '120s') FROM q;
\echo done
));
$node->poll_query_until('postgres', qq(
SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'object'
   AND classid = 'pg_database'::regclass AND NOT granted
   AND objid = (SELECT oid FROM pg_database WHERE datname = 'app')))
  or die 'the reset never waited for the lock on app';
$dl_holder->query_until(qr/locked/, "LOCK TABLE q IN ACCESS EXCLUSIVE MODE;\n\\echo locked\n");
$dl_caller->query_until(qr/done/, '');
like($dl_caller->{stderr},
	qr/ERROR:  40P01: deadlock detected\nDETAIL:  The background worker of this call, process \d+, waits for a lock on database "app" that process \d+ holds, which waits for a lock this session holds\./,
	'a deadlock through a lock of the caller\'s is raised as one');
$dl_holder->query_safe('ROLLBACK');
is(row_count($node, 'app'), 100, 'and the database is untouched, with its rows');
end_session($_) for ($dl_holder, $dl_caller);
$node->safe_psql('app', 'DROP TABLE t');

# 3. a template that stays busy: refused, nothing touched
my $holder2 = $node->background_psql('tpl', on_error_stop => 0);
$holder2->query_safe('SELECT 1');
my $hpid = session_pid($holder2);
$node->safe_psql('app', 'CREATE TABLE t AS SELECT generate_series(1, 100) AS i');
my $b = bystander($node, 'app');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', timeout => '1s')");
isnt($ret, 0, 'a reset whose template stays busy is refused');
like($err,
	qr/ERROR:  55006: source database "tpl" is being accessed by other users\nDETAIL:  Process $hpid is still connected after 1000 ms\. Nothing was copied or dropped\./,
	'with the template session named');
is(bystander_alive($b), 1, 'the session on the database survived');
is(row_count($node, 'app'), 100, 'the database kept its data');
is($holder2->query_safe('SELECT 1'), '1',
	'the template session was not touched');
end_session($b);
$holder2->quit;
$node->safe_psql('postgres', 'ALTER DATABASE tpl ALLOW_CONNECTIONS false');

# 4. clone: the source's sessions waited for, or terminated when asked to
make_db($node, 'src');
my $s1 = bystander($node, 'src');
my $s1pid = session_pid($s1);
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.clone_database('src', 'src_copy', timeout => '500ms')");
like($err,
	qr/ERROR:  55006: source database "src" is being accessed by other users\nDETAIL:  Process $s1pid is still connected after 500 ms\. Nothing was copied or dropped\.\nHINT:  Pass terminate_sessions => true to terminate them\./,
	'clone without terminate_sessions waits, then names the session');
is(db_exists($node, 'src_copy'), 0, 'and copies nothing');
is(bystander_alive($s1), 1, 'the source session is untouched');

($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.clone_database('src', 'src_copy', terminate_sessions => true)");
is($ret, 0, 'clone with terminate_sessions succeeds');
like(session_error($s1), qr/terminating connection due to administrator command/,
	'the source session was terminated');
is(row_count($node, 'src_copy'), 100, 'the copy has the data');
is(row_count($node, 'src'), 100, 'and so has the source');
ok($node->log_contains(
		$major >= 15 ? qr/cloned database "src_copy" from database "src"\n.*DETAIL:  Copied with strategy WAL_LOG \(source [0-9]+ kB\)\./
		: qr/cloned database "src_copy" from database "src"\n.*DETAIL:  Copied file by file/),
	'a clone of a small database uses WAL_LOG (a new OID)');

# a source session the caller may not terminate: pg_terminate_backend()'s
# rules, checked before anything is signalled
make_db($node, 'src2', owner => 'rs_owner');
my $su = bystander($node, 'src2');
my $supid = session_pid($su);
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.clone_database('src2', 'src2_copy', terminate_sessions => true)",
	extra_params => [ '-U', 'rs_owner' ]);
like($err, qr/ERROR:  42501: /,
	'terminating a superuser session on the source is refused');
is(bystander_alive($su), 1, 'that session survives');
is(db_exists($node, 'src2_copy'), 0, 'nothing was copied');
end_session($su);

# snapshot with terminate_sessions, by the owner
my $s2 = $node->background_psql('src2', on_error_stop => 0,
	extra_params => [ '-U', 'rs_owner' ]);
$s2->query_safe('SELECT 1');
$node->safe_psql('postgres',
	'GRANT EXECUTE ON FUNCTION dbreset.snapshot_database(name, name, boolean, interval) TO rs_owner');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.snapshot_database('src2', 'src2_snap', terminate_sessions => true)",
	extra_params => [ '-U', 'rs_owner' ]);
is($ret, 0, 'the owner snapshots its database, terminating its own session');
like(session_error($s2), qr/terminating connection/, 'which was terminated');
is($node->safe_psql('postgres',
		"SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = 'src2_snap'"),
	't', 'the snapshot is sealed');

# 5. a create that fails after the drop: the template's PG_VERSION made
#    unreadable, FILE_COPY (which opens every file) forced
make_db($node, 'app2');
my $tploid = $node->safe_psql('postgres',
	"SELECT oid FROM pg_database WHERE datname = 'tpl'");
my $version_file = $node->data_dir . "/base/$tploid/PG_VERSION";
chmod 0000, $version_file or die "chmod $version_file: $!";
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SET dbreset.file_copy_threshold = 0; SELECT dbreset.reset_database('app2', 'tpl')");
chmod 0600, $version_file or die "chmod $version_file: $!";
like($err,
	qr/ERROR:  42501: database "app2" was dropped but could not be created again from template "tpl"\nDETAIL:  could not open file .*PG_VERSION.*: Permission denied\nHINT:  Create it with: CREATE DATABASE app2 TEMPLATE tpl .*\nCONTEXT:  dbreset background worker/,
	'a create that fails after the drop says the database is gone, why, and how to create it');
is(db_exists($node, 'app2'), 0, 'the database is gone, as the error says');
my %known = map { $_ => 1 } split /\n/,
  $node->safe_psql('postgres', 'SELECT oid FROM pg_database');
opendir(my $dh, $node->data_dir . '/base') or die $!;
my @orphans = grep { /^\d+$/ && !$known{$_} } readdir $dh;
closedir $dh;
is_deeply(\@orphans, [], 'no directory is left under base/ without its database');
like($err, qr/STRATEGY FILE_COPY, then give back its grants, comment and settings and allow connections to it\.\n/,
	'the caller\'s dbreset.file_copy_threshold reached the worker')
  if $major >= 15;
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"CREATE DATABASE app2 TEMPLATE tpl");
is($ret, 0, 'the template itself is intact: it can be copied again');
is(is_fresh($node, 'app2'), 1, 'into a fresh copy');

# 8. a database in another tablespace than its template's: the copy's size
#    is measured where the template is
my $tsdir = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', "CREATE TABLESPACE ts_other LOCATION '$tsdir'");
$node->safe_psql('postgres', 'CREATE DATABASE app_ts TABLESPACE ts_other');
$node->safe_psql('app_ts', 'CREATE TABLE t (i int)');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app_ts', 'tpl')");
is($ret, 0, 'a database in another tablespace than the template\'s is reset')
  or diag $err;
is(is_fresh($node, 'app_ts'), 1, 'into a fresh copy');
is($node->safe_psql('postgres',
		"SELECT spcname FROM pg_database d JOIN pg_tablespace s ON s.oid = d.dattablespace WHERE datname = 'app_ts'"),
	'ts_other', 'in its own tablespace');

end_session($other);
$node->stop;
done_testing();
