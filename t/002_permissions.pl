# t/002_permissions.pl
#
# Permission to terminate follows pg_terminate_backend(): checked for every
# session before any is signalled; a refusal names the pid and its role,
# terminates nobody and drops nothing.  pg_signal_backend and role
# membership grant it; superuser-owned sessions need a superuser.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = new_node('perm');
$node->safe_psql(
	'postgres', q(
CREATE ROLE alice LOGIN;
CREATE ROLE carol LOGIN;
CREATE ROLE dave LOGIN IN ROLE carol;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_database(name, boolean, interval, interval, boolean) TO alice;
GRANT EXECUTE ON FUNCTION dbreset.terminate_sessions(name, interval, interval) TO alice;
));

make_db($node, 'pdb', owner => 'alice');
$node->safe_psql('pdb', 'GRANT SELECT ON t TO PUBLIC');

sub as_alice
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) =
	  $node->psql('postgres', $sql, extra_params => [ '-U', 'alice' ]);
	return ($ret, $stdout, $stderr);
}

# carol's session, and alice's own
my $carol = $node->background_psql('pdb', on_error_stop => 0,
	extra_params => [ '-U', 'carol' ]);
my $carol_pid = session_pid($carol);
my $own = $node->background_psql('pdb', on_error_stop => 0,
	extra_params => [ '-U', 'alice' ]);
session_pid($own);
wait_for_sessions($node, 'pdb', 2);

my ($ret, $out, $err) = as_alice(
	"SELECT pid = $carol_pid AS is_carol, can_terminate FROM dbreset.sessions('pdb') ORDER BY 1"
);
is($out, "f|t\nt|f", 'sessions(): alice may terminate her own session only');

($ret, $out, $err) = as_alice("SELECT dbreset.force_drop_database('pdb')");
isnt($ret, 0, 'alice cannot force-drop while carol is connected');
like(
	$err,
	qr/permission denied to terminate process $carol_pid of role "carol"/,
	'the error names the pid and the role');
like($err, qr/No session was terminated\./, 'and says nobody was terminated');
is(db_exists($node, 'pdb'), 1, 'pdb is still there');
is($carol->query_safe('SELECT count(*) FROM t'), 100,
	"carol's session is alive and sees the rows");
is($own->query_safe('SELECT 1'), 1, "alice's own session was not signalled either");

($ret, $out, $err) = as_alice("SELECT * FROM dbreset.terminate_sessions('pdb')");
like($err, qr/permission denied to terminate process $carol_pid of role "carol"/,
	'terminate_sessions() refuses the same way');
is($carol->query_safe('SELECT 1'), 1, 'carol still connected');

# a superuser's session needs a superuser, even with pg_signal_backend
$node->safe_psql('postgres', 'GRANT pg_signal_backend TO alice');
my $super = $node->background_psql('pdb', on_error_stop => 0);
my $super_pid = session_pid($super);
($ret, $out, $err) = as_alice("SELECT dbreset.force_drop_database('pdb')");
like($err,
	qr/permission denied to terminate process $super_pid of role "\S+".*\n.*SUPERUSER/,
	"a superuser's session needs a superuser");
is($carol->query_safe('SELECT 1'), 1, 'carol still connected after that refusal');
end_session($super);
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $super_pid");

# with pg_signal_backend, alice may terminate carol's session
($ret, $out, $err) = as_alice("SELECT dbreset.force_drop_database('pdb')");
is($ret, 0, 'with pg_signal_backend alice can force-drop') or diag $err;
is($out, 2, 'carol and alice were terminated');
is(db_exists($node, 'pdb'), 0, 'pdb is gone');
end_session($carol);
end_session($own);

# membership in the session's role is enough, without pg_signal_backend
$node->safe_psql('postgres', 'REVOKE pg_signal_backend FROM alice; GRANT carol TO alice');
make_db($node, 'pdb2', owner => 'alice');
my $dave = $node->background_psql('pdb2', on_error_stop => 0,
	extra_params => [ '-U', 'carol' ]);
session_pid($dave);
($ret, $out, $err) = as_alice("SELECT dbreset.force_drop_database('pdb2')");
is($ret, 0, "a member of carol may terminate carol's session") or diag $err;
is(db_exists($node, 'pdb2'), 0, 'pdb2 is gone');
end_session($dave);

# not the owner: core's error before anything else
make_db($node, 'pdb3');
my $bystander = $node->background_psql('pdb3', on_error_stop => 0);
session_pid($bystander);
($ret, $out, $err) = as_alice("SELECT dbreset.force_drop_database('pdb3')");
like($err, qr/must be owner of database pdb3/, 'ownership is required');
is($bystander->query_safe('SELECT 1'), 1, 'nobody was terminated');
is(row_count($node, 'pdb3'), 100, 'pdb3 kept with its rows');
end_session($bystander);

# --- the same verdict as core's DROP DATABASE ... WITH (FORCE) ----------
# Twin databases, each with a session of the same role: core's statement on
# one, dbreset on the other, as the same caller.

SKIP:
{
	skip 'DROP DATABASE ... WITH (FORCE) exists from PostgreSQL 13', 3
	  if $node->pg_version < 13;

	$node->safe_psql('postgres', 'REVOKE carol FROM alice');
	for my $case (
		[ 'a session of another role', 'carol', '' ],
		[ 'the same, with pg_signal_backend', 'carol', 'pg_signal_backend' ],
		[ "a superuser's session, with pg_signal_backend", undef, 'pg_signal_backend' ])
	{
		my ($name, $session_role, $grant) = @$case;
		my @as = $session_role ? (extra_params => [ '-U', $session_role ]) : ();
		my %verdict;

		$node->safe_psql('postgres', "GRANT $grant TO alice") if $grant;
		for my $how ('core', 'dbreset')
		{
			my $db = "twin_$how";
			make_db($node, $db, owner => 'alice');
			$node->safe_psql($db, 'GRANT SELECT ON t TO PUBLIC');
			my $s = bystander($node, $db, @as);
			my $sql = $how eq 'core'
			  ? "DROP DATABASE $db WITH (FORCE)"
			  : "SELECT dbreset.force_drop_database('$db')";
			my ($r) = as_alice($sql);
			$verdict{$how} = $r == 0 ? 'allowed' : 'refused';
			end_session($s);
			$node->safe_psql('postgres', "DROP DATABASE IF EXISTS $db WITH (FORCE)");
		}
		is($verdict{dbreset}, $verdict{core},
			"as core's FORCE: $name: $verdict{core}");
		$node->safe_psql('postgres', "REVOKE $grant FROM alice") if $grant;
	}
}

$node->stop;
done_testing();
