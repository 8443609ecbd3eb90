# t/011_blockers.pl
#
# drop_blockers() tells the truth: for every refusal of force_drop_database()
# that the suite has (sql/02_refusals, sql/03_privileges, t/002, t/003,
# t/004, t/007), drop_blockers() shows a blocking row of the matching kind
# and force_drop_database() then fails; once the blocker is removed, no row
# blocks and force_drop_database() succeeds.  The rows that do not block
# say what the drop then did: the sessions it terminated, counted by role
# and application, add up to its return value; an inactive slot goes with
# the database.  On a standby the recovery blocks, until it is promoted.
#
# Every process signalled here was started here; autovacuum is off so that
# no worker comes and goes between the listing and the drop.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node(
	'blockers',
	init => { allows_streaming => 'logical' },
	conf => 'autovacuum = off');
my $superuser = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql(
	'postgres', q(
CREATE ROLE bl_owner LOGIN;
CREATE ROLE bl_other LOGIN;
CREATE ROLE bl_nogrant LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean)
    TO bl_owner, bl_other;
));

# run(sql, %as): ($ret, $stdout, $stderr) of sql run as the caller %as
# describes: user => role (the superuser), on => database (postgres),
# pre => SQL run first in the same session, node => cluster ($node).
sub run
{
	my ($sql, %as) = @_;
	my @user = $as{user} ? (extra_params => [ '-U', $as{user} ]) : ();
	return psql_verbose($as{node} // $node, $as{on} // 'postgres',
		($as{pre} // '') . "\n$sql", @user);
}

# blocking(db, %as): the kinds of the blocking rows, sorted, comma-separated
sub blocking
{
	my ($db, %as) = @_;
	my ($ret, $out, $err) = run(
		"SELECT string_agg(kind, ',' ORDER BY kind) FROM dbreset.drop_blockers('$db') WHERE blocks",
		%as);
	die "drop_blockers('$db') failed: $err" if $ret != 0;
	return $out;
}

# rows(db, %as): every row, "kind|object|detail|blocks", one a line
sub rows
{
	my ($db, %as) = @_;
	my ($ret, $out, $err) =
	  run("SELECT * FROM dbreset.drop_blockers('$db')", %as);
	die "drop_blockers('$db') failed: $err" if $ret != 0;
	return $out;
}

# to_terminate(db, %as): the sessions the non-blocking rows count
sub to_terminate
{
	my ($db, %as) = @_;
	my ($ret, $out, $err) = run(
		"SELECT coalesce(sum(substring(detail FROM '^([0-9]+) ')::int), 0)
		 FROM dbreset.drop_blockers('$db') WHERE kind = 'session' AND NOT blocks",
		%as);
	die "drop_blockers('$db') failed: $err" if $ret != 0;
	return $out;
}

# try_drop(db, %as): ($ret, $stdout, $stderr) of force_drop_database()
sub try_drop
{
	my ($db, %as) = @_;
	return run("SELECT dbreset.force_drop_database('$db', timeout => '1s')",
		%as);
}

# a session as role (the superuser if undef) on db, whose pid is returned
# too; application_name set when given (else the test's own name)
sub session_on
{
	my ($db, $role, $appname) = @_;
	my @as = $role ? (extra_params => [ '-U', $role ]) : ();
	my $s = $node->background_psql($db, on_error_stop => 0, @as);
	$s->query_safe("SET application_name = '$appname'") if defined $appname;
	return ($s, session_pid($s));
}

sub wait_gone
{
	my ($pid) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
	  or die "process $pid did not go";
	return;
}

# --- the equivalence, case by case ----------------------------------------
#
# Each case: a fresh database (owned by "owner"), set up to be refused by
# the caller "as"; the kind of blocking row expected, the SQLSTATE of the
# refusal; "remove" takes the blocker away, after which the caller "after"
# (default: "as") sees no blocking row and drops the database.

my @cases = (
	{
		name => "another role's session, caller without pg_signal_backend",
		error => qr/permission denied to terminate process \d+ of role \"bl_other\"/,
		owner => 'bl_owner',
		as => { user => 'bl_owner' },
		kind => 'session',
		sqlstate => '42501',
		setup => sub {
			my ($db) = @_;
			$node->safe_psql($db, 'GRANT SELECT ON t TO PUBLIC');
			my ($s, $pid) = session_on($db, 'bl_other');
			return { session => $s, pid => $pid };
		},
		check => sub {
			my ($db, $st) = @_;
			like(
				rows($db, user => 'bl_owner'),
				qr/^session\|pid $st->{pid} \(user bl_other, application [^)]+\)\|only roles with privileges of the session's role or of the "pg_signal_backend" role may terminate it\|t$/m,
				'the session row names the pid, role and application, and why');
		},
		remove => sub {
			$node->safe_psql('postgres', 'GRANT pg_signal_backend TO bl_owner');
		},
		cleanup => sub {
			my ($db, $st) = @_;
			$node->safe_psql('postgres', 'REVOKE pg_signal_backend FROM bl_owner');
			end_session($st->{session});
		},
		terminated => 1,
	},
	{
		name => "a superuser's session, caller with pg_signal_backend",
		error => qr/permission denied to terminate process \d+ of role/,
		owner => 'bl_owner',
		as => { user => 'bl_owner' },
		kind => 'session',
		sqlstate => '42501',
		setup => sub {
			my ($db) = @_;
			$node->safe_psql('postgres', 'GRANT pg_signal_backend TO bl_owner');
			my ($s, $pid) = session_on($db, undef);
			return { session => $s, pid => $pid };
		},
		check => sub {
			my ($db, $st) = @_;
			like(
				rows($db, user => 'bl_owner'),
				qr/^session\|pid $st->{pid} \(user \Q$superuser\E, application [^)]+\)\|a process of a role with the SUPERUSER attribute: only roles with the SUPERUSER attribute may terminate it\|t$/m,
				'the session row says a superuser is needed');
		},
		remove => sub {
			my ($db, $st) = @_;
			end_session($st->{session});
			wait_gone($st->{pid});
		},
		cleanup => sub {
			$node->safe_psql('postgres', 'REVOKE pg_signal_backend FROM bl_owner');
		},
		terminated => 0,
	},
	{
		name => 'a lock held by another transaction',
		error => qr/could not lock database \"eq_3\" within 1000 ms/,
		owner => 'bl_owner',
		as => { user => 'bl_owner' },
		kind => 'lock',
		sqlstate => '55P03',
		setup => sub {
			my ($db) = @_;
			my ($s, $pid) = session_on('postgres', undef);
			$s->query_safe('BEGIN');
			$s->query_safe("COMMENT ON DATABASE $db IS 'held'");
			return { session => $s, pid => $pid };
		},
		check => sub {
			my ($db, $st) = @_;
			like(
				rows($db),
				qr/^lock\|pid $st->{pid}\|holds ShareUpdateExclusiveLock; query: COMMENT ON DATABASE $db IS 'held'[ ;]*\|t$/m,
				'the lock row names the holder, its mode and its query');
			like(
				rows($db, user => 'bl_owner'),
				qr/^lock\|pid $st->{pid}\|holds ShareUpdateExclusiveLock; query: <insufficient privilege>\|t$/m,
				"another role's query is hidden, as in pg_stat_activity");
		},
		remove => sub {
			my ($db, $st) = @_;
			$st->{session}->query_safe('ROLLBACK');
		},
		cleanup => sub {
			my ($db, $st) = @_;
			end_session($st->{session});
		},
		terminated => 0,
	},
	{
		name => 'a prepared transaction',
		error => qr/database \"eq_4\" is being used by prepared transactions/,
		owner => 'bl_owner',
		as => {},
		kind => 'prepared_transaction',
		sqlstate => '55006',
		setup => sub {
			my ($db) = @_;
			$node->safe_psql($db,
				"BEGIN; INSERT INTO t VALUES (0); PREPARE TRANSACTION 'bl_gx'");
			return {};
		},
		check => sub {
			my ($db) = @_;
			like(rows($db),
				qr/^prepared_transaction\|bl_gx\|prepared by role "\Q$superuser\E" at \d{4}-.*\|t$/m,
				'the row names the gid, its owner and when it was prepared');
		},
		remove => sub {
			my ($db) = @_;
			$node->safe_psql($db, "ROLLBACK PREPARED 'bl_gx'");
		},
		terminated => 0,
	},
	{
		name => 'an active logical replication slot',
		error => qr/database \"eq_5\" is used by an active logical replication slot/,
		owner => 'bl_owner',
		as => {},
		kind => 'replication_slot',
		sqlstate => '55006',
		setup => sub {
			my ($db) = @_;
			$node->safe_psql($db,
				"SELECT pg_create_logical_replication_slot('bl_slot', 'test_decoding')"
			);
			my ($out, $err) = ('', '');
			my $recv = IPC::Run::start(
				[
					'pg_recvlogical', '-d', $node->connstr($db), '--slot',
					'bl_slot', '--start', '-f', '-', '--no-loop'
				],
				'>', \$out, '2>', \$err);
			$node->poll_query_until('postgres',
				"SELECT active FROM pg_replication_slots WHERE slot_name = 'bl_slot'"
			) or die 'slot never became active';
			return { recv => $recv };
		},
		check => sub {
			my ($db) = @_;
			like(rows($db),
				qr/^replication_slot\|bl_slot\|active logical replication slot, used by process \d+\|t$/m,
				'the slot row names the process using it');
		},
		remove => sub {
			my ($db, $st) = @_;
			$st->{recv}->kill_kill;
			$node->poll_query_until('postgres',
				"SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'bl_slot'"
			) or die 'slot never became inactive';
			like(rows($db),
				qr/^replication_slot\|bl_slot\|inactive logical replication slot: it will be dropped with the database\|f$/m,
				'an inactive slot: dropped with the database, not blocking');
		},
		after_drop => sub {
			is( $node->safe_psql('postgres',
					"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'bl_slot'"),
				0,
				'the inactive slot went with the database');
		},
		terminated => 0,
	},
	{
		name => 'a subscription',
		error => qr/database \"eq_6\" is being used by logical replication subscription/,
		owner => 'bl_owner',
		as => {},
		kind => 'subscription',
		sqlstate => '55006',
		setup => sub {
			my ($db) = @_;
			$node->safe_psql($db,
				"CREATE SUBSCRIPTION bl_sub CONNECTION 'dbname=nowhere' PUBLICATION p WITH (connect = false)"
			);
			return {};
		},
		check => sub {
			my ($db) = @_;
			like(rows($db, user => 'bl_other'),
				qr/^subscription\|bl_sub\|logical replication subscription owned by role "\Q$superuser\E"\|t$/m,
				'the subscription row, readable by a role without privileges');
		},
		remove => sub {
			my ($db) = @_;
			$node->safe_psql($db,
				'ALTER SUBSCRIPTION bl_sub SET (slot_name = NONE); DROP SUBSCRIPTION bl_sub'
			);
		},
		terminated => 0,
	},
	{
		name => 'a template',
		error => qr/cannot drop a template database/,
		owner => 'bl_owner',
		as => { user => 'bl_owner' },
		kind => 'template',
		sqlstate => '42809',
		setup => sub {
			my ($db) = @_;
			$node->safe_psql('postgres', "ALTER DATABASE $db IS_TEMPLATE true");
			return {};
		},
		remove => sub {
			my ($db) = @_;
			$node->safe_psql('postgres', "ALTER DATABASE $db IS_TEMPLATE false");
		},
		terminated => 0,
	},
	{
		name => 'protected by dbreset.protected_databases',
		error => qr/database \"eq_8\" is protected by \"dbreset.protected_databases\"/,
		owner => 'bl_owner',
		as_sub => sub {
			my ($db) = @_;
			return (pre => "SET dbreset.protected_databases = '$db';");
		},
		after => {},
		kind => 'protected',
		sqlstate => '55000',
		terminated => 0,
	},
	{
		name => 'not the owner',
		error => qr/must be owner of database eq_9/,
		owner => 'bl_owner',
		as => { user => 'bl_other' },
		after => { user => 'bl_owner' },
		kind => 'privilege',
		sqlstate => '42501',
		terminated => 0,
	},
	{
		name => 'no EXECUTE on force_drop_database()',
		error => qr/permission denied for function force_drop_database/,
		owner => 'bl_nogrant',
		as => { user => 'bl_nogrant' },
		kind => 'privilege',
		sqlstate => '42501',
		remove => sub {
			$node->safe_psql('postgres',
				'GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO bl_nogrant'
			);
		},
		cleanup => sub {
			$node->safe_psql('postgres',
				'REVOKE EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) FROM bl_nogrant'
			);
		},
		terminated => 0,
	},
	{
		name => 'a read-only transaction',
		error => qr/cannot execute DROP DATABASE in a read-only transaction/,
		owner => 'bl_owner',
		as => { pre => 'SET default_transaction_read_only = on;' },
		after => {},
		kind => 'read_only',
		sqlstate => '25006',
		terminated => 0,
	},
	{
		name => 'the current database',
		error => qr/cannot drop the currently open database/,
		owner => 'bl_owner',
		as_sub => sub {
			my ($db) = @_;
			return (on => $db);
		},
		setup => sub {
			my ($db) = @_;
			$node->safe_psql($db, 'CREATE EXTENSION dbreset');
			return {};
		},
		after => {},
		kind => 'current_database',
		sqlstate => '55006',
		terminated => 0,
	});

