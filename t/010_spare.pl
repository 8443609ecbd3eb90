# t/010_spare.pl
#
# reset_database(..., keep_spare => true): the first reset copies and a
# spare is made in the background; the next one swaps it in, keeping every
# property, and the old database is dropped in the background; a connection
# waiting during a swap gets 3D000; a spare made stale by altering the
# template is not used (NOTICE); keep_spare => false drops the spare; a
# spare worker killed with SIGKILL mid-copy, and a caller killed mid-swap,
# leave exactly one database of that name, connectable, and -- after the
# next call -- nothing orphaned under base/.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# crashes are part of the test: the server must restart after them
my $node = new_node('spare', conf => 'restart_after_crash = on');
my $major = $node->safe_psql('postgres',
	"SELECT current_setting('server_version_num')::int / 10000");

$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('tpl', 'CREATE TABLE fresh (i int)');
$node->safe_psql('postgres',
	'ALTER DATABASE tpl IS_TEMPLATE true ALLOW_CONNECTIONS false');
make_db($node, 'app');
$node->safe_psql(
	'postgres', q(
CREATE ROLE sp_reader LOGIN;
COMMENT ON DATABASE app IS 'kept through swaps';
ALTER DATABASE app SET work_mem = '3MB';
ALTER DATABASE app CONNECTION LIMIT 20;
ALTER ROLE sp_reader IN DATABASE app SET search_path = x;
REVOKE TEMPORARY ON DATABASE app FROM PUBLIC;
GRANT CREATE ON DATABASE app TO sp_reader;
CREATE FUNCTION db_props(db name) RETURNS jsonb LANGUAGE sql AS $$
    SELECT to_jsonb(d) - '{oid,datfrozenxid,datminmxid,datlastsysoid}'::text[]
        || jsonb_build_object(
            'comment', shobj_description(d.oid, 'pg_database'),
            'settings', (SELECT jsonb_agg(jsonb_build_array(
                                    s.setrole::regrole, s.setconfig)
                                ORDER BY s.setrole::regrole::text)
                         FROM pg_db_role_setting s WHERE s.setdatabase = d.oid),
            'shared_dependencies', (SELECT jsonb_agg(jsonb_build_array(
                                    sd.refobjid::regrole, sd.deptype)
                                ORDER BY sd.refobjid::regrole::text, sd.deptype)
                         FROM pg_shdepend sd
                         WHERE sd.classid = 'pg_database'::regclass
                           AND sd.objid = d.oid))
    FROM pg_database d WHERE d.datname = db
$$;
));

# orphans(): directories under base/ that no database has
sub orphans
{
	my %known = map { $_ => 1 } split /\n/,
	  $node->safe_psql('postgres', 'SELECT oid FROM pg_database');
	opendir(my $dh, $node->data_dir . '/base') or die $!;
	my @orphans = grep { /^\d+$/ && !$known{$_} } readdir $dh;
	closedir $dh;
	return \@orphans;
}

sub one_app_connectable
{
	my ($what) = @_;
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_database WHERE datname = 'app'"),
		'1', "$what: exactly one database app");
	is($node->safe_psql('app', 'SELECT 1'), '1', "$what: and it is connectable");
	return;
}

# 1. the first reset copies, and a spare is made in the background
my ($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
is($ret, 0, 'first reset with keep_spare succeeds');
like($err, qr/NOTICE:  00000: no spare of template "tpl" was used for database "app": there was none/,
	'and says that it copied, there being no spare yet');
ok(spare_ready($node, 'app'), 'a spare is made in the background');
my $before = $node->safe_psql('postgres', "SELECT db_props('app')");

# 2. the next reset swaps it in: sessions terminated, properties kept
$node->safe_psql('app', 'CREATE TABLE t (i int)');
my @s = map { my $x = $node->background_psql('app', on_error_stop => 0);
	$x->query_safe('SELECT 1'); $x } 1 .. 2;
wait_for_sessions($node, 'app', 2);
my $spare_oid = $node->safe_psql('postgres',
	"SELECT oid FROM pg_database WHERE datname LIKE 'dbreset_spare_%'");
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
is($out, '2', 'the swap returns the number of sessions terminated');
unlike($err, qr/NOTICE/, 'without a notice');
like(session_error($_), qr/terminating connection due to administrator command/,
	'a session on the database was terminated')
  for @s;
is($node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'app'"),
	$spare_oid, 'the database is now the spare');
is(is_fresh($node, 'app'), 1, 'a fresh copy of the template');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM jsonb_each(db_props('app')) a
		 FULL JOIN jsonb_each('$before'::jsonb) b USING (key)
		 WHERE a.value IS DISTINCT FROM b.value"),
	'0', 'with every property the database had: owner, ACL, comment, settings, limit, flags, locale');
