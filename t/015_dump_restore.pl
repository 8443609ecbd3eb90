# t/015_dump_restore.pl
#
# Installs made by 1.0, as packagers and pg_dump meet them.  1.0's control
# file said schema = dbreset: CREATE EXTENSION made that schema outside the
# extension and put the extension in it, and pg_dump of such an install
# writes "CREATE SCHEMA dbreset" then "CREATE EXTENSION ... WITH SCHEMA
# dbreset".  Installing 1.0 then updating must work, and so must restoring
# such a dump -- of 1.0, and of 1.0 updated -- and a dump of a 1.1 install,
# wherever its extension was recorded.
#
# pg_dump refuses a server newer than itself.  Where the cluster's pg_dump is
# older than its server (in CI, the majors built from npm run the system's
# PostgreSQL 15 client programs), the dump tests are skipped, saying so.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('dump');
$node->safe_psql('postgres', 'CREATE ROLE dump_caller LOGIN');

# layout(dbname): "version|extension's schema|whether it owns schema dbreset"
sub layout
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
SELECT e.extversion, e.extnamespace::regnamespace,
       EXISTS (SELECT FROM pg_depend d
               WHERE d.classid = 'pg_namespace'::regclass
                 AND d.objid = 'dbreset'::regnamespace
                 AND d.refclassid = 'pg_extension'::regclass
                 AND d.refobjid = e.oid AND d.deptype = 'e')
FROM pg_extension e WHERE e.extname = 'dbreset'});
}

# members(dbname): the extension's functions with their sorted privileges,
# one a line -- what an update or a dump and restore must leave as a fresh
# install has them
sub members
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
SELECT p.oid::regprocedure || ' ' ||
       array(SELECT a::text
             FROM unnest(coalesce(p.proacl, acldefault('f', p.proowner))) a
             ORDER BY 1)::text
FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
  AND d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'dbreset')
ORDER BY 1});
}

# works(dbname, what): 3 tests -- a call of each kind works there: a drop,
# a listing by a role without grants, and that role refused a drop
sub works
{
	my ($db, $what) = @_;
	my $scratch = "${db}_scratch";

	$node->safe_psql('postgres', qq(CREATE DATABASE "$scratch"));
	is($node->safe_psql($db, "SELECT dbreset.force_drop_database('$scratch')"),
		'0', "$what: force_drop_database() drops");
	my ($ret, $out, $err) = $node->psql(
		$db,
		"SELECT count(*) >= 0 FROM dbreset.sessions()",
		extra_params => [ '-U', 'dump_caller' ]);
	is($out, 't', "$what: sessions() is PUBLIC's");
	($ret, $out, $err) = $node->psql(
		$db,
		"SELECT dbreset.force_drop_database('postgres')",
		extra_params => [ '-U', 'dump_caller' ]);
	like($err, qr/permission denied for function force_drop_database/,
		"$what: force_drop_database() is not");
	return;
}

my $fresh = members('postgres');
like($fresh, qr/^dbreset\.force_drop_database\(name,boolean,interval,interval,boolean\) /m,
	'a fresh install lists its functions');

# --- (a) 1.0 installed as 1.0 did it, then updated ----------------------

$node->safe_psql('postgres', 'CREATE DATABASE v10');
my ($ret, $out, $err) =
  $node->psql('v10', "CREATE EXTENSION dbreset VERSION '1.0'");
is($err, '', "CREATE EXTENSION dbreset VERSION '1.0'");
is(layout('v10'), '1.0|dbreset|f',
	'1.0 lives in schema dbreset, made outside the extension, as 1.0 did');
$node->safe_psql('postgres', 'CREATE DATABASE v10_1');
is($node->safe_psql('v10',
		"SELECT dbreset.force_drop_database('v10_1', false, '2s')"),
	'0', "1.0's force_drop_database() works");
$node->safe_psql('v10',
	'GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval) TO dump_caller'
);

($ret, $out, $err) = $node->psql('v10', 'ALTER EXTENSION dbreset UPDATE');
is($err, '', 'ALTER EXTENSION dbreset UPDATE');
is(layout('v10'), '1.1|dbreset|f', 'updated to 1.1, in the same schema');

$node->safe_psql('postgres', 'CREATE DATABASE v10_2 OWNER dump_caller');
($ret, $out, $err) = $node->psql(
	'v10',
	"SELECT dbreset.force_drop_database('v10_2', false, '2s')",
	extra_params => [ '-U', 'dump_caller' ]);
is($out, '0', 'the grant made on 1.0 holds after the update');
$node->safe_psql('v10',
	'REVOKE EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) FROM dump_caller'
);
is(members('v10'), $fresh,
	'updated: the functions and privileges of a fresh install');
works('v10', 'updated');

# --- (b) and (c): dumps, restored with this package --------------------

my $server_major =
  $node->safe_psql('postgres', "SELECT current_setting('server_version_num')::int / 10000");
my $pg_dump = $node->installed_command('pg_dump');
my $pg_restore = $node->installed_command('pg_restore');
my $psql = $node->installed_command('psql');
my ($dump_version) = run_command([ $pg_dump, '--version' ]);
my ($dump_major) = $dump_version =~ /\(PostgreSQL\) (\d+)/
  or die "could not read the major of \"$dump_version\"";
my $tmp = PostgreSQL::Test::Utils::tempdir;

