# SPDX-License-Identifier: Apache-2.0
# Servers racing to write the same period end up with one key.  At the start of a period
# each server finds the entry of the period two ahead missing and writes its own key; here
# Redis holds every write back for a while (CLIENT PAUSE WRITE) so that all three read
# "missing" before any write lands, and all three write.  Redis keeps the last write;
# every server adopts it before the period seals, and no ticket is refused by another
# server because of the race.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use Time::HiRes ();
use TkTest;
use TkFarm;

my $period = 8;
my $dir = TkTest::t_path('tmp', 'farm-race');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
my $secret = "$dir/farm.secret";
TkFarm::write_secret($secret);

plan tests => 10;

my $redis = TkFarm::start_redis();
my $port = TkTest::free_port();
my %common = (store => "redis:127.0.0.1:$redis->{port}", secret => $secret, period => $period);
my @farm = map { TkFarm::start_farm_server("farm-race-$_", "127.0.0.$_", $port, %common) } 2 .. 4;
ok defined TkFarm::wait_converged(20, @farm), 'the three servers seal with one key';

sub writes { my $n = 0; $n += TkFarm::status($_)->{TLSTicketStoreWrites} for @farm; $n }
sub phase { my $t = Time::HiRes::time(); $t - $period * int($t / $period) }

my @raced;
for (1 .. 3) {
    TkTest::wait_until(2 * $period, sub { phase() >= $period - 0.2 && phase() < $period - 0.1 });
    my $before = writes();
    TkFarm::redis_cli($redis, 'CLIENT', 'PAUSE', 1500, 'WRITE');
    Time::HiRes::sleep(3);
    push @raced, writes() - $before;
}
is scalar(grep { $_ >= 2 } @raced), 3, "each forced race had several servers write the same period (@raced writes)";

# Through the periods whose keys were raced for, with client load.
my %names;
my ($n, $failed, $not_resumed, $keys) = TkFarm::load(\%names, sub { keys %{ $_[0] } >= 4 }, @farm);
cmp_ok $keys, '>=', 4, "the load ran through the raced periods ($n handshakes)";
is $failed, 0, 'no handshake failed';
is $not_resumed, 0, 'no ticket was refused by another server';
ok defined TkFarm::wait_converged(20, @farm), 'the servers seal with one key';
my $adopted = grep { TkTest::read_file($_->{error_log}) =~ /[1-9] key\(s\) taken from the store, 0 made here/ } @farm;
is $adopted, 3, 'every server took keys from the store, raced ones included';

# A graceful restart of one server keeps the farm's keys (they carry over in its shared
# memory) and the sharing.
my $sealed = TkFarm::connect_farm($farm[1], TkTest::TLS13);
TkTest::graceful_restart(pid_file => $farm[0]{pid_file}, error_log => $farm[0]{error_log});
my $r = TkFarm::connect_farm($farm[0], TkTest::TLS13, $sealed->{session});
ok $r->{reused}, 'after a graceful restart, a server resumes the tickets of another at once';
my $own = TkFarm::connect_farm($farm[0], TkTest::TLS12);
$r = TkFarm::connect_farm($farm[2], TkTest::TLS12, $own->{session});
ok $r->{reused}, '... and its new tickets resume on the others';
ok defined TkFarm::wait_converged(20, @farm), '... and it seals with the farm\'s key';

TkTest::stop_server($_) for @farm;
TkFarm::stop_daemon($redis);
