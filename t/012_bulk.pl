# t/012_bulk.pl
#
# force_drop_databases() with real sessions: a dry run counts them and
# touches nothing; the batch terminates them and drops every database, one
# background worker serving the whole batch; a failure in the middle (a
# lock held past the timeout, a session the caller may not terminate) is
# reported in its row, leaves that database intact, and the rest are
# dropped; a database dropped and re-created under the same name between
# listing and dropping is not touched; a cancelled batch stops where it is.

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# every log line starts with the pid of the process that wrote it
my $node = new_node('bulk', conf => "log_line_prefix = '%p '\n");
my $me = $node->safe_psql('postgres', 'SELECT current_user');

# oid(name): the database's OID, or '' if there is none
sub oid
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT oid FROM pg_database WHERE datname = '$name'");
}

# --- sessions on three databases: dry run, then the batch ---------------

make_db($node, $_) for qw(bk_a bk_b bk_c);
my %sessions = (bk_a => 2, bk_b => 1, bk_c => 3);
my @all;
for my $db (sort keys %sessions)
{
	push @all, bystander($node, $db) for 1 .. $sessions{$db};
	wait_for_sessions($node, $db, $sessions{$db});
}

is( $node->safe_psql(
		'postgres',
		"SELECT datname, terminated FROM dbreset.force_drop_databases('bk\\_%', dry_run => true)"
	),
	"bk_a|2\nbk_b|1\nbk_c|3",
	'dry run: one row per database, in name order, with its sessions');
is($node->safe_psql('postgres', q(SELECT count(*) FROM pg_database WHERE datname LIKE 'bk\_%')),
	3, 'dry run: every database still there');
is(scalar(grep { bystander_alive($_) } @all), 6,
	'dry run: every session still there');

my $caller = $node->background_psql('postgres', on_error_stop => 0);
my $caller_pid = session_pid($caller);
my $log_offset = -s $node->logfile;
my $rows = $caller->query_safe(
	"SELECT datname, terminated, error FROM dbreset.force_drop_databases('bk\\_%')"
);
is($rows, "bk_a|2|\nbk_b|1|\nbk_c|3|",
	'batch: each database dropped, with the sessions it terminated');
is($node->safe_psql('postgres', q(SELECT count(*) FROM pg_database WHERE datname LIKE 'bk\_%')),
	0, 'batch: every database gone');
is(scalar(grep { bystander_alive($_) } @all), 0,
	'batch: every session terminated');
like(session_error($all[0]), qr/terminating connection due to administrator command/,
	'a terminated client was told why (core behaviour)');
end_session($_) for @all;

# one worker: every per-database LOG line comes from the same process,
# which is not the caller
my $log = slurp_file($node->logfile, $log_offset);
my %pids;
my @lines = $log =~
  /^(\d+) LOG:  role "\Q$me\E" dropped database "(bk_[abc])" after terminating (\d+) sessions?$/mg;
my @dropped;
while (my ($pid, $db, $n) = splice(@lines, 0, 3))
{
	$pids{$pid} = 1;
	push @dropped, "$db:$n";
}
is(join(',', @dropped), 'bk_a:2,bk_b:1,bk_c:3',
	'a LOG line per database, in order, with the sessions terminated');
is(scalar(keys %pids), 1, 'all written by one process: one worker for the batch');
isnt((keys %pids)[0], $caller_pid, 'and that process is not the caller');
like($log, qr/dropped database "bk_c" after terminating 3 sessions\n\d+ DETAIL:  Terminated: pid \d+ \(user \Q$me\E, application 012_bulk\.pl\), pid \d+/,
	'the LOG detail names the sessions');
my $worker = (keys %pids)[0];
unlike($log, qr/^$worker (?:FATAL|ERROR)/m, 'the worker reported no error');
wait_for_no_worker($node);

# --- a lock held past the timeout in the middle -------------------------

make_db($node, $_) for qw(fm_a fm_b fm_c);
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe("BEGIN; COMMENT ON DATABASE fm_b IS 'held'");
my $fm_bystander = bystander($node, 'fm_b');
my $fm_oid = oid('fm_b');

$rows = $caller->query_safe(
	"SELECT datname, terminated, error FROM dbreset.force_drop_databases('fm\\_%', timeout => '1s')"
);
is( $rows,
	"fm_a|0|\nfm_b||could not lock database \"fm_b\" within 1000 ms\nfm_c|0|",
	'lock held: its row says so, terminated is NULL, the others dropped');
is(db_exists($node, 'fm_a') + db_exists($node, 'fm_c'), 0,
	'lock held: fm_a and fm_c are gone');
is(oid('fm_b'), $fm_oid, 'lock held: fm_b is still there');
is(bystander_alive($fm_bystander), 1,
	'lock held: the session on fm_b was never signalled');
$holder->query_safe('ROLLBACK');
is(row_count($node, 'fm_b'), 100, 'lock held: fm_b connectable, with its rows');
ok($node->log_contains(
		qr/^\d+ LOG:  role "\Q$me\E" could not drop database "fm_b": could not lock database "fm_b" within 1000 ms\n\d+ DETAIL:  Process \d+ holds a lock on the database\. No session was terminated\./m),
	'lock held: the failure is logged with its detail');
