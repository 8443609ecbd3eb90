# t/005_sessions.pl
#
# dbreset.sessions() reads the ProcArray and backend status live: within
# one transaction it shows sessions gone that pg_stat_activity's snapshot
# still lists.  Private columns follow pg_stat_activity's visibility rule.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('sess');
make_db($node, 's1');
make_db($node, 's2');
$node->safe_psql('postgres', 'CREATE ROLE eve LOGIN');

my @s1 = map { $node->background_psql('s1', on_error_stop => 0) } 1 .. 2;
my @pids = map { session_pid($_) } @s1;
my $s2 = $node->background_psql('s2', on_error_stop => 0);
$s2->query_until(qr/started/,
	"\\echo started\nSET application_name = 'sleeper';\nSELECT pg_sleep(600);\n");
wait_for_sessions($node, 's2', 1);

# --- live, not a per-transaction snapshot ------------------------------

my $watcher = $node->background_psql('postgres', on_error_stop => 0);
$watcher->query_safe('BEGIN');
is($watcher->query_safe("SELECT count(*) FROM pg_stat_activity WHERE datname = 's1'"),
	2, 'pg_stat_activity sees two sessions on s1');
is($watcher->query_safe("SELECT count(*) FROM dbreset.sessions('s1')"),
	2, 'sessions() sees two sessions on s1');

$node->safe_psql('postgres', "SELECT pg_terminate_backend($_)")
  for @pids;
wait_for_sessions($node, 's1', 0);

is($watcher->query_safe("SELECT count(*) FROM dbreset.sessions('s1')"),
	0, 'later in the same transaction, sessions() shows them gone');
is($watcher->query_safe("SELECT count(*) FROM pg_stat_activity WHERE datname = 's1'"),
	0, 'and pg_stat_activity is read afresh after it');
$watcher->query_safe('COMMIT');
end_session($_) for @s1;

# --- NULL lists every database, the caller excluded --------------------

is( $watcher->query_safe(
		"SELECT count(*) FROM dbreset.sessions() WHERE datname = 's2' AND application_name = 'sleeper'"
	),
	1,
	'NULL: sessions of every database');
is($watcher->query_safe(
		'SELECT count(*) FROM dbreset.sessions() WHERE pid = pg_backend_pid()'),
	0, 'never the caller');

# --- columns, as the owner of the session sees them --------------------

is( $watcher->query_safe(
		"SELECT backend_type, state, wait_event, query, can_terminate, backend_start IS NOT NULL, query_start IS NOT NULL FROM dbreset.sessions('s2')"
	),
	'client backend|active|PgSleep|SELECT pg_sleep(600);|t|t|t',
	'columns of an active session');

# --- and as another role sees them -------------------------------------

my ($ret, $out, $err) = $node->psql(
	'postgres',
	"SELECT usename IS NOT NULL, application_name, state, query, backend_start, can_terminate FROM dbreset.sessions('s2')",
	extra_params => [ '-U', 'eve' ]);
is($out, 't|sleeper||<insufficient privilege>||f',
	'another role: query hidden, private columns NULL, cannot terminate');

$node->safe_psql('postgres', 'GRANT pg_read_all_stats TO eve');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT query FROM dbreset.sessions('s2')",
	extra_params => [ '-U', 'eve' ]);
is($out, 'SELECT pg_sleep(600);', 'pg_read_all_stats: query visible');

end_session($watcher);
end_session($s2);
$node->stop;
done_testing();
