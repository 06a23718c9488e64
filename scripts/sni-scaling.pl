#!/usr/bin/env perl
# SPDX-License-Identifier: Apache-2.0
# How the cost of a resumed TLS handshake grows with the number of vhosts: an httpd with
# COUNT name-based SSL vhosts on one address (default 5,000), resumed handshakes (no HTTP
# request) to the first vhost and to the last, with mod_sni_vhost and with mod_ssl alone,
# TLS 1.2 and 1.3.  Prints the handshake rate and the server's CPU time per handshake.
# Not a test: run it by hand (`scripts/sni-scaling.pl [COUNT] [HANDSHAKES]`) after
# `make all` and a `make test` (which makes the test certificates).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use IO::Socket::INET ();
use Net::SSLeay ();
use POSIX ();
use Time::HiRes ();
use TkTest;

my $count = shift // 5000;
my $handshakes = shift // 2000;
my $rounds = 3;
my $ca = TkTest::t_path('conf/ssl/ca/asf');
die "no test certificates: run make test first\n" unless -e "$ca/certs/tk_server.crt";

my $conf = "LogLevel warn\nSSLSessionCache shmcb:\@T\@/tmp/sni-scaling-cache(512000)\n";
for my $i (1 .. $count) {
    $conf .= sprintf <<'EOF', $i, $ca, $ca;
<VirtualHost 127.0.0.1:@PORT@>
    ServerName v%05d.tk.test
    SSLEngine on
    SSLCertificateFile %s/certs/tk_server.crt
    SSLCertificateKeyFile %s/keys/tk_server.pem
</VirtualHost>
EOF
}

# CPU seconds used so far by the processes whose command line names this configuration.
sub server_cpu {
    my $srv = shift;
    my $ticks = 0;
    for my $dir (glob '/proc/[0-9]*') {
        open my $fh, '<', "$dir/cmdline" or next;
        my $cmd = do { local $/; <$fh> } // '';
        next unless index($cmd, $srv->{conf}) >= 0;
        open my $st, '<', "$dir/stat" or next;
        my @f = split ' ', (<$st> =~ s/^.*\) //r);
        $ticks += $f[11] + $f[12]; # utime, stime
    }
    return $ticks / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

# A session for the name, then n handshakes resuming it (each on a new connection, no
# request).  Returns (handshakes per second, server CPU microseconds per handshake).
sub measure {
    my ($srv, $host, $version) = @_;
    my $ctx = Net::SSLeay::CTX_new_with_method(Net::SSLeay::TLS_client_method()) or die;
    Net::SSLeay::CTX_set_min_proto_version($ctx, $version);
    Net::SSLeay::CTX_set_max_proto_version($ctx, $version);
    my $first = TkTest::connect_tls(port => $srv->{port}, host => $host, version => $version);
    die "no session from $host: $first->{error}\n" unless $first->{session};
    my $session = Net::SSLeay::d2i_SSL_SESSION($first->{session});
    my ($reused, $cpu0, $t0) = (0, server_cpu($srv), Time::HiRes::time());
    for (1 .. $handshakes) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->{port})
            or die "connect: $!";
        my $ssl = Net::SSLeay::new($ctx);
        Net::SSLeay::set_fd($ssl, fileno($sock));
        Net::SSLeay::set_tlsext_host_name($ssl, $host);
        Net::SSLeay::set_session($ssl, $session);
        $reused += Net::SSLeay::connect($ssl) == 1 && Net::SSLeay::session_reused($ssl);
        Net::SSLeay::shutdown($ssl);
        Net::SSLeay::free($ssl);
        close $sock;
    }
    my ($t1, $cpu1) = (Time::HiRes::time(), server_cpu($srv));
    Net::SSLeay::SESSION_free($session);
    Net::SSLeay::CTX_free($ctx);
    die "$host: only $reused of $handshakes handshakes resumed\n" if $reused < $handshakes;
    return ($handshakes / ($t1 - $t0), 1e6 * ($cpu1 - $cpu0) / $handshakes);
}

my @setups = ([{sni => 1, tickets => 0}, 'mod_sni_vhost'], [{sni => 0, tickets => 0}, 'mod_ssl alone']);
my @versions = ([TkTest::TLS12, 'TLS 1.2'], [TkTest::TLS13, 'TLS 1.3']);
my @hosts = ('v00001.tk.test', sprintf('v%05d.tk.test', $count));

# Both servers run at once and the measurements take turns, so that a change in the
# machine's load weighs on both alike; the best of the rounds counts.
my @servers;
for my $setup (@setups) {
    my ($modules, $what) = @$setup;
    my $t0 = Time::HiRes::time();
    push @servers, TkTest::start_server("sni-scaling-" . @servers, "StartServers 1\n$conf", %$modules);
    printf STDERR "%s: started in %.1f s\n", $what, Time::HiRes::time() - $t0;
}
my (%rate, %cpu);
for my $round (0 .. $rounds) {
    for my $v (@versions) {
        for my $s (0 .. $#servers) {
            for my $host (@hosts) {
                my ($rate, $cpu) = measure($servers[$s], $host, $v->[0]);
                next if $round == 0; # warm-up: children, caches
                my $key = "$s $v->[1] $host";
                $rate{$key} = $rate if $rate > ($rate{$key} // 0);
                $cpu{$key} = $cpu if $cpu < ($cpu{$key} // 1e9);
            }
        }
    }
}
TkTest::stop_server($_) for @servers;

printf "%d vhosts, %d resumed handshakes per measurement, best of %d rounds\n",
    $count, $handshakes, $rounds;
printf "%-14s %-8s %10s %10s %7s %13s %13s\n", 'server', 'version', 'first/s', 'last/s',
    'ratio', 'first CPU us', 'last CPU us';
for my $s (0 .. $#servers) {
    for my $v (@versions) {
        my ($first, $last) = map { "$s $v->[1] $_" } @hosts;
        printf "%-14s %-8s %10.0f %10.0f %7.3f %13.0f %13.0f\n", $setups[$s][1], $v->[1],
            $rate{$first}, $rate{$last}, $rate{$last} / $rate{$first}, $cpu{$first}, $cpu{$last};
    }
}