my $n = 0;
for my $case (@cases)
{
	my $name = $case->{name};
	my $db = 'eq_' . ++$n;

	make_db($node, $db, owner => $case->{owner});
	my $st = $case->{setup} ? $case->{setup}->($db) : {};
	my %as = $case->{as_sub} ? $case->{as_sub}->($db) : %{ $case->{as} };
	my %after = $case->{after} ? %{ $case->{after} } : %as;

	is(blocking($db, %as), $case->{kind},
		"$name: drop_blockers() shows a blocking $case->{kind} row");
	$case->{check}->($db, $st) if $case->{check};
	my ($ret, $out, $err) = try_drop($db, %as);
	isnt($ret, 0, "$name: force_drop_database() fails");
	like($err, qr/ERROR:  $case->{sqlstate}: $case->{error}/,
		"$name: with SQLSTATE $case->{sqlstate} and the matching message");
	is(db_exists($node, $db), 1, "$name: the database is still there");

	$case->{remove}->($db, $st) if $case->{remove};
	is(blocking($db, %after), '', "$name, removed: no blocking row");
	my $expected = to_terminate($db, %after);
	is($expected, $case->{terminated},
		"$name, removed: $case->{terminated} session(s) to terminate");
	($ret, $out, $err) = try_drop($db, %after);
	is($ret, 0, "$name, removed: force_drop_database() succeeds")
	  or diag $err;
	is($out, $expected,
		"$name, removed: it terminated the sessions drop_blockers() counted");
	is(db_exists($node, $db), 0, "$name, removed: the database is gone");
	$case->{after_drop}->($db, $st) if $case->{after_drop};
	$case->{cleanup}->($db, $st) if $case->{cleanup};
}

