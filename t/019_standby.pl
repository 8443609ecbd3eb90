# t/019_standby.pl
#
# A streaming standby.  It replays the primary's drops, resets (copied,
# and a spare swapped in), clones and snapshots, its own sessions on those
# databases ending as recovery ends them, with nothing left under base/ --
# also after a copy interrupted by a crash of the primary, whose files the
# next call removes on both (15+, test builds).  Every dbreset function
# that writes refuses on it, cleanly: 25006 before any of its sessions is
# touched, no worker started, nothing written; so does
# terminate_sessions() with a grace, whose lock recovery does not allow.
# The read-only functions work there.  A database locked by
# lock_database() on the primary is closed on the standby and, once it is
# promoted, shows as `closed` and opens with ALTER DATABASE (the
# maintenance record is not WAL-logged), unless the standby was made from
# a copy taken while it was locked.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('primary', init => { allows_streaming => 1 });
my $major = $node->safe_psql('postgres',
	"SELECT current_setting('server_version_num')::int / 10000");
my $testing = is_test_build($node);

# m0 is locked in the copy the standby starts from; the rest is made once
# the standby streams (a smaller copy)
make_db($node, 'm0');
$node->safe_psql('postgres', "SELECT dbreset.lock_database('m0')");

$node->stop;    # a cold copy: pg_basebackup may refuse another major
$node->backup_fs_cold('cold');
$node->start;
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'cold', has_streaming => 1);
# back soon after the primary's crash
$standby->append_conf('postgresql.conf', "wal_retrieve_retry_interval = '100ms'\n");
$standby->start;
my $records = files('pg_dbreset');

$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('tpl', 'CREATE TABLE fresh (i int)');
$node->safe_psql('postgres',
	'ALTER DATABASE tpl IS_TEMPLATE true ALLOW_CONNECTIONS false');
make_db($node, $_) for qw(dropped copied spared src refused m1);

sub catchup
{
	$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
	return;
}

# mark(db): a row of table t that only this database has had, on the
#	primary, replayed; returns it
my $marks = 0;

sub mark
{
	my ($db) = @_;
	$marks++;
	$node->safe_psql($db,
		"CREATE TABLE IF NOT EXISTS t (i int); INSERT INTO t VALUES (-$marks)");
	catchup();
	return -$marks;
}

# reader(db, mark): a session on the standby's db that has read the mark
sub reader
{
	my ($db, $mark) = @_;
	my $s = $standby->background_psql($db, on_error_stop => 0);
	is($s->query_safe("SELECT count(*) FROM t WHERE i = $mark"),
		'1', "standby: a reader on $db sees the mark");
	return $s;
}

# ended(session, what): the reader was ended by recovery
sub ended
{
	my ($s, $what) = @_;
	my $err = session_error($s);
	like($err,
		qr/terminating connection due to conflict with recovery.*User was connected to a database that must be dropped/s,
		"$what: recovery ended the standby's reader on it (core behaviour)");
	end_session($s);
	return;
}

# fresh_on_standby(db, what): db on the standby is a new copy of the
#	template, reached through a new connection, and the mark is gone
sub fresh_on_standby
{
	my ($db, $what) = @_;
	is(is_fresh($standby, $db), 1,
		"$what: a new connection on the standby finds a fresh copy of the template, the mark gone");
	return;
}

# stray_dirs(): directories under the standby's base/ that no database of
# it has
sub stray_dirs
{
	my %known = map { $_ => 1 } split /\n/,
	  $standby->safe_psql('postgres', 'SELECT oid FROM pg_database');
	opendir(my $dh, $standby->data_dir . '/base') or die $!;
	my @stray = grep { /^\d+$/ && !$known{$_} } readdir $dh;
	closedir $dh;
	return join(' ', sort @stray);
}

# alive(session, mark): 1 if the reader still answers, with the mark
sub alive
{
	my ($s, $mark) = @_;
	my $n = eval { $s->query("SELECT count(*) FROM t WHERE i = $mark") };
	return (defined $n && $n eq '1') ? 1 : 0;
}

