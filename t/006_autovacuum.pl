# t/006_autovacuum.pl
#
# Autovacuum workers have no role.  terminate_sessions() follows
# pg_terminate_backend(): only a superuser (from PostgreSQL 18, privileges
# of pg_signal_autovacuum_worker) may stop one.  force_drop_database()
# stops them without a check, as every DROP DATABASE does before it counts
# the sessions: the database's owner needs nothing more.
#
# The autovacuum worker is frozen with SIGSTOP as soon as it is seen, so
# that it cannot finish and leave on its own while the test looks at it.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# autovacuum that starts at once and then crawls
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
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO owner_role;
GRANT EXECUTE ON FUNCTION dbreset.terminate_sessions(name, interval, interval) TO owner_role;
GRANT pg_signal_backend TO owner_role;
));
make_db($node, 'av1', owner => 'owner_role');
$node->safe_psql('av1',
	'CREATE TABLE big AS SELECT g FROM generate_series(1, 200000) g; DELETE FROM big;'
);

# an autovacuum worker on av1, frozen: retried if one leaves before SIGSTOP
my $av_pid;
for my $try (1 .. 20)
{
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM dbreset.sessions('av1') WHERE backend_type = 'autovacuum worker'"
	) or die 'no autovacuum worker came';
	my $pid = $node->safe_psql('postgres',
		"SELECT min(pid) FROM dbreset.sessions('av1') WHERE backend_type = 'autovacuum worker'");
	next if $pid eq '' || !kill('STOP', $pid);
	if ($node->safe_psql('postgres',
			"SELECT count(*) FROM dbreset.sessions('av1') WHERE pid = $pid") == 1)
	{
		$av_pid = $pid;
		last;
	}
}
die 'could not freeze an autovacuum worker of av1' unless $av_pid;

my ($ret, $out, $err) = $node->psql(
	'postgres',
	"SELECT can_terminate FROM dbreset.sessions('av1') WHERE pid = $av_pid",
	extra_params => [ '-U', 'owner_role' ]);
is($out, 'f', 'sessions(): a non-superuser may not terminate autovacuum');

($ret, $out, $err) = psql_verbose(
	$node, 'postgres',
	"SELECT * FROM dbreset.terminate_sessions('av1')",
	extra_params => [ '-U', 'owner_role' ]);
like($err, qr/ERROR:  42501: permission denied to terminate autovacuum worker $av_pid/,
	'terminate_sessions(): refused, even with pg_signal_backend');
if ($node->pg_version >= 18)
{
	like($err, qr/"pg_signal_autovacuum_worker" role/,
		'18: the refusal names pg_signal_autovacuum_worker, as core does');

	# and that role is what it takes, as for pg_terminate_backend()
	$node->safe_psql('postgres',
		'GRANT pg_signal_autovacuum_worker TO owner_role');
	($ret, $out, $err) = $node->psql(
		'postgres',
		"SELECT can_terminate FROM dbreset.sessions('av1') WHERE pid = $av_pid",
		extra_params => [ '-U', 'owner_role' ]);
	is($out, 't', '18: pg_signal_autovacuum_worker may terminate it');
	$node->safe_psql('postgres',
		'REVOKE pg_signal_autovacuum_worker FROM owner_role');
}
else
{
	like($err, qr/SUPERUSER attribute/,
		'before 18: the refusal names the SUPERUSER attribute');
}
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $av_pid"),
	1, 'the autovacuum worker still runs');

# the owner, without pg_signal_backend, drops the database: the worker is
# signalled, and leaves once it may run again
$node->safe_psql('postgres', 'REVOKE pg_signal_backend FROM owner_role');
my $dropper = $node->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'owner_role' ]);
$dropper->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('av1', timeout => '60s');\n");
wait_for_drop_lock($node, 'av1');
continue_process($av_pid);
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_database WHERE datname = 'av1'")
  or die 'av1 was never dropped';
is(db_exists($node, 'av1'), 0, 'force_drop_database(): the owner drops av1, autovacuum or not');
ok($node->log_contains(qr/dropped database "av1" after terminating \d+ sessions?\n.*pid $av_pid \(user -, application autovacuum worker\)/),
	'the frozen autovacuum worker was among the sessions terminated');
end_session($dropper);

$node->stop;
done_testing();