# --- what the drop does besides: sessions by role and application --------

make_db($node, 'bl_many', owner => 'bl_owner');
$node->safe_psql('bl_many', 'GRANT SELECT ON t TO PUBLIC');
$node->safe_psql('bl_many',
	"SELECT pg_create_logical_replication_slot('bl_many_slot', 'test_decoding')"
);
my @sessions = (
	[ session_on('bl_many', 'bl_owner', 'app_a') ],
	[ session_on('bl_many', 'bl_owner', 'app_a') ],
	[ session_on('bl_many', 'bl_other', 'app_b') ],
	[ session_on('bl_many', 'bl_other', 'app_c') ]);
wait_for_sessions($node, 'bl_many', 4);

is( rows('bl_many'),
	"replication_slot|bl_many_slot|inactive logical replication slot: it will be dropped with the database|f
session|user bl_other, application app_b|1 session will be terminated|f
session|user bl_other, application app_c|1 session will be terminated|f
session|user bl_owner, application app_a|2 sessions will be terminated|f",
	'non-blocking rows: sessions counted by role and application, the inactive slot'
);

# the same as bl_owner, without pg_signal_backend: bl_other's two sessions
# block, each on its own row, and bl_owner's own are counted
my $as_owner = rows('bl_many', user => 'bl_owner');
like($as_owner,
	qr/^session\|pid \d+ \(user bl_other, application app_b\)\|only roles with privileges of the session's role or of the "pg_signal_backend" role may terminate it\|t$/m,
	'as the owner: a blocking row for one session of bl_other');
