# t/007_refusals.pl
#
# Every refusal of force_drop_database(), with a session connected to the
# database: the error carries the right SQLSTATE, the session survives and
# still reads its rows, the database stays connectable with its data.  A
# refusal that came after a session was signalled would show here.
# (Refusals that need a special cluster live beside it: active slots and
# subscriptions in t/004, a missing worker slot and prepared transactions
# in t/003.)

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('refuse');
$node->safe_psql(
	'postgres', q(
CREATE ROLE rf_owner LOGIN;
CREATE ROLE rf_other LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean)
    TO rf_owner, rf_other;
));

# refused(name, db, sql, sqlstate, message regex, %opts): run sql on
# database opts{on} (postgres) as opts{user} (the superuser) while a
# bystander (as opts{bystander_user}) sits on db; check the refusal and
# that nothing was touched.
sub refused
{
	my ($name, $db, $sql, $sqlstate, $msg, %opts) = @_;
	my @user = $opts{user} ? (extra_params => [ '-U', $opts{user} ]) : ();
	my @buser =
	  $opts{bystander_user}
	  ? (extra_params => [ '-U', $opts{bystander_user} ])
	  : ();
	my $b = bystander($node, $db, @buser);
	my $bpid = session_pid($b);
	my ($ret, $out, $err) =
	  psql_verbose($node, $opts{on} // 'postgres', $sql, @user);

	isnt($ret, 0, "$name: refused");
	like($err, qr/ERROR:  $sqlstate: $msg/, "$name: SQLSTATE $sqlstate and message");
	is(bystander_alive($b), 1, "$name: the connected session survived");
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $bpid"),
		1, "$name: and was never signalled");
	is(row_count($node, $db), 100, "$name: $db connectable, with its rows");
	end_session($b);
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $bpid")
	  or die "bystander $bpid did not go";
	return $err;
}

make_db($node, 'rf_db', owner => 'rf_owner');
$node->safe_psql('rf_db',
	'GRANT SELECT ON t TO PUBLIC; CREATE EXTENSION dbreset');

refused(
	'protected', 'rf_db',
	"SET dbreset.protected_databases = 'RF_DB'; SELECT dbreset.force_drop_database('rf_db')",
	'55000', 'database "rf_db" is protected by "dbreset.protected_databases"');

refused(
	'not the owner', 'rf_db',
	"SELECT dbreset.force_drop_database('rf_db')",
	'42501', 'must be owner of database rf_db',
	user => 'rf_other');

my $err = refused(
	'a session the caller may not terminate', 'rf_db',
	"SELECT dbreset.force_drop_database('rf_db')",
	'42501', 'permission denied to terminate process \d+ of role "rf_other"',
	user => 'rf_owner',
	bystander_user => 'rf_other');
like($err, qr/No session was terminated\./,
	'a session the caller may not terminate: the detail says so');

refused(
	'the current database', 'rf_db',
	"SELECT dbreset.force_drop_database('rf_db')",
	'55006', 'cannot drop the currently open database',
	on => 'rf_db');

refused(
	'a transaction block', 'rf_db',
	"BEGIN; SELECT dbreset.force_drop_database('rf_db');",
	'25001', 'dbreset.force_drop_database\(\) cannot run inside a transaction block');

refused(
	'a subtransaction', 'rf_db', q{
DO $$
BEGIN
    PERFORM dbreset.force_drop_database('rf_db');
EXCEPTION WHEN undefined_object THEN NULL;
END $$},
	'25001', 'dbreset.force_drop_database\(\) cannot run inside a subtransaction');

refused(
	'after a write in the transaction', 'rf_db', q{
DO $$
BEGIN
    ALTER DATABASE rf_db ALLOW_CONNECTIONS false;
    PERFORM dbreset.force_drop_database('rf_db', timeout => '1s');
END $$},
	'25001',
	'dbreset.force_drop_database\(\) cannot run in a transaction that has already written'
);
is( $node->safe_psql('postgres',
		"SELECT datallowconn FROM pg_database WHERE datname = 'rf_db'"),
	't',
	'after a write: the write rolled back with the refusal');

refused(
	'a read-only transaction', 'rf_db',
	"SET default_transaction_read_only = on; SELECT dbreset.force_drop_database('rf_db')",
	'25006', 'cannot execute DROP DATABASE in a read-only transaction');

# a lock on the database held by another transaction, past the timeout:
# the error names the process holding it
my $holder = $node->background_psql('postgres', on_error_stop => 0);
my $holder_pid = session_pid($holder);
$holder->query_safe('BEGIN');
$holder->query_safe("COMMENT ON DATABASE rf_db IS 'held'");
$err = refused(
	'a lock held past the timeout', 'rf_db',
	"SELECT dbreset.force_drop_database('rf_db', timeout => '300ms')",
	'55P03', 'could not lock database "rf_db" within 300 ms');
like($err, qr/DETAIL:  Process $holder_pid holds a lock on the database\. No session was terminated\./,
	'a lock held past the timeout: the detail names the holder');
$holder->query_safe('ROLLBACK');
end_session($holder);

# a template database (last: it stays a template)
$node->safe_psql('postgres', 'ALTER DATABASE rf_db IS_TEMPLATE true');
refused(
	'a template', 'rf_db',
	"SELECT dbreset.force_drop_database('rf_db')",
	'42809', 'cannot drop a template database');
$node->safe_psql('postgres', 'ALTER DATABASE rf_db IS_TEMPLATE false');

# and after all that, the owner drops it
is( $node->safe_psql(
		'postgres', "SELECT dbreset.force_drop_database('rf_db')",
		extra_params => [ '-U', 'rf_owner' ]),
	0,
	'the owner drops rf_db once nothing is in the way');

$node->stop;
done_testing();