end_session($fm_bystander);

# --- a session the caller may not terminate in the middle ----------------

$node->safe_psql(
	'postgres', q(
CREATE ROLE bk_user LOGIN;
GRANT EXECUTE ON FUNCTION dbreset.force_drop_databases(text, boolean, interval) TO bk_user;
));
for my $db (qw(pm_a pm_b pm_c))
{
	make_db($node, $db, owner => 'bk_user');
	$node->safe_psql($db, 'GRANT SELECT ON t TO PUBLIC');
}
my $su_session = bystander($node, 'pm_b');
my $su_pid = session_pid($su_session);
my $user_session = bystander($node, 'pm_c', extra_params => [ '-U', 'bk_user' ]);
wait_for_sessions($node, 'pm_c', 1);

my ($ret, $out, $err) = $node->psql(
	'postgres',
	"SELECT datname, terminated, error FROM dbreset.force_drop_databases('pm\\_%')",
	extra_params => [ '-U', 'bk_user' ]);
is($ret, 0, 'permission: the batch itself succeeds');
is( $out,
	"pm_a|0|\npm_b||permission denied to terminate process $su_pid of role \"$me\"\npm_c|1|",
	'permission: the refused row names the session, the others are dropped');
is(db_exists($node, 'pm_a') + db_exists($node, 'pm_c'), 0,
	'permission: pm_a and pm_c are gone');
is(bystander_alive($su_session), 1,
	'permission: the superuser session on pm_b survived');
is(row_count($node, 'pm_b'), 100, 'permission: pm_b connectable, with its rows');
is(bystander_alive($user_session), 0,
	'permission: the session of bk_user on pm_c was terminated');
end_session($_) for ($su_session, $user_session);

# --- dropped and re-created between listing and dropping -----------------
# The worker waits for the lock on rc_a, the first database in order, while
# rc_b is dropped and created again; then the lock is let go.

make_db($node, $_) for qw(rc_a rc_b);
my $old_oid = oid('rc_b');
$holder->query_safe("BEGIN; COMMENT ON DATABASE rc_a IS 'held'");

my ($stdout, $stderr) = ('', '');
my $batch = IPC::Run::start(
	[
		'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
		"SELECT datname, terminated, error FROM dbreset.force_drop_databases('rc\\_%', timeout => '60s')"
	],
	'>', \$stdout, '2>', \$stderr);
wait_for_lock_waiter($node, 'rc_a', 'the worker');

$node->safe_psql('postgres', 'DROP DATABASE rc_b');
make_db($node, 'rc_b');
my $new_oid = oid('rc_b');
isnt($new_oid, $old_oid, 're-created: rc_b has a new OID');

$holder->query_safe('COMMIT');
$batch->finish;
is( $stdout,
	"rc_a|0|\nrc_b||database \"rc_b\" was replaced since it was listed\n",
	're-created: rc_a dropped, rc_b\'s row says it was replaced');
is($stderr, '', 're-created: no error for the batch');
is(db_exists($node, 'rc_a'), 0, 're-created: rc_a is gone');
is(oid('rc_b'), $new_oid, 're-created: the new rc_b is still there');
is(row_count($node, 'rc_b'), 100, 're-created: and connectable, with its rows');
ok($node->log_contains(
		qr/DETAIL:  It had OID $old_oid when listed and has OID $new_oid now\. It was not dropped\./),
	're-created: the log says which OIDs');

# --- a cancelled batch stops between two databases -----------------------

make_db($node, $_) for qw(cn_a cn_b cn_c);
$log_offset = -s $node->logfile;
$holder->query_safe("BEGIN; COMMENT ON DATABASE cn_b IS 'held'");
($stdout, $stderr) = ('', '');
$batch = IPC::Run::start(
	[
		'psql', '-XAtq', '-d',
		$node->connstr('postgres') . ' application_name=cancelled', '-c',
		"SELECT * FROM dbreset.force_drop_databases('cn\\_%', timeout => '60s')"
	],
	'>', \$stdout, '2>', \$stderr);
wait_for_lock_waiter($node, 'cn_b', 'the worker');
$node->safe_psql('postgres',
	"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'cancelled'"
);
$batch->finish;
like($stderr, qr/canceling statement due to user request/,
	'cancelled: the caller reports the cancel');
wait_for_no_worker($node);
is(db_exists($node, 'cn_a'), 0, 'cancelled: cn_a, dropped before, is gone');
is(db_exists($node, 'cn_b') + db_exists($node, 'cn_c'), 2,
	'cancelled: cn_b and cn_c are still there');
$holder->query_safe('ROLLBACK');
is(row_count($node, 'cn_b') + row_count($node, 'cn_c'), 200,
	'cancelled: and connectable, with their rows');
unlike(slurp_file($node->logfile, $log_offset),
	qr/FATAL|could not drop database "cn_b"/,
	'cancelled: the worker exited quietly');

end_session($caller);
end_session($holder);
$node->stop;
done_testing();