like($as_owner,
	qr/^session\|pid \d+ \(user bl_other, application app_c\)\|[^\n]*\|t$/m,
	'as the owner: and one for the other');
like($as_owner,
	qr/^session\|user bl_owner, application app_a\|2 sessions will be terminated\|f$/m,
	"as the owner: the owner's own sessions are counted");
is( join(',', map { (split /\|/)[-1] } split /\n/, $as_owner),
	't,t,f,f',
	'as the owner: blocking rows come first');
my ($ret, $out, $err) = try_drop('bl_many');
is($ret, 0, 'the drop succeeds') or diag $err;
is($out, 4, 'and terminated the 4 sessions counted');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'bl_many_slot'"),
	0,
	'the inactive slot was dropped with the database');
end_session($_->[0]) for @sessions;

# --- a standby: read-only by recovery; promoted, it drops -----------------

make_db($node, 'bl_sb');
$node->stop;    # a cold copy, as in t/004
$node->backup_fs_cold('cold');
$node->start;
my $standby = PostgreSQL::Test::Cluster->new('blockers_standby');
$standby->init_from_backup($node, 'cold', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));

is( rows('bl_sb', node => $standby),
	'read_only|server|cannot execute DROP DATABASE during recovery|t',
	'standby: the recovery blocks');
($ret, $out, $err) = try_drop('bl_sb', node => $standby);
like($err,
	qr/ERROR:  25006: cannot execute DROP DATABASE in a read-only transaction/,
	'standby: force_drop_database() fails as read-only');
$standby->promote;
is(blocking('bl_sb', node => $standby), '', 'promoted: no blocking row');
($ret, $out, $err) = try_drop('bl_sb', node => $standby);
is($ret, 0, 'promoted: force_drop_database() succeeds') or diag $err;
is(db_exists($standby, 'bl_sb'), 0, 'promoted: the database is gone');

$standby->stop;
$node->stop;
done_testing();
