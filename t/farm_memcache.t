# SPDX-License-Identifier: Apache-2.0
# A farm of three servers shares its keys through two memcached nodes (the entries spread
# over both): tickets resume on every server through rotations; when one node dies, its
# entries move to the other and the keys stay shared, with no failed handshake.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use TkTest;
use TkFarm;

my $dir = TkTest::t_path('tmp', 'farm-memcache');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
my $secret = "$dir/farm.secret";
TkFarm::write_secret($secret);

plan tests => 9;

my @nodes = (TkFarm::start_memcached(), TkFarm::start_memcached());
my $port = TkTest::free_port();
my %common = (provider => 'memcache', secret => $secret, period => 8,
              store => 'memcache:' . join(',', map { "127.0.0.1:$_->{port}" } @nodes));
my @farm = map { TkFarm::start_farm_server("farm-mc-$_", "127.0.0.$_", $port, %common) } 2 .. 4;

ok defined TkFarm::wait_converged(20, @farm), 'the three servers seal with one key from memcached';
my %names;
my ($n, $failed, $not_resumed, $keys) = TkFarm::load(\%names, sub { keys %{ $_[0] } >= 4 }, @farm);
cmp_ok $keys, '>=', 4, "at least 3 rotations ($n handshakes)";
is $failed, 0, 'no handshake failed';
is $not_resumed, 0, 'every ticket resumed on every other server';

TkFarm::stop_daemon($nodes[0]);
($n, $failed, $not_resumed, $keys) = TkFarm::load(\%names, sub { keys %{ $_[0] } >= 3 }, @farm);
is $failed, 0, "one node down: no handshake failed ($n handshakes)";
is $not_resumed, 0, '... and every ticket resumed on every other server';
ok defined TkFarm::wait_converged(20, @farm), '... and the servers seal with one key';
my @st = map { TkFarm::status($_) } @farm;
is scalar(grep { $_->{TLSTicketStoreReachable} } @st), 3, 'the store, on its other node, answers';
is scalar(grep { $_->{TLSTicketStoreRefused} == 0 } @st), 3, 'no entry refused';

TkTest::stop_server($_) for @farm;
TkFarm::stop_daemon($_) for @nodes;
