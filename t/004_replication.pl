# t/004_replication.pl
#
# Logical replication blocks a drop the way it blocks DROP DATABASE: an
# active slot or a subscription is refused with core's error before any
# session is terminated; an inactive slot is dropped with the database.
# A standby refuses, and replays the drop made on the primary.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('repl', init => { allows_streaming => 'logical' });

# --- an active logical slot --------------------------------------------

make_db($node, 'r1');
$node->safe_psql('r1',
	"SELECT pg_create_logical_replication_slot('r1_slot', 'test_decoding')");
my $bystander = bystander($node, 'r1');

my ($recv_out, $recv_err) = ('', '');
my $recv = IPC::Run::start(
	[
		'pg_recvlogical', '-d', $node->connstr('r1'), '--slot', 'r1_slot',
		'--start', '-f', '-', '--no-loop'
	],
	'>', \$recv_out, '2>', \$recv_err);
$node->poll_query_until('postgres',
	"SELECT active FROM pg_replication_slots WHERE slot_name = 'r1_slot'")
  or die 'slot never became active';

my ($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('r1')");
like($err, qr/ERROR:  55006: database "r1" is used by an active logical replication slot/,
	'active slot: core message and SQLSTATE');
like($err, qr/There is 1 active slot\./, 'active slot: core detail');
is(bystander_alive($bystander), 1, 'active slot: nobody terminated');
is(row_count($node, 'r1'), 100, 'active slot: r1 kept with its rows');

$recv->kill_kill;
$node->poll_query_until('postgres',
	"SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'r1_slot'")
  or die 'slot never became inactive';

# --- an inactive slot goes with the database ---------------------------

is($node->safe_psql('postgres', "SELECT dbreset.force_drop_database('r1')"),
	1, 'inactive slot: dropped, one session terminated');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'r1_slot'"),
	0, 'inactive slot: dropped with the database');
end_session($bystander);

# --- a subscription ----------------------------------------------------

make_db($node, 'r2');
$node->safe_psql('r2',
	"CREATE SUBSCRIPTION r2_sub CONNECTION 'dbname=nowhere' PUBLICATION p WITH (connect = false)"
);
my $sub_bystander = bystander($node, 'r2');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('r2')");
like($err,
	qr/ERROR:  55006: database "r2" is being used by logical replication subscription/,
	'subscription: core message and SQLSTATE');
is(bystander_alive($sub_bystander), 1, 'subscription: nobody terminated');
is(row_count($node, 'r2'), 100, 'subscription: r2 kept with its rows');
$node->safe_psql('r2',
	'ALTER SUBSCRIPTION r2_sub SET (slot_name = NONE); DROP SUBSCRIPTION r2_sub');
is($node->safe_psql('postgres', "SELECT dbreset.force_drop_database('r2')"),
	1, 'subscription: dropped once it is gone');
end_session($sub_bystander);

# --- a standby: read-only refusal; the primary's drop replays ----------

make_db($node, 'r3');
$node->stop;    # a cold copy: pg_basebackup 15 refuses newer servers
$node->backup_fs_cold('cold');
$node->start;
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'cold', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));

my $reader = bystander($standby, 'r3');
($ret, $out, $err) = psql_verbose($standby, 'postgres',
	"SELECT dbreset.force_drop_database('r3')");
like($err, qr/ERROR:  25006: cannot execute DROP DATABASE in a read-only transaction/,
	'standby: refused as read-only');
is(bystander_alive($reader), 1,
	'standby: the reader was not terminated');

is($node->safe_psql('postgres', "SELECT dbreset.force_drop_database('r3')"),
	0, 'primary: r3 dropped');
$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_database WHERE datname = 'r3'"),
	0, 'standby: the drop replayed (core behaviour)');
like(session_error($reader), qr/terminating connection/,
	'standby: recovery ended the reader (core behaviour)');
end_session($reader);

$standby->stop;
$node->stop;
done_testing();
