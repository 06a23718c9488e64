# A server of the farm configured with another farm secret: the others refuse its entries
# and say so, it refuses theirs, nothing crashes, every handshake completes, its tickets
# do not resume elsewhere, and the servers with the right secret still share their keys,
# even when they start together at the worst moment.
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

plan tests => 12;

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
    qr/SSLTicketKeyStore redis:\S+: the entry 'secret-farm:\d+' \(period from [^)]+\) is refused: the entry does not open with this farm secret for this name space and period .*another SSLTicketKeyStoreSecret or name\?/,
    'the server with the wrong secret refuses the entries of the others, and says why';
cmp_ok TkFarm::status($bad)->{TLSTicketStoreRefused}, '>', 0, '... and counts them';
like TkTest::read_file($bad->{error_log}), qr/0 key\(s\) taken from the store, 3 made here/,
    '... and starts with keys of its own';
ok TkTest::wait_until(30, sub {
    grep { TkTest::read_file($_->{error_log}) =~ /the entry 'secret-farm:\d+' .* is refused/ } @good
}), 'the others refuse the entries it writes, and say so';

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
my $crashes = grep { TkTest::read_file($_->{error_log}) =~ /exit signal|watcher \(pid \d+\) ended/ } @good, $bad;
is $crashes, 0, 'no child or watcher crashed';
is scalar(grep { kill 0, TkTest::server_pid($_->{pid_file}) } @good, $bad), 3, 'every server runs';

TkTest::stop_server($_) for @good, $bad;
TkFarm::stop_daemon($redis);