ok($node->log_contains(
		qr/reset database "app" from template "tpl" after terminating 2 sessions\n.*DETAIL:  Swapped in a spare made earlier\. Terminated: /
	),
	'the LOG line says the spare was swapped in');
ok(spare_ready($node, 'app'), 'the old database is dropped and the next spare made');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_database WHERE datname LIKE 'dbreset_old_%'"),
	'0', 'no old database is left');
end_session($_) for @s;

# 3. a connection made during a swap waited on the old OID: 3D000
my $frozen = $node->background_psql('app', on_error_stop => 0);
my $fpid = session_pid($frozen);
stop_process($fpid);
my $caller = $node->background_psql('postgres', on_error_stop => 0);
$caller->query_until(qr/started/, q(\echo started
SELECT dbreset.reset_database('app', 'tpl', keep_spare => true, timeout => '60s');
\echo done
));
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'object' AND classid = 'pg_database'::regclass
	   AND objid = (SELECT oid FROM pg_database WHERE datname = 'app')
	   AND mode = 'AccessExclusiveLock' AND granted")
  or die 'the swap never locked app';
my ($nc_out, $nc_err) = ('', '');
my $newcomer = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('app'), '-c', 'SELECT 1' ],
	'>', \$nc_out, '2>', \$nc_err);
wait_for_lock_waiter($node, 'app', 'the newcomer');
continue_process($fpid);
$caller->query_until(qr/done/, '');
$newcomer->finish;
like($nc_err, qr/database "app" does not exist/,
	'a connection that waited during the swap gets "does not exist" (core\'s 3D000)');
is(is_fresh($node, 'app'), 1, 'the swap went through');
end_session($frozen);
ok(spare_ready($node, 'app'), 'and the next spare is ready');

# 4. a spare made stale by altering the template is not used
$node->safe_psql('postgres', 'ALTER DATABASE tpl ALLOW_CONNECTIONS true');
is($node->safe_psql('postgres', "SELECT state FROM dbreset.spares() WHERE dbname = 'app'"),
	'stale', 'spares() shows the spare as stale once the template allows connections');
$node->safe_psql('tpl', 'CREATE TABLE added_later (i int)');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
like($err, qr/NOTICE:  00000: template "tpl" allows connections, so no spare of it is kept/,
	'a template that allows connections gets no spare, and the notice says so');
is($node->safe_psql('app', "SELECT count(*) FROM pg_class WHERE relname = 'added_later'"),
	'1', 'the reset copied the template as it is now');
$node->safe_psql('postgres', 'ALTER DATABASE tpl ALLOW_CONNECTIONS false');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM dbreset.spares()")
  or die 'the stale spare was not dropped';
pass('the stale spare was dropped in the background');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
like($err, qr/NOTICE:  00000: no spare of template "tpl" was used for database "app": there was none/,
	'sealed again: the next reset copies once more');
ok(spare_ready($node, 'app'), 'and a spare is made again');
$node->safe_psql('postgres', 'GRANT CONNECT ON DATABASE tpl TO sp_reader');
is($node->safe_psql('postgres', "SELECT state FROM dbreset.spares() WHERE dbname = 'app'"),
	'stale', 'a GRANT on the template makes the spare stale');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
like($err,
	qr/NOTICE:  00000: no spare of template "tpl" was used for database "app": its template has been altered since the spare was made/,
	'and the reset says why it copied');
ok(spare_ready($node, 'app'), 'a new spare replaces the stale one');

# 5. keep_spare => false drops the spare
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl')");
is($ret, 0, 'a reset without keep_spare');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM dbreset.spares()'),
	'drops the spare kept earlier');

# 5b. a spare that is not as the maker left it -- here a forged one, with
#     a marker comment written by another transaction -- is not used
my $appoid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'app'");
my ($tploid, $tplxmin) = split /\|/, $node->safe_psql('postgres',
	"SELECT oid, xmin FROM pg_database WHERE datname = 'tpl'");
$node->safe_psql('postgres',
	"CREATE DATABASE dbreset_spare_$appoid TEMPLATE tpl ALLOW_CONNECTIONS false");
$node->safe_psql('postgres',
	"COMMENT ON DATABASE dbreset_spare_$appoid IS 'dbreset spare of database $appoid from template $tploid row $tplxmin, made by hand'");
is($node->safe_psql('postgres', "SELECT state FROM dbreset.spares() WHERE dbname = 'app'"),
	'stale', 'a forged spare is listed as stale');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
