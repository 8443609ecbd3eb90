# t/020_pooler.pl
#
# Debian's pgbouncer in transaction pool mode in front of the server while
# databases behind it are reset and dropped (issue 17): it serves the fresh
# database without a restart.  pgbouncer runs from the cache of
# scripts/clients (DBRESET_PGBOUNCER), with trust authentication and a
# userlist, listening on a free port on 127.0.0.1 and on a socket in the
# test's own directory; the test starts it and stops it by its pid.
#
#  1. A client between transactions during a reset (keep_spare off and on):
#     pgbouncer drops the terminated server connection by itself, and the
#     client's next query reads the fresh database, without an error.
#  2. A client inside a transaction: pgbouncer passes the 57P01 on and
#     closes the client's connection.
#  3. A drop, then CREATE DATABASE again: a client's query waits while the
#     database is gone and is served by the new one.
#  4. server_login_retry, the setting that matters: after one failed login
#     (3D000) pgbouncer turns new clients away and keeps waiting ones
#     waiting for that long, although the database is back; lowered (here
#     0.1 s), it serves at once, without a restart.
#  5. A psycopg_pool pool and a node-postgres pool through pgbouncer
#     (t/clients/, when scripts/clients made them) while the database is
#     reset with and without keep_spare, and dropped and created again:
#     no stale read, served again after every round, errors only 57P01,
#     3D000 or class 08 (pgbouncer's own are 08P01).
#
# Cost: 5 rounds per pool and operation with standing workers, 3 in the
# per-call pass (DBRESET_POOL_RESETS overrides both).  To try other
# settings: DBRESET_PGBOUNCER_SETTINGS, lines added to the [pgbouncer]
# section (the last of a name wins), e.g. "server_check_delay = 30".

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use ClientPools;
use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pgbouncer = client_program('pgbouncer');
plan skip_all => 'DBRESET_PGBOUNCER names no pgbouncer: run scripts/clients '
  . 'fetch, or scripts/test'
  unless $pgbouncer;

my $node = new_node('pooler');
pool_template($node, 'pool_tpl', 'pool_app');
my $user = $node->safe_psql('postgres', 'SELECT current_user');

# pgbouncer's address: a node never initialised, for its free port and its
# socket directory -- and for psql and the test helpers, which connect to
# a node's host and port
my $pgb = PostgreSQL::Test::Cluster->new('pgbouncer');
my $dir = $pgb->basedir;
my ($host, $port) = ($node->host, $node->port);
my $log = "$dir/pgbouncer.log";

PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt", qq("$user" ""\n));
PostgreSQL::Test::Utils::append_to_file(
	"$dir/pgbouncer.ini", qq([databases]
* = host=$host port=$port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${\ $pgb->port}
unix_socket_dir = ${\ $pgb->host}
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = $user
pool_mode = transaction
default_pool_size = 4
logfile = $log
pidfile = $dir/pgbouncer.pid
; after a failed login (a database being reset or dropped answers 3D000)
; pgbouncer waits this long before it tries again; the default is 15 s
server_login_retry = 0.1
; check every server connection before a client gets it (one round trip
; per transaction): fewer clients meet one that a reset terminated
server_check_delay = 0
${\ ($ENV{DBRESET_PGBOUNCER_SETTINGS} // '')}
));

my $bouncer =
  IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ], '>', "$dir/pgbouncer.out",
	'2>&1');
END { $bouncer->kill_kill(grace => 5) if $bouncer; }
# until pgbouncer answers: not poll_query_until(), whose psql, fed by a
# pipe, may exit on a refused connection before reading it, and IPC::Run
# then dies of the broken pipe (seen on a loaded machine, PG 17)
my $answers = 0;
for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
{
	$answers = eval { $pgb->safe_psql('pool_app', 'SELECT true') eq 't' };
	last if $answers;
	select(undef, undef, undef, 0.1);
}
$answers or die 'pgbouncer does not answer';

# admin(sql): a command of pgbouncer's console
sub admin
{
	my ($sql) = @_;
	return $pgb->safe_psql('pgbouncer', $sql);
}

# servers(): pgbouncer's server connections to pool_app
sub servers
{
	return scalar grep { (split /\|/)[2] eq 'pool_app' } split /\n/,
	  admin('SHOW SERVERS');
}

# waiting(): pool_app's clients waiting for a server connection
sub waiting
{
	my ($line) = grep { /^pool_app\|/ } split /\n/, admin('SHOW POOLS');
	return $line ? (split /\|/, $line)[3] : 0;
}

# logins_failed(): how many times pgbouncer has been refused pool_app
sub logins_failed
{
	my $text = slurp_file($log);
	my @n = $text =~ /login failed: FATAL: database "pool_app" does not exist/g;
	return scalar @n;
}

# wait_for(what, cond): until cond() is true, polling for up to the
# default timeout
sub wait_for
{
	my ($what, $cond) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	until ($cond->())
	{
		die "timed out waiting for $what" if time > $deadline;
		select(undef, undef, undef, 0.05);
	}
	return;
}

# send_query(session, sql): send sql without waiting for its answer
sub send_query
{
	my ($s, $sql) = @_;
	$s->{stdout} = '';
	$s->{stderr} = '';
	$s->{stdin} .= "$sql;\n";
	$s->{run}->pump_nb;
	return;
}