# restore(dbname, command...): run a restore into a new database dbname;
# its stderr ('' if it went without a message)
sub restore
{
	my ($db, @cmd) = @_;
	my ($stdout, $stderr);

	$node->safe_psql('postgres', qq(CREATE DATABASE "$db"));
	local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
	IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	return $stderr;
}

# dump_plain(dbname): pg_dump's plain SQL of dbname, and the file it is in
sub dump_plain
{
	my ($db) = @_;
	my $file = "$tmp/$db.sql";

	$node->command_ok([ $pg_dump, '-d', $db, '-f', $file ], "pg_dump $db");
	return (slurp_file($file), $file);
}

SKIP:
{
	skip "pg_dump $dump_major cannot dump a PostgreSQL $server_major server "
	  . "(this cluster's client programs are older than its server)", 34
	  if $dump_major < $server_major;

	# (b) an install made by 1.0, dumped as it is and once updated
	$node->safe_psql('postgres', 'CREATE DATABASE made10');
	$node->safe_psql('made10', "CREATE EXTENSION dbreset VERSION '1.0'");
	$node->safe_psql('postgres', 'CREATE DATABASE made10up');
	$node->safe_psql('made10up', "CREATE EXTENSION dbreset VERSION '1.0'");
	$node->safe_psql('made10up', 'ALTER EXTENSION dbreset UPDATE');
	# a grant made after the update names 1.1's signature: it goes with
	# the dump
	$node->safe_psql('made10up',
		'GRANT EXECUTE ON FUNCTION dbreset.reset_database(name, name, boolean, interval, interval) TO dump_caller'
	);

	for my $db ('made10', 'made10up')
	{
		my ($sql, $file) = dump_plain($db);
		like($sql, qr/^CREATE SCHEMA dbreset;$/m, "$db: the dump creates schema dbreset");
		like($sql, qr/^CREATE EXTENSION IF NOT EXISTS dbreset WITH SCHEMA dbreset;$/m,
			"$db: and the extension in it");
		is( restore(
				"${db}_r", $psql, '-X', '-q', '-v', 'ON_ERROR_STOP=1',
				'-d', "${db}_r", '-f', $file),
			'',
			"$db: its dump restores without an error");
		is(layout("${db}_r"), '1.1|dbreset|f',
			"$db: restored as 1.1 in schema dbreset, as an updated install is");
	}
	is(members('made10_r'), $fresh,
		'made10: restored with the functions and privileges of a fresh install');
	works('made10_r', 'made10 restored');
	is( $node->safe_psql('made10up_r',
			"SELECT has_function_privilege('dump_caller', 'dbreset.reset_database(name, name, boolean, interval, interval)', 'EXECUTE')"
		),
		't',
		'made10up: the grant made after the update is restored');
	$node->safe_psql('made10up_r',
		'REVOKE EXECUTE ON FUNCTION dbreset.reset_database(name, name, boolean, interval, interval) FROM dump_caller'
	);
	is(members('made10up_r'), $fresh,
		'made10up: and otherwise the privileges of a fresh install');
	works('made10up_r', 'made10up restored');

	# (c) 1.1 installs: by a plain CREATE EXTENSION, and recorded in
	# pg_catalog (as the development versions of 1.1 fixed it), dumped in
	# pg_dump's custom format and restored with pg_restore
	$node->safe_psql('postgres', 'CREATE DATABASE plain11');
	$node->safe_psql('plain11', 'CREATE EXTENSION dbreset');
	$node->safe_psql('postgres', 'CREATE DATABASE cat11');
	$node->safe_psql('cat11', 'CREATE EXTENSION dbreset SCHEMA pg_catalog');
	for my $db ('plain11', 'cat11')
	{
		my $file = "$tmp/$db.dump";
		my $schema = $node->safe_psql($db,
			"SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'dbreset'");

		$node->command_ok([ $pg_dump, '-Fc', '-d', $db, '-f', $file ],
			"pg_dump -Fc $db");
		is( restore(
				"${db}_r", $pg_restore, '--exit-on-error',
				'-d', "${db}_r", $file),
			'',
			"$db: its dump restores without an error");
		is(layout("${db}_r"), "1.1|$schema|t",
			"$db: restored in $schema, owning schema dbreset");
		is(members("${db}_r"), $fresh,
			"$db: restored with the functions and privileges of a fresh install");
		works("${db}_r", "$db restored");
	}
	$node->safe_psql('cat11_r', 'DROP EXTENSION dbreset');
	is($node->safe_psql('cat11_r',
			"SELECT count(*) FROM pg_namespace WHERE nspname = 'dbreset'"),
		'0', 'cat11 restored: DROP EXTENSION removes schema dbreset');
}

# the install script needs PL/pgSQL: the control file says so, and CASCADE
# brings it
$node->safe_psql('postgres', 'CREATE DATABASE no_plpgsql');
$node->safe_psql('no_plpgsql', 'DROP EXTENSION plpgsql');
my ($pret, $pout, $perr) = $node->psql('no_plpgsql', 'CREATE EXTENSION dbreset');
like($perr, qr/required extension "plpgsql" is not installed/,
	'without PL/pgSQL, CREATE EXTENSION names what it requires');
($pret, $pout, $perr) = $node->psql('no_plpgsql', 'CREATE EXTENSION dbreset CASCADE');
is($pret, 0, 'and CASCADE installs both') or diag $perr;

$node->stop;
done_testing();