like($err,
	qr/NOTICE:  00000: no spare of template "tpl" was used for database "app": it has been altered since it was made/,
	'and is not swapped in');
ok(spare_ready($node, 'app'), 'it is dropped and a real spare made');

# 6. kill -9 of the caller mid-swap: the swap is one transaction
ok(spare_ready($node, 'app'), 'a spare to swap');
$node->safe_psql('app', 'CREATE TABLE t AS SELECT generate_series(1, 100) AS i');
$frozen = $node->background_psql('app', on_error_stop => 0);
$fpid = session_pid($frozen);
stop_process($fpid);
$caller = $node->background_psql('postgres', on_error_stop => 0);
my $cpid = session_pid($caller);
$caller->query_until(qr/started/, q(\echo started
SELECT dbreset.reset_database('app', 'tpl', keep_spare => true, timeout => '60s');
));
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $cpid AND wait_event_type = 'Extension'")
  or die 'the swap never waited for the frozen session';
kill 'KILL', $cpid or die "kill $cpid: $!";
continue_process($fpid);		# let it take the postmaster's SIGQUIT
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'the server did not come back after the crash';
end_session($frozen);
end_session($caller);
one_app_connectable('caller killed mid-swap');
is(row_count($node, 'app'), 100, 'it is the old database, with its data');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
is($ret, 0, 'the next reset works');
is(is_fresh($node, 'app'), 1, 'and gives a fresh copy');
ok(spare_ready($node, 'app'), 'with a spare made after it');
is_deeply(orphans(), [], 'nothing is orphaned under base/');

# 7. kill -9 of the spare worker mid-copy: a big template, so that the copy
#    takes long enough to be caught; WAL_LOG, which writes as it goes
$node->safe_psql('postgres', 'CREATE DATABASE bigtpl');
$node->safe_psql('bigtpl',
	"CREATE TABLE filler AS SELECT g, repeat('x', 900) AS pad FROM generate_series(1, 120000) g");
$node->safe_psql('postgres',
	'ALTER DATABASE bigtpl IS_TEMPLATE true ALLOW_CONNECTIONS false');
$node->safe_psql('postgres', 'CHECKPOINT');
$node->safe_psql('postgres', 'CREATE DATABASE big');
my $watcher = $node->background_psql('postgres', on_error_stop => 0);
$watcher->query_safe('SET dbreset.file_copy_threshold = 2147483647');
$watcher->query(
	"SELECT dbreset.reset_database('big', 'bigtpl', keep_spare => true)");
$watcher->{stderr} = '';		# its NOTICE would fail the next query_safe
my $mpid = '';
for (my $i = 0; $i < 3000 && $mpid eq ''; $i++)
{
	$mpid = $watcher->query_safe(
		"SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity
		 WHERE backend_type = 'dbreset spare worker' AND query LIKE 'CREATE DATABASE%'");
}
SKIP:
{
	skip 'the spare worker copied too fast to be caught mid-copy', 6
	  if $mpid eq '';
	# (not SIGSTOP first: a frozen backend may hold what everyone needs)
	kill 'KILL', $mpid or die "kill $mpid: $!";
	$node->poll_query_until('postgres', 'SELECT 1', '1')
	  or die 'the server did not come back after the crash';
	end_session($watcher);
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_database WHERE datname LIKE 'dbreset_spare_%' AND datname <> 'dbreset_spare_'
			   || (SELECT oid FROM pg_database WHERE datname = 'app')"),
		'0', 'the spare worker was killed before its commit');
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_database WHERE datname = 'big'"),
		'1', 'spare worker killed: exactly one database big');
	is($node->safe_psql('big', 'SELECT count(*) FROM filler'), '120000',
		'connectable, with its data');
	is($node->safe_psql('postgres', "SELECT state FROM dbreset.spares() WHERE dbname = 'big'"),
		'crashed', 'spares() shows what the crashed worker left')
	  if $major >= 15;
	($ret, $out, $err) = psql_verbose($node, 'postgres',
		"SELECT dbreset.reset_database('big', 'bigtpl', keep_spare => true)");
	is($ret, 0, 'the next call works');
	ok(spare_ready($node, 'big'), 'and makes a spare');
}
SKIP:
{
	skip 'before 15 a crashed CREATE DATABASE leaves its files (no OID to record)', 1
	  if $major < 15;
	is_deeply(orphans(), [], 'after the next call nothing is orphaned under base/');
}

is($node->safe_psql('postgres', 'SELECT dbreset.drop_spares()'), '2',
	'drop_spares() drops both spares');
is($node->safe_psql('postgres', 'SELECT count(*) FROM dbreset.spares()'), '0',
	'and none is left');

$node->stop;
done_testing();
