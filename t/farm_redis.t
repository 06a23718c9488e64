# SPDX-License-Identifier: Apache-2.0
# A farm of three servers shares its ticket keys through one Redis (SSLTicketKeyStore),
# with a period of 8 s so that keys rotate during the test.  A ticket sealed by any
# server resumes on every other, in TLS 1.2 and 1.3, through at least 5 rotations, with
# no failed handshake.  Redis then dies and comes back empty: no handshake fails, tickets
# still resume across servers, and the keys converge again.  The store holds no key in
# clear.  A fourth server that joins late resumes the others' tickets at its first
# handshake.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use Time::HiRes ();
use TkTest;
use TkFarm;

my $period = 8;
my $dir = TkTest::t_path('tmp', 'farm-redis');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
my $secret = "$dir/farm.secret";
my $secret_hex = TkFarm::write_secret($secret);

my $redis = TkFarm::start_redis();
my $port = TkTest::free_port();
my %common = (store => "redis:127.0.0.1:$redis->{port}", secret => $secret,
              period => $period, name => 'www-farm');
my @farm = map { TkFarm::start_farm_server("farm-redis-$_", "127.0.0.$_", $port, %common) } 2 .. 4;

my %ticket_names; # the key names (first 16 bytes) of every ticket a client got
sub load { TkFarm::load(\%ticket_names, @_) }

plan tests => 29;

# --- sharing through rotations -----------------------------------------------------------

ok defined TkFarm::wait_converged(20, @farm), 'the three servers seal with one key from the store';
my ($n, $failed, $not_resumed, $keys) = load(sub { keys %{ $_[0] } >= 6 }, @farm);
cmp_ok $keys, '>=', 6, "at least 5 rotations during the load ($n handshakes)";
is $failed, 0, 'no handshake failed';
is $not_resumed, 0, 'every ticket resumed on every other server';
my @st = map { TkFarm::status($_) } @farm;
is scalar(grep { $_->{TLSTicketStoreReachable} } @st), 3, 'every server reports the store reachable';
is scalar(grep { $_->{TLSTicketStoreRefused} == 0 && $_->{TLSTicketStoreFailedReads} == 0 } @st), 3,
    'no entry refused, no read failed';
cmp_ok $st[0]{TLSTicketStoreKeys}, '>=', 4, 'keys of past, current and coming periods are held';

# --- the store holds no key in clear -----------------------------------------------------

my $dump = TkFarm::redis_dump($redis);
my %ids = map { $_ => pack('H*', substr($_, length 'tls-tickets:')) } grep { /^tls-tickets:/ } keys %$dump;
my @entries = grep { $ids{$_} ne 'probe' && $ids{$_} ne 'www-farm:secrets' } keys %ids;
cmp_ok scalar(@entries), '>=', 4, 'the store holds one entry per period (' . scalar(@entries) . ')';
is scalar(grep { $ids{$_} =~ /^www-farm:[0-9a-f]{8}:\d+$/ } @entries),
    scalar(@entries), '... named by name space, secret tag and period';
my %tags = map { $ids{$_} =~ /^www-farm:([0-9a-f]{8}):/ ? ($1 => 1) : () } @entries;
is scalar(keys %tags), 1, '... one secret tag for the whole farm';
my ($roster) = map { $dump->{$_} } grep { $ids{$_} eq 'www-farm:secrets' } keys %ids;
$roster //= 'none';
like $roster, qr/^\Q@{[TkFarm::secret_tag($secret)]}\E:\d+$/,
    "... and the name space's roster of secrets, listing the farm's tag alone ($roster)";
is scalar(grep { length($dump->{$_}) == 109 && substr($dump->{$_}, 0, 1) eq "\x01" } @entries),
    scalar(@entries), '... each 109 bytes: version 1, nonce, sealed key, tag';
cmp_ok scalar(keys %ticket_names), '>=', 6, 'the clients saw tickets of several keys';
my $leaks = 0;
for my $value (values %$dump) {
    for my $name (keys %ticket_names) {
        $leaks++ if index($value, $name) >= 0;
    }
    $leaks++ if index($value, pack('H*', $secret_hex)) >= 0 || index($value, $secret_hex) >= 0;
}
is $leaks, 0, 'no key name of any ticket, nor the secret, appears in the store';

# --- Redis dies, and comes back empty -----------------------------------------------------

my @logs = map { -s $_->{error_log} } @farm;
TkFarm::stop_daemon($redis);
ok TkTest::wait_until(10, sub { !grep { TkFarm::status($_)->{TLSTicketStoreReachable} } @farm }),
    'every server notices that the store does not answer';
my $outage_start = time;
($n, $failed, $not_resumed) = load(sub { time - $outage_start >= $period }, @farm);
is $failed, 0, "no handshake failed while the store was down ($n handshakes)";
is $not_resumed, 0, '... and tickets still resumed across servers, with the keys held';
$redis = TkFarm::start_redis(port => $redis->{port});
is TkFarm::redis_cli($redis, 'DBSIZE') =~ /^0$/m ? 1 : 0, 1, 'Redis came back empty';
ok TkTest::wait_until(20, sub { !grep { !TkFarm::status($_)->{TLSTicketStoreReachable} } @farm }),
    'every server notices that the store answers again';
my $rotations_after = 0;
($n, $failed, $not_resumed, $rotations_after) = load(sub { keys %{ $_[0] } >= 3 }, @farm);
is $failed, 0, "no handshake failed after the store came back ($n handshakes)";
is $not_resumed, 0, '... and every ticket resumed on every other server';
ok defined TkFarm::wait_converged(20, @farm), 'the servers seal with one key again';
@st = map { TkFarm::status($_) } @farm;
is scalar(grep { $_->{TLSTicketStoreOutages} == 1 } @st), 3, 'each server counted one outage';
my $once = 0;
for my $i (0 .. $#farm) {
    my $log = substr(TkTest::read_file($farm[$i]->{error_log}), $logs[$i]);
    my $down = () = $log =~ /SSLTicketKeyStore \S+ does not answer; this server goes on sealing/g;
    my $up = () = $log =~ /SSLTicketKeyStore \S+ answers again/g;
    $once++ if $down == 1 && $up == 1;
}
is $once, 3, 'each server logged the outage once and its end once';
ok scalar(grep { /^tls-tickets:/ } keys %{ TkFarm::redis_dump($redis) }) >= 3,
    'the keys in use are back in the store';

# --- a server that joins late ------------------------------------------------------------

my $recent = TkFarm::connect_farm($farm[0], TkTest::TLS13);
my $recent12 = TkFarm::connect_farm($farm[1], TkTest::TLS12);
my $late = TkFarm::start_farm_server('farm-redis-5', '127.0.0.5', $port, %common);
my $r = TkFarm::connect_farm($late, TkTest::TLS13, $recent->{session});
ok $r->{reused}, "a fourth server resumes another's TLS 1.3 ticket at its first handshake";
$r = TkFarm::connect_farm($late, TkTest::TLS12, $recent12->{session});
ok $r->{reused}, "... and a TLS 1.2 one";
my $back = TkFarm::connect_farm($late, TkTest::TLS13);
$r = TkFarm::connect_farm($farm[2], TkTest::TLS13, $back->{session});
ok $r->{reused}, "... and its own tickets resume on the others";
like TkTest::read_file($late->{error_log}), qr/SSLTicketKeyStore: \d+ key\(s\) taken from the store, 0 made here/,
    '... having taken its keys from the store before it served';

TkTest::stop_server($_) for @farm, $late;
TkFarm::stop_daemon($redis);