# files(dir): what the standby's data directory has in dir
sub files
{
	my ($dir) = @_;
	opendir(my $dh, $standby->data_dir . "/$dir") or return '';
	my @files = grep { !/^\.\.?$/ } readdir $dh;
	closedir $dh;
	return join(' ', sort @files);
}

# --- 1. replay, with the standby's own sessions on the databases ---------

# a drop
my $r = reader('dropped', mark('dropped'));
is($node->safe_psql('postgres', "SELECT dbreset.force_drop_database('dropped')"),
	0, 'primary: dropped (no session there)');
catchup();
is(db_exists($standby, 'dropped'), 0, 'drop: replayed');
ended($r, 'drop');
my ($ret, $out, $err) = $standby->psql('dropped', 'SELECT 1');
like($err, qr/database "dropped" does not exist/,
	'drop: a new connection on the standby finds no database');

# a reset that copies
$r = reader('copied', mark('copied'));
$node->safe_psql('postgres', "SELECT dbreset.reset_database('copied', 'tpl')");
catchup();
ended($r, 'reset');
fresh_on_standby('copied', 'reset');
is($standby->safe_psql('postgres',
		"SELECT oid FROM pg_database WHERE datname = 'copied'"),
	$node->safe_psql('postgres',
		"SELECT oid FROM pg_database WHERE datname = 'copied'"),
	'reset: the same OID as on the primary');

# keep_spare: the first reset copies and makes a spare, the next swaps it in
$r = reader('spared', mark('spared'));
$node->safe_psql('postgres',
	"SELECT dbreset.reset_database('spared', 'tpl', keep_spare => true)");
ok(spare_ready($node, 'spared'), 'primary: a spare is made');
catchup();
ended($r, 'first reset with keep_spare');
fresh_on_standby('spared', 'first reset with keep_spare');
is($standby->safe_psql('postgres', 'SELECT * FROM dbreset.spares()'),
	$node->safe_psql('postgres', 'SELECT * FROM dbreset.spares()'),
	'standby: spares() lists the replayed spare as the primary does');

my $spare_oid = $node->safe_psql('postgres',
	"SELECT oid FROM pg_database WHERE datname LIKE 'dbreset_spare_%'");
$r = reader('spared', mark('spared'));
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('spared', 'tpl', keep_spare => true)");
unlike($err, qr/NOTICE/, 'primary: the second reset swaps the spare in');
ok(spare_ready($node, 'spared'),
	'primary: the old database is dropped and the next spare made');
catchup();
is($standby->safe_psql('postgres',
		"SELECT oid FROM pg_database WHERE datname = 'spared'"),
	$spare_oid, 'swap: the standby\'s database is the spare');
ended($r, 'swap (the old database dropped)');
fresh_on_standby('spared', 'swap');
is(stray_dirs(), '',
	'standby: no directory under base/ that no database has');

# a snapshot and a clone: the standby's session on the source is left alone
$r = reader('src', mark('src'));
$node->safe_psql('postgres', "SELECT dbreset.snapshot_database('src', 'src_snap')");
$node->safe_psql('postgres', "SELECT dbreset.clone_database('src', 'src_clone')");
catchup();
is($standby->safe_psql('postgres',
		"SELECT datistemplate, datallowconn FROM pg_database WHERE datname = 'src_snap'"),
	"t|f", 'snapshot: replayed, sealed');
is($standby->safe_psql('src_clone', 'SELECT count(*) FROM t'),
	'101', 'clone: replayed, with the source\'s rows');
is($r->query_safe('SELECT count(*) FROM t'), '101',
	'standby: the reader on the source is still there');
end_session($r);
is(stray_dirs(), '', 'standby: still no stray directory under base/');

