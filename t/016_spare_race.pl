# t/016_spare_race.pl
#
# A spare wanted by someone else while a reset swaps it in: the reset locks
# its spare before it signals any session.  drop_spares() during a swap's
# grace waits for the swap and then leaves alone what it listed (the spare,
# renamed by then); a spare another transaction holds is not used, and the
# reset copies; the spare maker's lock of a reset that found no spare does
# not stay in the way of a later job of the same transaction.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('spare_race');

$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('tpl', 'CREATE TABLE fresh (i int)');
$node->safe_psql('postgres',
	'ALTER DATABASE tpl IS_TEMPLATE true ALLOW_CONNECTIONS false');
make_db($node, 'app');
make_db($node, 'bystanders');

sub spare_name
{
	return $node->safe_psql('postgres',
		"SELECT 'dbreset_spare_' || oid FROM pg_database WHERE datname = 'app'");
}

my ($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true)");
is($ret, 0, 'a first reset with keep_spare');
ok(spare_ready($node, 'app'), 'makes a spare');

# 1. drop_spares() while a swap waits for its grace: before, the spare was
#    dropped under the reset, which then passed a NULL name on and crashed
#    the server
my $watch = bystander($node, 'bystanders');
$node->safe_psql('app', 'CREATE TABLE t2 (i int)');
my $spare = spare_name();
my $intx = $node->background_psql('app', on_error_stop => 0);
$intx->query_safe('BEGIN');
$intx->query_safe('SELECT 1');
my $caller = $node->background_psql('postgres', on_error_stop => 0);
my $cpid = session_pid($caller);
$caller->query_until(qr/started/, q(\echo started
SELECT dbreset.reset_database('app', 'tpl', keep_spare => true, grace => '4s');
\echo done
));
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $cpid AND wait_event_type = 'Extension'")
  or die 'the reset never waited for the grace';
my $dropper = $node->background_psql('postgres', on_error_stop => 0);
$dropper->query_until(qr/started/, q(\echo started
\set VERBOSITY verbose
SELECT dbreset.drop_spares() AS dropped;
\echo done
));
# the drop waits for the reset's lock on the spare (or, before the fix,
# drops it at once)
$node->poll_query_until(
	'postgres', qq(
SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = '$spare')
    OR EXISTS (SELECT FROM pg_locks WHERE locktype = 'object'
                 AND classid = 'pg_database'::regclass AND NOT granted
                 AND objid = (SELECT oid FROM pg_database WHERE datname = '$spare'))))
  or die 'drop_spares() never reached the spare';
my $result = $caller->query_until(qr/done/, '');
like($result, qr/^1$/m,
	'the reset swapped the spare in, terminating the session in its transaction');
is($caller->{stderr}, '', 'without an error or a notice');
$result = $dropper->query_until(qr/done/, '');
like($result, qr/^0$/m, 'drop_spares() drops nothing');
unlike($dropper->{stderr}, qr/ERROR/,
	'drop_spares() leaves alone the spare it had listed, swapped in meanwhile');
is(bystander_alive($watch), 1, 'the server did not crash: a bystander lives on');
is(is_fresh($node, 'app'), 1, 'the database is a fresh copy of the template');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'app'"),
	'1', 'one database app');
end_session($_) for ($intx, $caller, $dropper);
ok(spare_ready($node, 'app'), 'the next spare is made');

# 2. a spare that another transaction holds locked is not used: copied
$spare = spare_name();
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('BEGIN');
$holder->query_safe("ALTER DATABASE $spare RENAME TO held_spare");
$node->safe_psql('app', 'CREATE TABLE t3 (i int)');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl', keep_spare => true, timeout => '2s')");
is($ret, 0, 'a reset whose spare is held by another transaction');
like($err,
	qr/NOTICE:  00000: no spare of template "tpl" was used for database "app": it was in use by another transaction/,
	'copies, and says why');
is(is_fresh($node, 'app'), 1, 'a fresh copy of the template');
$holder->query_safe('ROLLBACK');
end_session($holder);
ok(spare_ready($node, 'app'), 'a spare is ready again once the holder let go');

# 3. a reset with keep_spare that finds no spare, then drop_spares() in the
#    same transaction: the spare maker's lock of the reset must be gone, or
#    the job's worker waits for it while the caller waits for the worker
is($node->safe_psql('postgres', "SELECT dbreset.drop_spares('app')"), '1',
	'drop_spares() drops the spare');
($ret, $out, $err) = psql_verbose(
	$node, 'postgres', q(
SET statement_timeout = '30s';
DO $$
BEGIN
    PERFORM dbreset.reset_database('app', 'tpl', keep_spare => true);
    PERFORM dbreset.drop_spares('app');
END
$$;
));
is($ret, 0, 'a reset without a spare and drop_spares() in one DO block');
unlike($err, qr/ERROR/, 'neither waits for the other');
is(is_fresh($node, 'app'), 1, 'the reset went through');

end_session($watch);
$node->stop;
done_testing();
