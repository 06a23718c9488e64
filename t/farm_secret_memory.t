# SPDX-License-Identifier: Apache-2.0
# The farm secret is in the memory of the parent and of the watcher, which talk to the
# store, and in no serving child, which never does (they wipe their copy when they
# start).  Read through /proc/PID/mem; the same scanner must find it in the parent, so that
# it cannot pass for want of reading anything.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use TkTest;
use TkFarm;

plan skip_all => 'modules built with AddressSanitizer (make test-asan): the scan is for make test'
    if ($ENV{TK_MODULE_DIR} // '') =~ m{/asan/?$};
plan tests => 4;

my $dir = TkTest::t_path('tmp', 'farm-secret-memory');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
my $secret = "$dir/farm.secret";
my $bytes = pack 'H*', TkFarm::write_secret($secret);

# The readable regions a process writes to (or anonymous ones).
sub regions {
    my $pid = shift;
    no warnings 'portable';
    open my $fh, '<', "/proc/$pid/maps" or return ();
    my @r;
    while (<$fh>) {
        my ($lo, $hi, $perms, $path) = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*?)\s*$/ or next;
        next unless $perms =~ /^r/ && $path !~ /^\[(?:vvar|vvar_vclock|vdso|vsyscall)\]/;
        next unless $perms =~ /w/ || $path eq '' || $path =~ /^\[/;
        push @r, [hex $lo, hex $hi];
    }
    return @r;
}

# How many copies of $bytes the memory of pid holds, and how many bytes were read.
sub copies {
    my $pid = shift;
    my ($n, $read) = (0, 0);
    open my $mem, '<:raw', "/proc/$pid/mem" or return (0, 0);
    for my $r (regions($pid)) {
        my ($pos, $carry) = ($r->[0], '');
        while ($pos < $r->[1]) {
            my $want = $r->[1] - $pos < (1 << 20) ? $r->[1] - $pos : 1 << 20;
            my $got = sysseek($mem, $pos, 0) && sysread($mem, my $buf, $want) or last;
            $read += $got;
            my $data = $carry . $buf;
            my $at = -1;
            while (($at = index($data, $bytes, $at + 1)) >= 0) {
                $n++ if $at + length($bytes) > length $carry;
            }
            $carry = substr($data, -(length($bytes) - 1));
            $pos += $got;
        }
    }
    return ($n, $read);
}

sub uid_of { (TkTest::read_file("/proc/$_[0]/status") =~ /^Uid:\s+(\d+)/m)[0] }

my $redis = TkFarm::start_redis();
my $srv = TkFarm::start_farm_server('farm-secret-mem', '127.0.0.2', TkTest::free_port(),
    store => "redis:127.0.0.1:$redis->{port}", secret => $secret, period => 8,
    extra => "StartServers 2\n");
TkFarm::connect_farm($srv, TkTest::TLS13) for 1 .. 4; # children at work
my $parent = TkTest::server_pid($srv->{pid_file});
my @children = TkTest::child_pids($parent);
my ($in_parent, $read) = copies($parent);
cmp_ok $in_parent, '>', 0, "the scanner finds the secret in the parent ($read bytes read)";
my $serving = 0;
my ($held_by_serving, $held_by_watcher) = (0, 0);
for my $pid (@children) {
    my ($n) = copies($pid);
    if ($> == 0 && uid_of($pid) == 0) { # the watcher runs as root, children as nobody
        $held_by_watcher += $n;
    } else {
        $serving++;
        $held_by_serving += $n;
    }
}
SKIP: {
    skip 'children and watcher run as one user: not told apart', 1 unless $> == 0;
    cmp_ok $held_by_watcher, '>', 0, 'the watcher holds it';
}
cmp_ok $serving, '>=', 1, "serving children were read ($serving)";
is $held_by_serving, 0, 'no serving child holds the farm secret';

TkTest::stop_server($srv);
TkFarm::stop_daemon($redis);
