# SPDX-License-Identifier: Apache-2.0
# A server of the farm configured with another farm secret: its keys go to entries of
# their own (named with a tag of its secret), so it cannot overwrite the farm's; every
# server sees the other secret in the name space's roster and says so, nothing crashes,
# every handshake completes, its tickets do not resume elsewhere, and the servers with the
# right secret still share their keys, even when they start together at the worst moment.
# An entry forged under the farm's own tag is refused and logged.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use Time::HiRes ();
use TkTest;
use TkFarm;

my $dir = TkTest::t_path('tmp', 'farm-secret');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
my ($right, $wrong) = ("$dir/right.secret", "$dir/wrong.secret");
TkFarm::write_secret($right);
TkFarm::write_secret($wrong);

plan tests => 15;

my $redis = TkFarm::start_redis();
my $port = TkTest::free_port();
my %common = (store => "redis:127.0.0.1:$redis->{port}", period => 8, name => 'secret-farm');
# Both good servers start in the settle time of the next period (between its write
# deadline, 4 s before it, and its freeze, 2 s before), when neither may write it: they must
# still agree on its key before it seals.
TkTest::wait_until(10, sub { my $m = Time::HiRes::time() - 8 * int(Time::HiRes::time() / 8); $m >= 4.05 && $m < 4.4 });
my @good = map { TkFarm::start_farm_server("farm-secret-$_", "127.0.0.$_", $port, %common,
                                           secret => $right) } 2, 3;
ok defined TkFarm::wait_converged(20, @good), 'two servers with the right secret share a key';
my $bad = TkFarm::start_farm_server('farm-secret-4', '127.0.0.4', $port, %common, secret => $wrong);

like TkTest::read_file($bad->{error_log}),
    qr/SSLTicketKeyStore redis:\S+: 1 other SSLTicketKeyStoreSecret\(s\) write to the name 'secret-farm' \(the roster 'secret-farm:secrets' lists them\)\. Their keys and this server's are kept apart, so tickets do not resume between those servers and this one/,
    'the server with the wrong secret sees the farm\'s secret in the roster, and says what it means';
is TkFarm::status($bad)->{TLSTicketStoreOtherSecrets}, 1, '... and shows it in server-status';
like TkTest::read_file($bad->{error_log}), qr/0 key\(s\) taken from the store, 3 made here/,
    '... and starts with keys of its own';
ok TkTest::wait_until(30, sub {
    2 == grep { TkTest::read_file($_->{error_log}) =~ /1 other SSLTicketKeyStoreSecret\(s\) write to the name 'secret-farm'/ } @good
}), 'both others see its secret in the roster, and say so';
my %tags = map { pack('H*', substr($_, length 'tls-tickets:')) =~ /^secret-farm:([0-9a-f]{8}):\d+$/ ? ($1 => 1) : () }
    grep { /^tls-tickets:/ } keys %{ TkFarm::redis_dump($redis) };
is_deeply [sort keys %tags], [sort map { TkFarm::secret_tag($_) } $right, $wrong],
    'the keys of the two secrets are in entries apart (named with the tag of each secret)';

# Some periods with all three running.
my %names;
my $start = time;
my ($n, $failed, $not_resumed) = TkFarm::load(\%names, sub { time - $start >= 16 }, @good);
is $failed, 0, "no handshake failed on the servers with the right secret ($n handshakes)";
is $not_resumed, 0, '... and their tickets still resume on each other';
my $own = TkFarm::connect_farm($bad, TkTest::TLS13);
is $own->{status}, 200, 'the server with the wrong secret serves';
my $r = TkFarm::connect_farm($good[0], TkTest::TLS13, $own->{session});
is $r->{status}, 200, '... its ticket offered to another server gets a full handshake';
ok !$r->{reused}, '... not a resumption';
# Whoever can write to the store forges an entry under the farm's own tag (a copy of
# another period's entry): refused, counted and logged, and the farm goes on.
my $dump = TkFarm::redis_dump($redis);
my %id = map { $_ => pack('H*', substr($_, length 'tls-tickets:')) } grep { /^tls-tickets:/ } keys %$dump;
my $good_tag = TkFarm::secret_tag($right);
my @own = sort { $id{$a} cmp $id{$b} } grep { $id{$_} =~ /^secret-farm:$good_tag:\d+$/ } keys %id;
# The first good server to read it refuses it and writes its key back over it.
my $refused = sub { my $sum = 0; $sum += TkFarm::status($_)->{TLSTicketStoreRefused} for @good; $sum };
my $refused_before = $refused->();
my $target_id = "secret-farm:$good_tag:" . (int(time / 8) + 2);
my ($source) = grep { $id{$_} ne $target_id } @own;
TkFarm::redis_set($redis, 'tls-tickets:' . unpack('H*', $target_id), $dump->{$source});
ok TkTest::wait_until(20, sub { $refused->() > $refused_before }),
    'an entry copied to another period under the farm\'s tag is refused and counted';
cmp_ok scalar(grep { TkTest::read_file($_->{error_log}) =~ /the entry '\Q$target_id\E' \(period from [^)]+\) is refused: the entry does not open with this farm secret for this name space and period/ } @good),
    '>=', 1, '... and logged by the servers that read it before it was written over';
my $crashes = grep { TkTest::read_file($_->{error_log}) =~ /exit signal|watcher \(pid \d+\) ended/ } @good, $bad;
is $crashes, 0, 'no child or watcher crashed';
is scalar(grep { kill 0, TkTest::server_pid($_->{pid_file}) } @good, $bad), 3, 'every server runs';

TkTest::stop_server($_) for @good, $bad;
TkFarm::stop_daemon($redis);
