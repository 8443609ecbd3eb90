# t/003_failures.pl
#
# Every way force_drop_database() can fail leaves the database there,
# connectable, with its rows: a session that outlives the timeout, the
# caller cancelled or terminated mid-wait, prepared transactions, the
# worker crashing, no free worker slot.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# crash recovery is part of what is tested
my $node = new_node('fail', conf => "restart_after_crash = on\n");

# a session of dbname frozen with SIGSTOP: it cannot act on SIGTERM
sub frozen_session
{
	my ($dbname) = @_;
	my $s = $node->background_psql($dbname, on_error_stop => 0);
	my $pid = session_pid($s);
	stop_process($pid);
	return ($s, $pid);
}

# after a failure: database there, connectable, 100 rows, no worker left
sub kept
{
	my ($dbname, $what) = @_;
	wait_for_no_worker($node);
	is(db_exists($node, $dbname), 1, "$what: $dbname still there");
	is(row_count($node, $dbname), 100, "$what: $dbname connectable, with its rows");
	return;
}

# --- timeout -----------------------------------------------------------

make_db($node, 'f1');
my ($s1, $pid1) = frozen_session('f1');
my ($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('f1', timeout => '300ms')");
isnt($ret, 0, 'timeout: error');
like($err, qr/ERROR:  55006: sessions on database "f1" did not exit within 300 ms/,
	'timeout: message and SQLSTATE');
like($err,
	qr/Process $pid1 was sent the signal to terminate but is still connected\. The database was not dropped\./,
	'timeout: detail names the pid, signalled, database kept');
continue_process($pid1);
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM dbreset.sessions('f1')")
  or die 'the frozen session never left';
kept('f1', 'timeout');
end_session($s1);

# terminate_sessions() has the same timeout error
my ($s1b, $pid1b) = frozen_session('f1');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT * FROM dbreset.terminate_sessions('f1', '200ms')");
like($err,
	qr/Process $pid1b was sent the signal to terminate but is still connected\. It may still exit\./,
	'terminate_sessions(): timeout names the pid');
continue_process($pid1b);
end_session($s1b);

# --- the caller is cancelled, or terminated, while it waits ------------

for my $how ('cancel', 'terminate')
{
	my $db = "f2_$how";
	make_db($node, $db);
	my ($s, $pid) = frozen_session($db);
	my $caller = $node->background_psql('postgres', on_error_stop => 0);
	my $caller_pid = session_pid($caller);
	my $log_offset = -s $node->logfile;
	$caller->query_until(qr/started/,
		"\\echo started\nSELECT dbreset.force_drop_database('$db', timeout => '60s');\n"
	);
	wait_for_drop_lock($node, $db);
	# the worker, which holds the database's lock
	my $wpid = $node->safe_psql('postgres', qq(
SELECT pid FROM pg_locks
WHERE locktype = 'object' AND classid = 'pg_database'::regclass
  AND objid = (SELECT oid FROM pg_database WHERE datname = '$db') AND granted));
	# a cancelled call waits for its worker to exit: stopped, the worker
	# keeps the call waiting
	kill 'STOP', $wpid if $how eq 'cancel';
	$node->safe_psql('postgres', "SELECT pg_${how}_backend($caller_pid)");
	if ($how eq 'cancel')
	{
		$node->safe_psql('postgres', 'SELECT pg_sleep(0.5)');
		is( $node->safe_psql(
				'postgres',
				"SELECT state FROM pg_stat_activity WHERE pid = $caller_pid"),
			'active',
			'cancel: the call does not come back while its worker is still there');
		continue_process($wpid);
		like(session_error($caller), qr/canceling statement due to user request/,
			'cancel: the caller reports the cancel');
	}
	else
	{
		$node->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $caller_pid")
		  or die 'the terminated caller never left';
	}
	wait_for_no_worker($node);
	ok(!$node->log_contains(qr/FATAL: .*(dbreset|background worker)/, $log_offset),
		"caller $how: the stopped worker left no FATAL line in the log");
	continue_process($pid);
	kept($db, "caller $how");
	# the frozen session got SIGTERM before the cancel: it has gone now
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM dbreset.sessions('$db')")
	  or die 'the frozen session never left';
	end_session($s);
	end_session($caller);
}

# --- prepared transactions: refused before anyone is terminated --------

make_db($node, 'f3');
$node->safe_psql('f3',
	"BEGIN; INSERT INTO t VALUES (0); PREPARE TRANSACTION 'gx_f3';");
my $bystander = bystander($node, 'f3');
($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.force_drop_database('f3')");
like($err, qr/ERROR:  55006: database "f3" is being used by prepared transactions/,
	'prepared: core message and SQLSTATE');
like($err, qr/Prepared transaction "gx_f3" uses the database\./,
	'prepared: detail names the gid');
is(bystander_alive($bystander), 1, 'prepared: nobody was terminated');
kept('f3', 'prepared');
$node->safe_psql('f3', "ROLLBACK PREPARED 'gx_f3'");
is($node->safe_psql('postgres', "SELECT dbreset.force_drop_database('f3')"),
	1, 'prepared: dropped once it is resolved');
end_session($bystander);

# --- the worker crashes mid-wait: crash recovery, database intact ------

make_db($node, 'f4');
my ($s4, $pid4) = frozen_session('f4');
my $caller4 = $node->background_psql('postgres', on_error_stop => 0);
$caller4->query_until(qr/started/,
	"\\echo started\nSELECT dbreset.force_drop_database('f4', timeout => '60s');\n"
);
wait_for_drop_lock($node, 'f4');
my $worker_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbreset worker'");
kill 'KILL', $worker_pid;
continue_process($pid4);    # so that it can obey the crash restart
$node->poll_query_until('postgres', 'SELECT true') or die 'no recovery';
ok($node->log_contains(qr/was terminated by signal 9: Killed/),
	'crash: the postmaster saw the worker die');
kept('f4', 'crash');
end_session($s4);
end_session($caller4);

$node->stop;

# --- no free worker slot: 53000 with a hint ----------------------------

my $small = new_node('small', conf => "max_worker_processes = 1\n");
make_db($small, 'f5');
# the logical replication launcher holds the only slot
$small->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'logical replication launcher'")
  or die 'no logical replication launcher';
my $b5 = bystander($small, 'f5');
($ret, $out, $err) = psql_verbose($small, 'postgres',
	"SELECT dbreset.force_drop_database('f5')");
like($err, qr/ERROR:  53000: could not register background process/,
	'no slot: 53000');
like($err, qr/HINT:  You may need to increase "max_worker_processes"\./,
	'no slot: hint');
is(bystander_alive($b5), 1, 'no slot: the connected session was not signalled');
is(db_exists($small, 'f5'), 1, 'no slot: f5 still there');
is(row_count($small, 'f5'), 100, 'no slot: f5 has its rows');
end_session($b5);
$small->stop;

done_testing();
