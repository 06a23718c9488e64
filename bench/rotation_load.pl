#!/usr/bin/env perl
# SPDX-License-Identifier: Apache-2.0
# Rotation under load (`make rotation-load`): clients keep resuming their sessions in TLS
# 1.2 and 1.3 while the key file of a live server is rotated ROTATIONS times with
# tls-ticket-keys; reports handshakes, failures, the share resumed, and how long each
# rotation took to reach service (a fresh handshake sealed with the new key).
# Not a test: nothing here is timed against a limit.  Exits 1 when a handshake failed or
# fewer than 90% resumed.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use File::Path ();
use POSIX ();
use Time::HiRes ();
use TkTest;

my $rotations = $ENV{ROTATIONS} || 20;
my $workers = $ENV{WORKERS} || 4;     # half TLS 1.2, half TLS 1.3
my $pause = $ENV{ROTATE_EVERY} || 1.5; # seconds between rotations
my $tool = "$TkTest::TOP_DIR/build/tls-ticket-keys";
my $dir = TkTest::t_path('tmp', 'rotation-load-files'); # start_server empties its own
File::Path::remove_tree($dir);
File::Path::make_path($dir);

# A certificate of its own, so the script needs nothing from the test suite's CA.
TkTest::self_signed_cert($dir, 'load.test');
my $keys = "$dir/ticket.keys";
system("$tool generate --aes128 $keys >/dev/null") == 0 or die "tls-ticket-keys generate failed";
my $htdocs = TkTest::vhost_htdocs('load');
my $srv = TkTest::start_server('rotation-load', <<"CONF");
SSLTicketKeyReload live
SSLTicketKeyCheckInterval 1
SSLTicketKeyFile $keys
StartServers 2
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName load.test
    SSLEngine on
    SSLCertificateFile $dir/cert.crt
    SSLCertificateKeyFile $dir/cert.key
    DocumentRoot $htdocs
</VirtualHost>
CONF

sub connect_load {
    TkTest::connect_tls(port => $srv->{port}, host => 'load.test', ca => "$dir/cert.crt", @_);
}

my $stop = "$dir/stop";
my @pids;
for my $w (1 .. $workers) {
    my $version = $w % 2 ? TkTest::TLS12 : TkTest::TLS13;
    my $pid = fork // die;
    if ($pid == 0) {
        my ($n, $failed, $resumed, $session) = (0, 0, 0, undef);
        until (-e $stop) {
            my $r = connect_load(version => $version, session => $session);
            $n++;
            if (!$r->{ok}) {
                $failed++;
            } else {
                $resumed++ if $r->{reused};
                $session = $r->{session};
            }
        }
        TkTest::write_file("$dir/worker-$w", "$version $n $failed $resumed\n", 0644);
        POSIX::_exit(0);
    }
    push @pids, $pid;
}

# Whatever ends the script, the workers stop too (they loop until the stop file).
my $main = $$;
END { TkTest::write_file($stop, '', 0644) if defined $main && $$ == $main && !-e $stop }

my @latency;
my $started = Time::HiRes::time();
for my $i (1 .. $rotations) {
    Time::HiRes::sleep($pause);
    system("$tool rotate --format text --keep 3 $keys >/dev/null") == 0 or die "rotate failed";
    my ($new) = TkTest::read_key_file($keys);
    my $t = TkTest::wait_until(10, sub {
        TkTest::sealed_by(connect_load(version => TkTest::TLS12)->{ticket}, $new)
    });
    push @latency, $t // 'timeout';
}
my $elapsed = Time::HiRes::time() - $started;
TkTest::write_file($stop, '', 0644);
waitpid $_, 0 for @pids;
my $auto = TkTest::read_file($srv->{error_log});
TkTest::stop_server($srv);

my %by = (TkTest::TLS12, [0, 0, 0], TkTest::TLS13, [0, 0, 0]);
for my $w (1 .. $workers) {
    my ($v, $n, $f, $r) = split ' ', TkTest::read_file("$dir/worker-$w");
    $by{$v}[0] += $n;
    $by{$v}[1] += $f;
    $by{$v}[2] += $r;
}
my ($n, $failed, $resumed) = (0, 0, 0);
for my $v (keys %by) {
    $n += $by{$v}[0];
    $failed += $by{$v}[1];
    $resumed += $by{$v}[2];
}
my @lat = sort { $a <=> $b } grep { $_ ne 'timeout' } @latency;
my $timeouts = grep { $_ eq 'timeout' } @latency;
my $reloads = () = $auto =~ /changed: \d+ key\(s\), sealing with key \w+; in service now/g;
printf "rotation under load: %d rotations in %.1f s, %d client processes (TLS 1.2 and 1.3)\n",
    $rotations, $elapsed, $workers;
printf "  TLS 1.2: %d handshakes, %d failed, %d resumed (%.1f%%)\n", @{ $by{+TkTest::TLS12} },
    100 * $by{+TkTest::TLS12}[2] / ($by{+TkTest::TLS12}[0] || 1);
printf "  TLS 1.3: %d handshakes, %d failed, %d resumed (%.1f%%)\n", @{ $by{+TkTest::TLS13} },
    100 * $by{+TkTest::TLS13}[2] / ($by{+TkTest::TLS13}[0] || 1);
printf "  total:   %d handshakes, %d failed, %.2f%% resumed\n", $n, $failed, 100 * $resumed / ($n || 1);
printf "  reloads logged by the server: %d; rotation to service: median %.2f s, max %.2f s%s\n",
    $reloads, $lat[@lat / 2] // -1, $lat[-1] // -1, $timeouts ? ", $timeouts timed out" : '';
printf "JSON {\"rotations\":%d,\"handshakes\":%d,\"failed\":%d,\"resumed_share\":%.4f,"
     . "\"rotation_latency_median_s\":%.3f,\"rotation_latency_max_s\":%.3f}\n",
    $rotations, $n, $failed, $resumed / ($n || 1), $lat[@lat / 2] // -1, $lat[-1] // -1;
exit($failed == 0 && $resumed >= 0.9 * $n && !$timeouts ? 0 : 1);
