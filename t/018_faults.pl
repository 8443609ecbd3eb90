# t/018_faults.pl
#
# A fault at every step (issue 17): each call is stopped at a test point
# (dbreset.test_stop_at, src/base/testpoint.c: test builds only) -- the
# lock taken, the checks done, the sessions signalled, before the DROP,
# after it before its commit, before the CREATE, after it before its
# commit and before the kept properties (one transaction), a swap before
# its commit, a spare half made, a clone and a snapshot before their
# commit (the copy inside core's CREATE DATABASE has no point of ours),
# lock_database() before its commit, a bulk drop between two databases --
# and then hit by one fault: SIGKILL of the process stopped there, SIGKILL
# of the other side (the caller or its worker; where there is no other
# side yet, the stopped process), or an immediate shutdown.  Afterwards:
# every database is intact and connectable with its rows, or gone, or
# invalid; the next call succeeds (an invalid database is dropped by it);
# nothing is left under base/ or a tablespace that no database owns, nor
# under pg_dbreset/ that no database needs, on the server nor on its
# streaming standby; no dbreset worker is left at work.  Where a worker
# stops after its CREATE DATABASE, SIGTERM (an error exit, as a fast
# shutdown sends) must remove the copy at once, on every major.  Last, a
# reset of database postgres (an OID below 16384: given a new one) killed
# after its CREATE.
#
# Cost: a crash and a recovery per scenario.  The "on" pass of
# scripts/test runs every point with every fault; the "off" pass (a worker
# per call) runs every point with one fault, in turn.  Skipped where
# dbreset is not a test build.  DBRESET_FAULTS_ONLY=PATTERN runs only the
# points that match.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $started = time;
# every SIGKILL makes the postmaster start over
my $node = new_node('faults',
	init => { allows_streaming => 1 },
	conf => "restart_after_crash = on\nallow_in_place_tablespaces = on\n");
if (!is_test_build($node))
{
	$node->stop;
	plan skip_all => 'dbreset is not a test build (make DBRESET_TESTING=1)';
}
my $major = $node->safe_psql('postgres',
	"SELECT current_setting('server_version_num')::int / 10000");
