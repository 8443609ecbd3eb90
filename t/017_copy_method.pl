# t/017_copy_method.pl
#
# PostgreSQL 18+: the caller's file_copy_method reaches its own copy only.
# A standing worker that cloned for one caller (file_copy_method = clone)
# copies for the next caller, who did not ask to clone: a reset into a
# tablespace on another file system (tmpfs), where files cannot be cloned,
# still works afterwards.  (A setting left in the worker's session made
# that reset fail after its DROP: the database was gone.)

use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use DbresetTest;
use File::Temp;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'file_copy_method exists from PostgreSQL 18 on'
  if PostgreSQL::Test::Cluster->new('probe')->pg_version < 18;

my $registry_conf = "dbreset.worker_idle_timeout = '60s'\n"
  . "dbreset.file_copy_threshold = 0\n";
my $node = new_node('copy_method', conf => $registry_conf);

# a tablespace on tmpfs: another file system than the data directory's
my $shm = File::Temp::tempdir('dbreset_ts_XXXXXX', DIR => '/dev/shm', CLEANUP => 1);
plan skip_all => '/dev/shm is on the data directory\'s file system'
  if (stat($shm))[0] == (stat($node->data_dir))[0];
chmod 0700, $shm;
$node->safe_psql('postgres', "CREATE TABLESPACE shmts LOCATION '$shm'");
make_db($node, 'src');
$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('tpl', 'CREATE TABLE fresh (i int)');
make_db($node, 'app');
$node->safe_psql('postgres', 'ALTER DATABASE app SET TABLESPACE shmts');

my ($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SELECT dbreset.reset_database('app', 'tpl')");
is($ret, 0, 'a reset into the tmpfs tablespace, copying');
my $worker = worker_pid($node);

($ret, $out, $err) = psql_verbose($node, 'postgres',
	"SET file_copy_method = clone; SELECT dbreset.clone_database('src', 'src_clone')");
SKIP:
{
	skip "this file system clones no files: $err", 4 if $ret != 0;
	is(worker_pid($node), $worker, 'a clone asked to clone, by the same standing worker');
	is(row_count($node, 'src_clone'), 100, 'the clone has the rows');

	$node->safe_psql('app', 'CREATE TABLE t2 (i int)');
	($ret, $out, $err) = psql_verbose($node, 'postgres',
		"SELECT dbreset.reset_database('app', 'tpl')");
	is($ret, 0, 'the next reset into the tmpfs tablespace copies again')
	  or diag $err;
	is(is_fresh($node, 'app'), 1, 'and the database is a fresh copy');
}

$node->stop;
done_testing();
