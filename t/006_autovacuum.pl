# t/006_autovacuum.pl
#
# Autovacuum workers have no role.  terminate_sessions() follows
# pg_terminate_backend(): only a superuser (from PostgreSQL 18, a member of
# pg_signal_autovacuum_worker) may stop one.  force_drop_database() stops
# them without a check, as DROP DATABASE does, once the caller has shown it
# may drop the database: the database's owner does not need more.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# autovacuum that starts at once and then crawls, so that a worker stays
my $node = new_node(
	'av', conf => qq(
autovacuum_naptime = 1
autovacuum_vacuum_threshold = 1
autovacuum_vacuum_scale_factor = 0
autovacuum_vacuum_cost_delay = 100
autovacuum_vacuum_cost_limit = 1
));
$node->safe_psql(
	'postgres', q(
CREATE ROLE owner_role LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval) TO owner_role;
GRANT EXECUTE ON FUNCTION dbreset.terminate_sessions(name, interval) TO owner_role;
GRANT pg_signal_backend TO owner_role;
));
make_db($node, 'av1', owner => 'owner_role');
$node->safe_psql('av1',
	'CREATE TABLE big AS SELECT g FROM generate_series(1, 200000) g; DELETE FROM big;'
);

$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM dbreset.sessions('av1') WHERE backend_type = 'autovacuum worker'"
) or die 'no autovacuum worker came';
my $av_pid = $node->safe_psql('postgres',
	"SELECT pid FROM dbreset.sessions('av1') WHERE backend_type = 'autovacuum worker'");

my ($ret, $out, $err) = $node->psql(
	'postgres',
	"SELECT can_terminate FROM dbreset.sessions('av1') WHERE pid = $av_pid",
	extra_params => [ '-U', 'owner_role' ]);
is($out, 'f', 'sessions(): a non-superuser may not terminate autovacuum');

($ret, $out, $err) = $node->psql(
	'postgres',
	"SELECT * FROM dbreset.terminate_sessions('av1')",
	extra_params => [ '-U', 'owner_role' ]);
like($err, qr/permission denied to terminate autovacuum worker $av_pid/,
	'terminate_sessions(): refused, even with pg_signal_backend');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $av_pid"),
	1, 'the autovacuum worker still runs');

($ret, $out, $err) = $node->psql(
	'postgres',
	"SELECT dbreset.force_drop_database('av1')",
	extra_params => [ '-U', 'owner_role' ]);
is($ret, 0, "force_drop_database(): the owner drops it, autovacuum or not")
  or diag $err;
is(db_exists($node, 'av1'), 0, 'av1 is gone');

$node->stop;
done_testing();