my $full = ($ENV{DBRESET_USE_FORCE_OPTION} // 'on') eq 'on';

# a sealed template with a table in another tablespace (a copy writes
# into each), and a database no call touches
$node->safe_psql('postgres', "CREATE TABLESPACE ts LOCATION ''");
$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('tpl',
	'CREATE TABLE fresh (i int); CREATE TABLE fresh_ts (i int) TABLESPACE ts');
$node->safe_psql('postgres',
	'ALTER DATABASE tpl IS_TEMPLATE true ALLOW_CONNECTIONS false');
make_db($node, 'keep');

# a streaming standby (a cold copy: a pg_basebackup of another major on
# PATH may refuse), which must replay every removal
$node->stop;
$node->backup_fs_cold('cold');
$node->start;
my $standby = PostgreSQL::Test::Cluster->new('faults_standby');
$standby->init_from_backup($node, 'cold', has_streaming => 1);
$standby->append_conf('postgresql.conf', "wal_retrieve_retry_interval = '100ms'\n");
$standby->start;

# every point, the call that reaches it, and who stops there
my @points = (
	[ 'drop:locked',         'drop',     'caller' ],
	[ 'drop:checked',        'drop',     'caller' ],
	[ 'ending:signalled',    'drop',     'caller' ],
	[ 'drop:before_drop',    'drop',     'worker' ],
	[ 'drop:dropped',        'drop',     'worker' ],
	[ 'reset:before_drop',   'reset',    'worker' ],
	[ 'reset:dropped',       'reset',    'worker' ],
	[ 'reset:before_create', 'reset',    'worker' ],
	[ 'reset:created',       'reset',    'worker' ],
	[ 'swap:before_commit',  'swap',     'caller' ],
	[ 'spare:created',       'spare',    'maker' ],
	[ 'copy:created',        'clone',    'worker' ],
	[ 'copy:created',        'snapshot', 'worker' ],
	[ 'maintenance:closed',  'lock',     'worker' ],
	[ 'bulk:between',        'bulk',     'worker' ],
);
# base/ directories left by crashed copies before 15, where nothing can
# know them
my %orphans;
# databases whose DROP was cut short after it removed their files (left
# invalid on 15+, without files before): core logs the removal after it and flushes that with the
# commit, so a standby may keep their directories (core behaviour)
my %cut_short;
my @faults = ('kill the stopped process', 'kill the other side',
	'immediate shutdown');
# after a CREATE DATABASE, also an error exit of the worker stopped there
my $terminate = 'terminate the stopped process';

# state(db): gone, invalid, closed, sealed, rows (connectable, its 100
# rows), fresh (a fresh copy of tpl), or what it is else
sub state
{
	my ($db) = @_;
	my $row = $node->safe_psql('postgres',
		"SELECT datconnlimit, datallowconn, datistemplate FROM pg_database WHERE datname = '$db'");
	return 'gone' if $row eq '';
	my ($limit, $allow, $template) = split /\|/, $row;
	return 'invalid' if $limit == -2;
	return $template eq 't' ? 'sealed' : 'closed' if $allow eq 'f';
	my ($ret, $out) = $node->psql($db,
		"SELECT (SELECT count(*) FROM pg_class WHERE relname = 'fresh') || ':' || (SELECT count(*) FROM t)");
	return 'rows' if $ret == 0 && $out eq '0:100';
	return 'fresh' if $node->psql($db, 'SELECT count(*) FROM fresh') == 0;
	return "unreadable ($out)";
}

# call(sql): the next call, which must succeed
sub call
{
	my ($sql, $what) = @_;
	my ($ret, $out, $err) = psql_verbose($node, 'postgres', $sql);
	is($ret, 0, "$what: $sql") or diag $err;
	return $out;
}

# dirs(node): the directories under base/ and the tablespaces that no
# database of node has
sub dirs
{
	my ($n) = @_;
	my %known = map { $_ => 1 } split /\n/,
	  $n->safe_psql('postgres', 'SELECT oid FROM pg_database');
	my @left;
	for my $dir ('base', map { s{^\Q@{[$n->data_dir]}\E/}{}r }
		glob($n->data_dir . '/pg_tblspc/*/PG_*'))
	{
		opendir(my $dh, $n->data_dir . "/$dir") or die "$dir: $!";
		push @left, map { "$dir/$_" } grep { /^\d+$/ && !$known{$_} } readdir $dh;
		closedir $dh;
	}
	# (a tablespace's path names its OID: the same on the standby)
	return sort @left;
}

# leftovers(): dirs() of the server, and files under pg_dbreset/ no
# database needs (a maintenance record of a database that is not in
# maintenance, a record of a copy no maker is at)
sub leftovers
{
	my %locked = map { $_ => 1 } split /\n/, $node->safe_psql('postgres',
		'SELECT oid FROM pg_database WHERE NOT datallowconn');
	my @left = dirs($node);
	if (opendir(my $dh, $node->data_dir . '/pg_dbreset'))
	{
		for (readdir $dh)
		{
			next if /^\.\.?$/;
			next if /^locked\.(\d+)$/ && $locked{$1};
			push @left, "pg_dbreset/$_";
		}
		closedir $dh;
	}
	return \@left;
}

# no_worker_at_work(): until no dbreset process runs a job
sub no_worker_at_work
{
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity
		 WHERE backend_type IN ('dbreset worker', 'dbreset spare worker')
		   AND state <> 'idle'");
}

# prepare(op, db): what the call needs; returns (the call, the databases
# to look at afterwards, what each may be)
sub prepare
{
	my ($op, $db) = @_;
	if ($op eq 'drop')
	{
		make_db($node, $db);
		return ("SELECT dbreset.force_drop_database('$db')",
			{ $db => [qw(gone invalid rows)] });
	}
	if ($op eq 'reset')
	{
		make_db($node, $db);
		return ("SELECT dbreset.reset_database('$db', 'tpl')",
			{ $db => [qw(gone invalid rows fresh)] });
	}
	if ($op eq 'swap')
	{
		$node->safe_psql('postgres', "CREATE DATABASE $db");
		$node->safe_psql('postgres',
			"SELECT dbreset.reset_database('$db', 'tpl', keep_spare => true)");
		spare_ready($node, $db) or die "no spare of $db";
		$node->safe_psql($db,
			'CREATE TABLE t AS SELECT generate_series(1, 100) AS i');
		return ("SELECT dbreset.reset_database('$db', 'tpl', keep_spare => true)",
			{ $db => [qw(rows fresh)] });
	}
	if ($op eq 'spare')
	{
		make_db($node, $db);
		return ("SELECT dbreset.reset_database('$db', 'tpl', keep_spare => true)",
			{ $db => [qw(fresh)] });
	}
	if ($op eq 'clone' || $op eq 'snapshot')
	{
		make_db($node, $db);
		$node->safe_psql($db, 'CREATE TABLE t_ts (i int) TABLESPACE ts');
		return ("SELECT dbreset.${op}_database('$db', '${db}_c')",
			{ $db => [qw(rows)],
			  "${db}_c" => [ 'gone', $op eq 'clone' ? 'rows' : 'sealed' ] });
	}
	if ($op eq 'lock')
	{
		make_db($node, $db);
		return ("SELECT dbreset.lock_database('$db')",
			{ $db => [qw(rows closed)] });
	}
	make_db($node, "${db}_a");
	make_db($node, "${db}_b");
	return ("SELECT count(*) FROM dbreset.force_drop_databases('${db}\\_%')",
		{ "${db}_a" => [qw(gone invalid rows)],
		  "${db}_b" => [qw(gone invalid rows)] });
}

# next_call(op, db, states): the next call after the fault, which must
# succeed, and what it leaves; then every database of the scenario dropped
sub next_call
{
	my ($op, $db, $what) = @_;
	my $st = state($db);
	if ($op eq 'drop' || $op eq 'bulk')
	{
		call("SELECT count(*) FROM dbreset.force_drop_databases('${db}\\_%')", $what)
		  if $op eq 'bulk';
		call("SELECT dbreset.force_drop_database('$db', if_exists => true)", $what)
		  if $op eq 'drop';
	}
	elsif ($op eq 'clone' || $op eq 'snapshot')
	{
		call("SELECT dbreset.${op}_database('$db', '${db}_c')", $what)
		  if state("${db}_c") eq 'gone';
		like(state("${db}_c"), qr/^(rows|sealed)$/, "$what: the copy is there");
	}
	elsif ($op eq 'lock')
	{
		call("SELECT dbreset.lock_database('$db')", $what);
		call("SELECT dbreset.unlock_database('$db')", $what);
		is(state($db), 'rows', "$what: open again, with its rows");
	}
	elsif ($st eq 'gone')
	{
		# a reset left nothing: the database is made again
		call("SELECT dbreset.clone_database('tpl', '$db')", $what);
	}
	else
	{
		call("SELECT dbreset.reset_database('$db', 'tpl', keep_spare => "
			  . ($op eq 'reset' ? 'false' : 'true') . ')', $what);
		is(state($db), 'fresh', "$what: a fresh copy");
		spare_ready($node, $db) or die "$what: no spare made" if $op ne 'reset';
	}
	return;
}

# clean_up(db): every database of the scenario dropped, and its spares
sub clean_up
{
	my ($db) = @_;
	$node->safe_psql('postgres', 'SELECT dbreset.drop_spares()');
	for my $name ($db, "${db}_a", "${db}_b", "${db}_c")
	{
		$node->safe_psql('postgres',
			"ALTER DATABASE $name IS_TEMPLATE false")
		  if state($name) eq 'sealed';
		$node->safe_psql('postgres',
			"SELECT dbreset.force_drop_database('$name', if_exists => true)");
	}
	return;
}

# run(point, op, stopper, fault, n): one scenario
sub run
{
	my ($point, $op, $stopper, $fault, $n) = @_;
	my $db = "f$n";
	my $what = "$point ($op), $fault";
	my ($sql, $expect) = prepare($op, $db);
	my $bystander;
	$bystander = bystander($node, $db) if $point eq 'ending:signalled';

	my %oid = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
		'SELECT datname, oid FROM pg_database WHERE datname IN ('
		  . join(', ', map { "'$_'" } keys %$expect) . ')');
	set_test_point($node, $point);
	my $caller = $node->background_psql('postgres', on_error_stop => 0);
	my $cpid = session_pid($caller);
	my $offset = -s $node->logfile;
	$caller->query_until(qr/started/, "\\echo started\n$sql;\n");
	$node->wait_for_log(qr/dbreset test point "\Q$point\E" reached by PID \d+/,
		$offset);
	my ($spid) = slurp_file($node->logfile, $offset)
	  =~ /dbreset test point "\Q$point\E" reached by PID (\d+)/;
	my $other = $cpid;
	if ($stopper eq 'caller')
	{
		# the worker that holds the database's lock for the caller
		$other = $node->safe_psql('postgres',
			"SELECT min(pid) FROM pg_locks WHERE locktype = 'object'
			   AND classid = 'pg_database'::regclass AND granted AND pid <> $spid
			   AND objid = (SELECT oid FROM pg_database WHERE datname = '$db')");
	}
	$other = $spid if $other eq '';	# no worker yet: the caller it is

	$offset = -s $node->logfile;
	if ($fault eq 'immediate shutdown')
	{
		$node->stop('immediate');
		$node->start;
	}
	elsif ($fault eq $terminate)
	{
		$node->safe_psql('postgres', "SELECT pg_terminate_backend($spid)");
		$node->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $spid")
		  or die "$what: $spid did not exit";
	}
	else
	{
		my $pid = $fault eq 'kill the stopped process' ? $spid : $other;
		kill 'KILL', $pid or die "kill $pid: $!";
		$node->wait_for_log(qr/database system is ready to accept connections/,
			$offset);
	}
	end_session($caller);
	end_session($bystander) if $bystander;
	set_test_point($node, '');

	is(state('keep'), 'rows', "$what: the database no call touched is intact");
	is_deeply([ grep { !$orphans{$_} } dirs($node) ], [],
		"$what: the copy's files are gone at once")
	  if $fault eq $terminate;
	for my $name (sort keys %$expect)
	{
		my $st = state($name);
		ok((grep { $_ eq $st } @{ $expect->{$name} }),
			"$what: $name is " . join(' or ', @{ $expect->{$name} }))
		  or diag "$name is $st";
		$cut_short{ $oid{$name} } = 1
		  if $oid{$name} && ($st eq 'invalid'
			|| ($st ne 'gone' && !-d $node->data_dir . "/base/$oid{$name}"));
		note "$what: $name (OID " . ($oid{$name} // '-') . ") is $st";
	}
	next_call($op, $db, $what);
	ok(no_worker_at_work(), "$what: no dbreset worker is left at work");
	my $left = leftovers();
	if ($major < 15 && $point =~ /:created$/)
	{
		# before 15 a copy's OID cannot be chosen, nor recorded before
		# its CREATE: the files of one interrupted stay (core behaviour)
		my @kept = grep { !m{^pg_dbreset/} && !$orphans{$_} } @$left;
		$orphans{$_} = 1 for @kept;
		note "$what: left before 15: @kept" if @kept;
	}
	is_deeply([ grep { !$orphans{$_} } @$left ], [],
		"$what: after the next call nothing is left under base/, ts or pg_dbreset/");
	$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
	my @standby_left = grep { !$orphans{$_} } dirs($standby);
	my @cut = grep { m{/(\d+)$} && $cut_short{$1} } @standby_left;
	note "$what: on the standby, left by a DROP cut short (core behaviour): @cut"
	  if @cut;
	$orphans{$_} = 1 for @cut;
	is_deeply([ grep { !$orphans{$_} } @standby_left ], [],
		"$what: nor on the standby");
	# (reported once: not again by the scenarios that follow)
	$orphans{$_} = 1 for @$left, @standby_left;
	clean_up($db);
	return;
}

# DBRESET_FAULTS_ONLY: a pattern of the points to run (to debug one)
my $only = $ENV{DBRESET_FAULTS_ONLY};
my $n = 0;
for my $p (@points)
{
	next if defined $only && $p->[0] !~ /$only/;
	my @these = $full ? @faults : ($faults[ $n % @faults ]);
	push @these, $terminate if $p->[0] =~ /:created$/ && $p->[2] ne 'caller';
	for my $fault (@these)
	{
		run(@$p, $fault, $n);
		$n++;
	}
}

# database postgres, whose OID (initdb's) is below 16384: a reset gives
# it a new OID on 15+, recorded like any other; the worker is killed
# after its CREATE, and the next call, from database keep, removes the
# copy's files
if ($major >= 15 && (!defined $only || 'reset:created' =~ /$only/))
{
	my $what = 'reset:created (reset of database postgres), kill the stopped process';
	$node->safe_psql('keep', 'CREATE EXTENSION dbreset');
	$node->safe_psql('postgres',
		"LOAD 'dbreset'; ALTER SYSTEM SET dbreset.protected_databases = ''");
	set_test_point($node, 'reset:created');
	my $caller = $node->background_psql('keep', on_error_stop => 0);
	my $offset = -s $node->logfile;
	$caller->query_until(qr/started/,
		"\\echo started\nSELECT dbreset.reset_database('postgres', 'tpl');\n");
	$node->wait_for_log(qr/dbreset test point "reset:created" reached by PID \d+/,
		$offset);
	my ($spid) = slurp_file($node->logfile, $offset)
	  =~ /dbreset test point "reset:created" reached by PID (\d+)/;
	$offset = -s $node->logfile;
	kill 'KILL', $spid or die "kill $spid: $!";
	$node->wait_for_log(qr/database system is ready to accept connections/,
		$offset);
	end_session($caller);
	$node->safe_psql('keep',
		"ALTER SYSTEM RESET dbreset.test_stop_at; SELECT pg_reload_conf()");
	$node->safe_psql('keep', 'CREATE DATABASE postgres');
	$node->safe_psql('postgres', 'CREATE EXTENSION dbreset');
	$node->poll_query_until('postgres',
		"SELECT coalesce(current_setting('dbreset.test_stop_at', true), '') = ''")
	  or die 'dbreset.test_stop_at still set';
	is($node->safe_psql('keep', "SELECT dbreset.clone_database('tpl', 'f_next')"),
		'', "$what: the next call");
	is_deeply([ grep { !$orphans{$_} } @{ leftovers() } ], [],
		"$what: after the next call nothing is left under base/, ts or pg_dbreset/");
	$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
	is_deeply([ grep { !$orphans{$_} } dirs($standby) ], [],
		"$what: nor on the standby");
}

note sprintf('%d scenarios in %.0f s', $n, time - $started);
$standby->stop;
$node->stop;
done_testing();