# a copy interrupted by a crash of the primary: the standby has replayed
# its CREATE DATABASE, and the next call removes its files there too
SKIP:
{
	skip 'before 15 a crashed copy\'s files stay, on both (core behaviour)', 3
	  if $major < 15;
	skip 'dbreset is not a test build (make DBRESET_TESTING=1)', 3
	  unless $testing;

	set_test_point($node, 'copy:created');
	my $log = -s $node->logfile;
	my $c = $node->background_psql('postgres', on_error_stop => 0);
	$c->query_until(qr/started/,
		"\\echo started\nSELECT dbreset.clone_database('src', 'crashed');\n");
	$node->wait_for_log(qr/dbreset test point "copy:created" reached/, $log);
	catchup();
	like(stray_dirs(), qr/^\d+$/,
		'crash: the standby has the half-made copy\'s directory');
	$node->stop('immediate');
	end_session($c);
	$node->start;
	set_test_point($node, '');
	$node->safe_psql('postgres', "SELECT dbreset.clone_database('src', 'after_crash')");
	ok($node->log_contains(qr/dbreset removed the files of a copy whose making was interrupted/, $log),
		'crash: the next call removed them on the primary');
	catchup();
	is(stray_dirs(), '', 'crash: and on the standby');
}

# --- 2. refusals on the standby ------------------------------------------

my $refused_mark = mark('refused');
$r = reader('refused', $refused_mark);
# every function that writes: core's 25006, as the statement it runs
# would get, before anything else
my @refused = (
	[ "force_drop_database('refused')", 'DROP DATABASE' ],
	[ "force_drop_database('refused', grace => '1s', rollback_prepared => true)",
		'DROP DATABASE' ],
	[ "reset_database('refused', 'tpl')", 'DROP DATABASE' ],
	[ "reset_database('refused', 'tpl', keep_spare => true)", 'DROP DATABASE' ],
	[ "reset_database('spared', 'tpl', keep_spare => true)", 'DROP DATABASE' ],
	[ "snapshot_database('refused', 'r_snap', terminate_sessions => true)",
		'CREATE DATABASE' ],
	[ "clone_database('refused', 'r_clone', terminate_sessions => true)",
		'CREATE DATABASE' ],
	[ "lock_database('refused', grace => '1s')", 'ALTER DATABASE' ],
	[ "unlock_database('refused')", 'ALTER DATABASE' ],
	[ "unlock_database('m0')", 'ALTER DATABASE' ],
	[ 'drop_spares()', 'DROP DATABASE' ],
	[ "drop_spares('spared')", 'DROP DATABASE' ],
	[ "force_drop_databases('re%')", 'DROP DATABASE' ]);
for my $call (@refused)
{
	my ($sql, $what) = @$call;
	($ret, $out, $err) =
	  psql_verbose($standby, 'postgres', "SELECT * FROM dbreset.$sql");
	like($err, qr/ERROR:  25006: cannot execute $what in a read-only transaction\n/,
		"standby: $sql refused with core's 25006");
	is(alive($r, $refused_mark), 1, "standby: $sql left the reader alone");
}

# a grace holds connections off with the database's lock, which a standby
# cannot take
($ret, $out, $err) = psql_verbose($standby, 'postgres',
	"SELECT * FROM dbreset.terminate_sessions('refused', grace => '1s')");
like($err,
	qr/ERROR:  25006: cannot execute dbreset\.terminate_sessions\(\) with a grace during recovery\n/,
	'standby: terminate_sessions() with a grace refused, 25006');
like($err, qr/HINT:  Without a grace, /, 'with a hint: call it without one');
is(alive($r, $refused_mark), 1,
	'standby: terminate_sessions() with a grace left the reader alone');

is($standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'dbreset%'"),
	'0', 'standby: no dbreset worker was started');
is(files('pg_dbreset'), $records, 'standby: nothing written under pg_dbreset/');

# the read-only functions work
my $rpid = session_pid($r);
is($standby->safe_psql('postgres',
		"SELECT pid, database_state, can_terminate FROM dbreset.sessions('refused')"),
	"$rpid|open|t", 'standby: sessions(dbname) lists the reader');
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM dbreset.sessions() WHERE pid = $rpid"),
	'1', 'standby: sessions() too');
