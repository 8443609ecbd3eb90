#
# ClientPools -- what t/020_pooler.pl and t/021_client_pools.pl share: the
# client pools of t/clients/ (a psycopg_pool pool, a node-postgres pool),
# run while a database is reset again and again, and the checks of what
# they saw.
#
# scripts/test passes the programs in the environment, from the cache that
# scripts/clients prepares: DBRESET_PYTHON (the system's python3 with
# Debian's psycopg and psycopg_pool), DBRESET_NODE (node with npm's pg),
# DBRESET_PGBOUNCER (Debian's pgbouncer).  A test skips, saying which, when
# one it needs is absent.

package ClientPools;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use FindBin;
use IPC::Run;
use Test::More;

our @EXPORT = qw(client_program resets_per_run pool_template run_pool_client
  check_pool_run);

# the scripts of t/clients/, and the environment variable naming the
# program that runs each
my %clients = (
	psycopg => [ 'DBRESET_PYTHON', 'pool_psycopg.py' ],
	node => [ 'DBRESET_NODE', 'pool_node.js' ],
	pgbouncer => [ 'DBRESET_PGBOUNCER', undef ],);

# client_program(name): the program for client name (psycopg, node,
#	pgbouncer), or undef when the environment does not name an executable
sub client_program
{
	my ($name) = @_;
	my $prog = $ENV{ $clients{$name}[0] };
	return (defined $prog && -x $prog) ? $prog : undef;
}

# resets_per_run(standing, per_call): how many resets a client run makes:
#	standing in the pass with standing workers, per_call in the other
#	one (whose time CI cannot spare twice); DBRESET_POOL_RESETS, if set,
#	in both
sub resets_per_run
{
	my ($standing, $per_call) = @_;
	return $ENV{DBRESET_POOL_RESETS} if $ENV{DBRESET_POOL_RESETS};
	return ($ENV{DBRESET_TEST_WORKERS} // 'standing') eq 'standing'
	  ? $standing
	  : $per_call;
}

# pool_template(node, template, db): a sealed template whose table marker
#	holds the row 0, and db made from it
sub pool_template
{
	my ($node, $tpl, $db) = @_;
	$node->safe_psql('postgres', qq(CREATE DATABASE "$tpl"));
	$node->safe_psql($tpl,
		'CREATE TABLE marker (n int); INSERT INTO marker VALUES (0)');
	$node->safe_psql('postgres',
		qq(ALTER DATABASE "$tpl" IS_TEMPLATE true ALLOW_CONNECTIONS false));
	$node->safe_psql('postgres', qq(CREATE DATABASE "$db" TEMPLATE "$tpl"));
	return;
}

# run_pool_client(client, %args): run t/clients/ script of client (psycopg
#	or node) with --dsn, --mark-dsn, --control-dsn, --db, --template,
#	--op, --keep-spare, --resets from %args, and the strings of
#	$args{extra}.  Returns { rc, out, summary => { key => value },
#	errors => { SQLSTATE => count } }; its output goes to the test's log.
sub run_pool_client
{
	my ($client, %args) = @_;
	my $script = "$FindBin::RealBin/clients/$clients{$client}[1]";
	my @cmd = (
		client_program($client), $script,
		'--dsn' => $args{dsn},
		'--mark-dsn' => $args{mark_dsn},
		'--control-dsn' => $args{control_dsn},
		'--db' => $args{db},
		'--template' => $args{template},
		'--op' => $args{op} // 'reset',
		'--keep-spare' => $args{keep_spare} // 'off',
		'--resets' => $args{resets},
		'--verbose', @{ $args{extra} // [] });
	my ($out, $err) = ('', '');
	# a round that does not finish ends the script after 30 s
	my $rc = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err,
		IPC::Run::timeout(120 + 30 * $args{resets})) ? 0 : $? >> 8;
	note(join(' ', $client, @cmd[ 2 .. $#cmd ]));
	note($out);
	note("stderr: $err") if $err ne '';
	my %summary;
	if ($out =~ /^SUMMARY (.*)$/m)
	{
		%summary = map { split /=/, $_, 2 } split / /, $1;
	}
	my %errors;
	if (($summary{errors} // 'none') ne 'none')
	{
		%errors = map { split /:/, $_, 2 } split /,/, $summary{errors};
	}
	return { rc => $rc, out => $out, summary => \%summary, errors => \%errors };
}

# check_pool_run(run, what, resets, %expect): the checks every run passes:
#	the script ran every round (each mark read through the pool before
#	the reset, the pool serving again after it); no query that started
#	after a reset had returned read the old contents; errors only of
#	the kinds a reset causes: 57P01 (terminated), 3D000 (the name looked
#	up while it is gone), class 08 (a connection lost, pgbouncer's own
#	08P01).  $expect{no_errors}: none at all.
sub check_pool_run
{
	my ($run, $what, $resets, %expect) = @_;
	my $s = $run->{summary};
	is($run->{rc}, 0, "$what: every round ran (mark read, reset, served again)")
	  or diag($run->{out});
	is($s->{resets} // -1, $resets, "$what: $resets resets");
	is($s->{stale} // -1, 0,
		"$what: no query started after a reset read the old contents");
	is($s->{unserved} // -1, 0, "$what: the pool served again after every reset");
	my @odd = grep { !/^(57P01|3D000|08...)$/ } sort keys %{ $run->{errors} };
	is("@odd", '', "$what: errors only 57P01, 3D000 or class 08");
	if ($expect{no_errors})
	{
		is($s->{errors} // '', 'none', "$what: no query failed");
	}
	return;
}

1;
