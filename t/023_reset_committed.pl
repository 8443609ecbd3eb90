# t/023_reset_committed.pl
#
# A reset that has committed returns success, whatever happens to the
# name afterwards: reset A is stopped before its CREATE, its caller frozen
# (SIGSTOP) while its worker finishes; reset B of the same database is
# then stopped between its DROP and its CREATE; A's caller goes on, and
# must not wait for B nor fail because the name is gone for now (it
# looked the name up again, waiting for B on the name lock within its own
# timeout: 55P03 "could not lock database", and "No session was
# terminated", after a reset that had terminated and committed).
#
# Before 15 only: from 15 on B's DROP DATABASE waits for every backend to
# answer its barrier, and A's frozen caller never does.  Test builds only
# (dbreset.test_stop_at).  A spare of rr made before A must go too: A
# knows the database it made from its job, not from a look-up of the name
# that finds B's gap (it then left that spare, orphaned).

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('committed');
my $major = $node->safe_psql('postgres',
	"SELECT current_setting('server_version_num')::int / 10000");
if ($major >= 15 || !is_test_build($node))
{
	$node->stop;
	plan skip_all => $major >= 15
	  ? 'a frozen backend holds up DROP DATABASE from 15 on'
	  : 'dbreset is not a test build (make DBRESET_TESTING=1)';
}

$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('postgres',
	'ALTER DATABASE tpl IS_TEMPLATE true ALLOW_CONNECTIONS false');
make_db($node, 'rr');

# reset_stopped(timeout): a reset of rr in the background, stopped at
# reset:before_create, and its backend's PID
sub reset_stopped
{
	my ($timeout) = @_;
	set_test_point($node, 'reset:before_create');
	my $offset = -s $node->logfile;
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = session_pid($s);
	$s->query_until(qr/started/,
		"\\echo started\nSELECT dbreset.reset_database('rr', 'tpl', timeout => '$timeout');\n\\echo done\n");
	$node->wait_for_log(qr/test point "reset:before_create" reached/, $offset);
	return ($s, $pid);
}

# a spare of rr's OID before A: A, which copies, must have it dropped
$node->safe_psql('postgres',
	"SELECT dbreset.reset_database('rr', 'tpl', keep_spare => true)");
spare_ready($node, 'rr') or die 'no spare of rr';

my ($a, $apid) = reset_stopped('2s');
stop_process($apid);
set_test_point($node, '');
# A's worker creates rr again and lets go of the name
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_database WHERE datname = 'rr'")
  or die 'A never created rr';
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'dbreset worker' AND state <> 'idle'")
  or die 'A\'s worker never finished';

my ($b) = reset_stopped('60s');
# A's caller goes on while B is between its DROP and its CREATE, longer
# than A's timeout
continue_process($apid);
my $out = $a->query_until(qr/done/, '');
like($out, qr/^0$/m, 'A, whose reset committed, returns success');
is($a->{stderr} =~ /ERROR/ ? $a->{stderr} : '', '', 'A raises no error');

set_test_point($node, '');
$out = $b->query_until(qr/done/, '');
like($out, qr/^0$/m, 'B returns success too');
is($node->safe_psql('rr', "SELECT count(*) FROM pg_class WHERE relname = 't'"),
	0, 'rr is a fresh copy of tpl');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'dbreset spare worker'")
  or die 'a spare worker is still at work';
is($node->safe_psql('postgres',
		"SELECT string_agg(spare || ':' || state, ' ') FROM dbreset.spares()"),
	'', 'no spare is left of the OIDs A and B dropped');
$a->quit;
$b->quit;
$node->stop;
done_testing();