is($standby->safe_psql('postgres',
		"SELECT kind, object, detail FROM dbreset.drop_blockers('refused') WHERE blocks"),
	'read_only|server|cannot execute DROP DATABASE during recovery',
	'standby: drop_blockers() names the recovery as what blocks the drop');
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM dbreset.drop_blockers('refused') WHERE kind = 'session' AND NOT blocks"),
	'1', 'standby: and the session the drop would terminate');
is($standby->safe_psql('postgres',
		"SELECT * FROM dbreset.force_drop_databases('re%', dry_run => true)"),
	'refused|1|read_only server: cannot execute DROP DATABASE during recovery',
	'standby: force_drop_databases(dry_run) says the same');
is($standby->safe_psql('postgres',
		"SELECT pid FROM dbreset.terminate_sessions('refused')"),
	$rpid, 'standby: terminate_sessions() without a grace terminates, as pg_terminate_backend() does');
like(session_error($r), qr/terminating connection due to administrator command/,
	'standby: the reader was terminated by it');
end_session($r);

# --- 3. lock_database() on the primary; the standby promoted -------------

# what drop_blockers() says of a database's state: locked, closed or none
sub state_row
{
	my ($db) = @_;
	return $standby->safe_psql('postgres',
		"SELECT coalesce(string_agg(kind, ','), 'none') FROM dbreset.drop_blockers('$db') WHERE kind IN ('locked', 'closed')"
	);
}

my $lock_mark = mark('m1');
$r = reader('m1', $lock_mark);
is($node->safe_psql('postgres', "SELECT dbreset.lock_database('m1')"),
	0, 'primary: m1 locked (no session there)');
catchup();
is(alive($r, $lock_mark), 1,
	'standby: the replayed lock leaves the reader alone (core behaviour)');
($ret, $out, $err) = $standby->psql('m1', 'SELECT 1');
like($err, qr/database "m1" is not currently accepting connections/,
	'standby: a new connection to m1 is refused');
is(state_row('m1'), 'closed',
	'standby: m1 shows as closed, the lock\'s record not being replicated');
is($standby->safe_psql('postgres',
		"SELECT database_state FROM dbreset.sessions('m1')"),
	'closed', 'standby: sessions() says closed too');
is(state_row('m0'), 'locked',
	'standby: m0, locked in the copy the standby was made from, shows as locked');

$node->stop;
$standby->promote;
is(state_row('m1'), 'closed', 'promoted: m1 shows as closed');
($ret, $out, $err) = psql_verbose($standby, 'postgres',
	"SELECT dbreset.unlock_database('m1')");
like($err, qr/ERROR:  55000: database "m1" was not locked by dbreset\.lock_database\(\)/,
	'promoted: unlock_database() does not open m1');
like($err, qr/HINT:  To allow connections anyway, use ALTER DATABASE m1 ALLOW_CONNECTIONS true\./,
	'and names the ALTER DATABASE that does');
$standby->safe_psql('postgres', 'ALTER DATABASE m1 ALLOW_CONNECTIONS true');
is($standby->safe_psql('m1', "SELECT count(*) FROM t WHERE i = $lock_mark"),
	'1', 'promoted: ALTER DATABASE opens m1, with its rows');
is(state_row('m1'), 'none', 'promoted: m1 shows as open');
is(alive($r, $lock_mark), 1, 'promoted: the reader on m1 is still there');
end_session($r);

is(state_row('m0'), 'locked', 'promoted: m0 shows as locked');
$standby->safe_psql('postgres', "SELECT dbreset.unlock_database('m0')");
is(row_count($standby, 'm0'), 100, 'promoted: unlock_database() opens m0');

# the spare the primary made is the promoted server's
($ret, $out, $err) = psql_verbose($standby, 'postgres',
	"SELECT dbreset.reset_database('spared', 'tpl', keep_spare => true)");
unlike($err, qr/NOTICE|ERROR/, 'promoted: a reset swaps in the replayed spare');
is(is_fresh($standby, 'spared'), 1, 'promoted: a fresh copy of the template');

$standby->stop;
done_testing();
