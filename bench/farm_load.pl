#!/usr/bin/env perl
# SPDX-License-Identifier: Apache-2.0
# A farm under load (`make farm-load`): three httpd instances share their ticket keys
# through a Redis (SSLTicketKeyStore, a period of PERIOD seconds, so that keys rotate
# during the run), and three others share one key file (the file-based way, no
# rotation).  Both farms run at once and take the load in turn, SLICE seconds each, REPS
# times, so that the machine's noise falls on both alike.  Client processes spread their connections over the three
# instances in turn, each offering the ticket it got from the previous instance: every
# resumption is one across instances.  Reports handshakes, failures, the share of offered
# tickets that resumed (target: 100 %), and the handshake rate of each farm side by side.
# Not a test: nothing here is timed against a limit.  Exits 1 when a handshake failed or
# an offered ticket did not resume.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use File::Path ();
use POSIX ();
use Time::HiRes ();
use TkTest;
use TkFarm;

my $slice = $ENV{SLICE} || 6;
my $reps = $ENV{REPS} || 7;
my $period = $ENV{PERIOD} || 8;
my $workers = $ENV{WORKERS} || 4; # half TLS 1.2, half TLS 1.3
my $dir = TkTest::t_path('tmp', 'farm-load-files');
File::Path::remove_tree($dir);
File::Path::make_path($dir);

# A certificate of its own, so the script needs nothing from the test suite's CA.
TkTest::self_signed_cert($dir, 'load.test');
my $secret = "$dir/farm.secret";
TkFarm::write_secret($secret);
my $key_file = "$dir/ticket.keys";
TkTest::write_key_file($key_file, 'raw', TkTest::new_key(80));
my $htdocs = TkTest::vhost_htdocs('load');

sub farm_server {
    my ($name, $addr, $port, $keys) = @_;
    my $srv = TkTest::start_server($name, <<"CONF");
$keys
SSLTicketKeyCheckInterval 1
SSLSessionCache shmcb:\@T\@/tmp/$name-scache(65536)
SSLSessionCacheTimeout 60
StartServers 2
${\ TkTest::status_vhost()}
Listen $addr:$port
<VirtualHost *:$port>
    ServerName load.test
    SSLEngine on
    SSLCertificateFile $dir/cert.crt
    SSLCertificateKeyFile $dir/cert.key
    DocumentRoot $htdocs
</VirtualHost>
CONF
    $srv->{addr} = $addr;
    $srv->{farm_port} = $port;
    return $srv;
}

# Client processes for $slice seconds; returns (handshakes, failed, offered, resumed).
sub run_load {
    my @servers = @_;
    my $out = "$dir/worker";
    my @pids;
    for my $w (1 .. $workers) {
        my $version = $w % 2 ? TkTest::TLS12 : TkTest::TLS13;
        my $pid = fork // die;
        if ($pid == 0) {
            my ($n, $failed, $offered, $resumed, $session, $i) = (0, 0, 0, 0, undef, $w);
            my $end = Time::HiRes::time() + $slice;
            while (Time::HiRes::time() < $end) {
                my $srv = $servers[$i++ % @servers];
                my $r = TkTest::connect_tls(addr => $srv->{addr}, port => $srv->{farm_port},
                                            host => 'load.test', ca => "$dir/cert.crt",
                                            version => $version, session => $session);
                $n++;
                $offered++ if $session;
                if (($r->{status} // 0) != 200) {
                    $failed++;
                    $session = undef;
                    next;
                }
                $resumed++ if $session && $r->{reused};
                $session = $r->{session};
            }
            TkTest::write_file("$out.$w", "$n $failed $offered $resumed\n", 0644);
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;
    my @sum = (0, 0, 0, 0);
    for my $w (1 .. $workers) {
        my @v = split ' ', TkTest::read_file("$out.$w");
        $sum[$_] += $v[$_] for 0 .. 3;
    }
    return @sum;
}

my $redis = TkFarm::start_redis();
my $store = TkFarm::socache_module('redis')
    . "SSLTicketKeyStore redis:127.0.0.1:$redis->{port}\nSSLTicketKeyStoreSecret $secret\n"
    . "SSLTicketKeyStorePeriod $period\n";
my ($port1, $port2) = (TkTest::free_port(), TkTest::free_port());
my %farms = (
    'store (Redis)' => [map { farm_server("farm-load-store-$_", "127.0.0.$_", $port1, $store) } 2 .. 4],
    'one key file'  => [map { farm_server("farm-load-file-$_", "127.0.0.$_", $port2, "SSLTicketKeyFile $key_file") } 5 .. 7],
);
my @order = ('store (Redis)', 'one key file');
my $status = $farms{'store (Redis)'}[0]{port2};
TkTest::wait_until(20, sub { TkTest::status_auto($status)->{TLSTicketStoreReachable} });
my $first = TkTest::status_auto($status)->{TLSTicketStorePeriod};
my %sum = map { $_ => [0, 0, 0, 0, 0] } @order;
for my $rep (1 .. $reps) {
    for my $what ($rep % 2 ? @order : reverse @order) {
        my $start = Time::HiRes::time();
        my @s = run_load(@{ $farms{$what} });
        $sum{$what}[0] += Time::HiRes::time() - $start;
        $sum{$what}[$_ + 1] += $s[$_] for 0 .. 3;
    }
}
my $rotations = TkTest::status_auto($status)->{TLSTicketStorePeriod} - $first;
# What the servers counted: tickets sealed, resumed with the sealing key, renewed (opened
# with an older key, so a fresh ticket followed).
my %counted;
for my $what (@order) {
    for my $srv (@{ $farms{$what} }) {
        my $st = TkTest::status_auto($srv->{port2});
        $counted{$what}{$_} += $st->{"TLSTickets$_"} // 0 for qw(Sealed Resumed Renewed);
    }
}
TkTest::stop_server($_) for map { @$_ } values %farms;
TkFarm::stop_daemon($redis);
my @results = map { [$_, $sum{$_}[0], $_ eq $order[0] ? $rotations : 0, @{ $sum{$_} }[1 .. 4]] } @order;

my $bad = 0;
printf "farm load: 3 instances, %d client processes (TLS 1.2 and 1.3), each connection to the next instance\n",
    $workers;
for my $r (@results) {
    my ($what, $took, $rot, $n, $failed, $offered, $resumed) = @$r;
    printf "  %-14s %6d handshakes in %.1f s (%.0f/s), %d failed, %d rotations; "
         . "%d of %d offered tickets resumed on another instance (%.2f %%)\n",
        $what, $n, $took, $n / $took, $failed, $rot, $resumed, $offered,
        $offered ? 100 * $resumed / $offered : 0;
    printf "  %-14s servers counted %d tickets sealed, %d resumed, %d renewed\n", '',
        map { $counted{$what}{$_} } qw(Sealed Resumed Renewed);
    $bad = 1 if $failed || $resumed != $offered;
}
printf "  rate, store against key file: %.3f\n",
    ($results[0][3] / $results[0][1]) / ($results[1][3] / $results[1][1]);
exit $bad;