# answer(session): the answer to what send_query sent, once it has come
sub answer
{
	my ($s) = @_;
	$s->{run}->pump until $s->{stdout} =~ /\n\z/ || $s->{stderr} ne '';
	my $out = $s->{stdout};
	chomp $out;
	return $out;
}

sub mark
{
	my ($n) = @_;
	$node->safe_psql('pool_app', "INSERT INTO marker VALUES ($n)");
	return;
}

# 1. between transactions
my $s = $pgb->background_psql('pool_app', on_error_stop => 0);
is($s->query('SELECT max(n) FROM marker'), '0', 'a client through pgbouncer');
foreach my $keep (qw(off on))
{
	mark(1);
	is($s->query('SELECT max(n) FROM marker'), '1', "marked (keep_spare $keep)");
	$node->safe_psql('postgres',
		"SELECT dbreset.reset_database('pool_app', 'pool_tpl', keep_spare => '$keep')"
	);
	# pgbouncer reads the terminated server's 57P01 and drops it by itself
	wait_for('pgbouncer to drop its terminated server connection',
		sub { servers() == 0 });
	is($s->query('SELECT max(n) FROM marker'),
		'0',
		"keep_spare $keep: a client between transactions reads the fresh database"
	);
	is($s->{stderr}, '', "keep_spare $keep: without an error");
}

# 2. inside a transaction
mark(2);
$s->query_safe('BEGIN');
is($s->query('SELECT max(n) FROM marker'), '2', 'a client inside a transaction');
$node->safe_psql('postgres',
	"SELECT dbreset.reset_database('pool_app', 'pool_tpl')");
my $err = session_error($s);
like(
	$err,
	qr/FATAL:  terminating connection due to administrator command/,
	'inside a transaction: pgbouncer passes the 57P01 on');
like(
	$err,
	qr/server conn crashed\?|connection to server was lost/,
	'and closes the client connection (pgbouncer behaviour)');
end_session($s);

# 3. dropped, then created again
$s = $pgb->background_psql('pool_app', on_error_stop => 0);
mark(3);
is($s->query('SELECT max(n) FROM marker'), '3', 'a client before a drop');
$node->safe_psql('postgres', "SELECT dbreset.force_drop_database('pool_app')");
wait_for('pgbouncer to drop its terminated server connection',
	sub { servers() == 0 });
my $failed = logins_failed();
send_query($s, 'SELECT max(n) FROM marker');
wait_for('a failed login', sub { logins_failed() > $failed });
is(waiting(), 1, 'while the database is gone, the query waits');
$node->safe_psql('postgres', 'CREATE DATABASE pool_app TEMPLATE pool_tpl');
is(answer($s), '0', 'and is served by the new database once it is created');
is($s->{stderr}, '', 'without an error');

# 4. server_login_retry: 300 s, standing for the default 15 s, long enough
#    that no retry comes during this step
admin('SET server_login_retry = 300');
$node->safe_psql('postgres', "SELECT dbreset.force_drop_database('pool_app')");
wait_for('pgbouncer to drop its terminated server connection',
	sub { servers() == 0 });
$failed = logins_failed();
send_query($s, 'SELECT max(n) FROM marker');
wait_for('a failed login', sub { logins_failed() > $failed });
$node->safe_psql('postgres', 'CREATE DATABASE pool_app TEMPLATE pool_tpl');
my ($ret, $out);
($ret, $out, $err) = $pgb->psql('pool_app', 'SELECT max(n) FROM marker');
like(
	$err,
	qr/server login has been failing, try again later \(server_login_retry\)/,
	'after a failed login, a new client is turned away although the database '
	  . 'is back (pgbouncer behaviour)');
is(waiting(), 1, 'and a waiting client waits on (pgbouncer behaviour)');
admin("SET server_login_retry = '0.1'");
is(answer($s), '0',
	'server_login_retry lowered: served at once, without a restart');
is($s->{stderr}, '', 'without an error');
($ret, $out, $err) = $pgb->psql('pool_app', 'SELECT max(n) FROM marker');
is($out, '0', 'and a new client too');
$s->quit;

# 5. client pools through pgbouncer
my $rounds = resets_per_run(5, 3);
my $direct = "host=$host port=$port user=$user";
my $through = 'host=127.0.0.1 port=' . $pgb->port . " user=$user";
foreach my $client (qw(psycopg node))
{
  SKIP:
	{
		skip "$client: its program is not in the environment "
		  . '(DBRESET_PYTHON, DBRESET_NODE: scripts/clients)', 15
		  unless client_program($client);
		foreach my $how (
			[ 'reset', 'off', 'reset' ],
			[ 'reset', 'on', 'reset with keep_spare' ],
			[ 'drop', 'off', 'drop and create' ])
		{
			my ($op, $keep, $what) = @$how;
			my $run = run_pool_client(
				$client,
				dsn => "$through dbname=pool_app",
				mark_dsn => "$direct dbname=pool_app",
				control_dsn => "$direct dbname=postgres",
				db => 'pool_app',
				template => 'pool_tpl',
				op => $op,
				keep_spare => $keep,
				resets => $rounds,
				# pgbouncer 1.18 does not carry prepared statements over
				extra => $client eq 'psycopg' ? ['--no-prepare'] : []);
			check_pool_run($run, "$client through pgbouncer, $what", $rounds);
		}
	}
}

$bouncer->signal('TERM');
$bouncer->finish;
undef $bouncer;
$node->stop;
done_testing();
