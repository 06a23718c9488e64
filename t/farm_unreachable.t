# SPDX-License-Identifier: Apache-2.0
# A server that starts while its store does not answer starts anyway, with keys of its
# own, and says so; it serves and issues tickets, and when the store comes up it says so
# once and puts its keys there, where a second server finds them.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use TkTest;
use TkFarm;

my $dir = TkTest::t_path('tmp', 'farm-unreachable');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
my $secret = "$dir/farm.secret";
TkFarm::write_secret($secret);

plan tests => 9;

my $redis_port = TkTest::free_port(); # nothing listens there yet
my $port = TkTest::free_port();
my %common = (store => "redis:127.0.0.1:$redis_port", secret => $secret, period => 8);
my $srv = TkFarm::start_farm_server('farm-unreach-2', '127.0.0.2', $port, %common);
like TkTest::read_file($srv->{error_log}),
    qr/SSLTicketKeyStore redis:127\.0\.0\.1:$redis_port does not answer: starting with 3 key\(s\) of its own until it does/,
    'a server whose store does not answer starts, and says it uses keys of its own';
is TkFarm::status($srv)->{TLSTicketStoreReachable}, 0, '... and reports the store unreachable';
my $first = TkFarm::connect_farm($srv, TkTest::TLS13);
is $first->{status}, 200, '... and serves';
ok length($first->{ticket} // '') > 16 || $first->{session}, '... and issues tickets';
my $r = TkFarm::connect_farm($srv, TkTest::TLS13, $first->{session});
ok $r->{reused}, '... which resume on it';

my $redis = TkFarm::start_redis(port => $redis_port);
ok TkTest::wait_until(20, sub { TkFarm::status($srv)->{TLSTicketStoreReachable} }),
    'once the store answers, the server notices';
my $log = TkTest::read_file($srv->{error_log});
is scalar(() = $log =~ /answers again/g), 1, '... and says so once';
ok TkTest::wait_until(10, sub { grep { /^tls-tickets:/ } keys %{ TkFarm::redis_dump($redis) } }),
    '... and writes keys to the store';
my $second = TkFarm::start_farm_server('farm-unreach-3', '127.0.0.3', $port, %common);
$r = TkFarm::connect_farm($second, TkTest::TLS13, $first->{session});
ok $r->{reused}, "a second server resumes the first one's ticket, sealed before the store answered";

TkTest::stop_server($_) for $srv, $second;
TkFarm::stop_daemon($redis);
