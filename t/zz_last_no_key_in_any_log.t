# SPDX-License-Identifier: Apache-2.0
# Runs last (tests run in name order).  A server at LogLevel trace8 goes through full
# handshakes, resumptions, a live reload, a renewal and a bad key file, and shows its
# status pages; then no byte of any secret key (HMAC or AES part) appears, in any common
# encoding, in its error log, its status pages, or any log of any server of the suite.
# Key names are public (they travel in every ticket) and may appear as fingerprints.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Find ();
use MIME::Base64 ();
use TkTest;

my ($k1, $k2) = (TkTest::new_key(80), TkTest::new_key(48));
my ($srv, $file) = TkTest::start_keyed_server('secrets', reload => 'live', format => 'text',
    keys => [$k1], global => "LogLevel trace8\n" . TkTest::status_vhost());

sub alpha { TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test', @_) }
sub reloads { TkTest::status_auto($srv->{port2})->{TLSTicketKeyReloads} // 0 }

my %s = map { $_ => alpha(version => $_) } TkTest::TLS12, TkTest::TLS13;
alpha(version => $_, session => $s{$_}{session}) for keys %s;
my $before = reloads();
TkTest::write_key_file($file, 'text', $k2, $k1);
TkTest::wait_until(4, sub { reloads() > $before });
my $renewed = alpha(version => TkTest::TLS12, session => $s{+TkTest::TLS12}{session});
TkTest::write_file($file, "garbage\n", 0600);
TkTest::wait_until(4, sub { (TkTest::status_auto($srv->{port2})->{TLSTicketKeyReloadErrors} // 0) > 0 });
my $status = TkTest::http_get($srv->{port2}, '/server-status')
           . TkTest::http_get($srv->{port2}, '/server-status?auto');
TkTest::stop_server($srv);

my (@key_files, @logs);
File::Find::find(sub {
    push @key_files, $File::Find::name if -f && /\.key$/;
    push @logs, $File::Find::name if -f && /(error_log|access_log|_log)$/;
}, TkTest::t_path('keys'), TkTest::t_path('tmp'), TkTest::t_path('logs'),
   # the demo's logs, when a scratch directory serves it (TkTest::served_root)
   grep { $_ ne TkTest::t_path('tmp') } TkTest::served_path('tmp'));

my @secrets = map { ($_->{hmac}, $_->{aes}) }
              ($k1, $k2, map { eval { TkTest::read_key_file($_) } } @key_files);
my $logs = join '', map { TkTest::read_file($_) } @logs;
my $trace_log = TkTest::read_file($srv->{error_log});

sub found_in {
    my $text = shift;
    my @found;
    for my $secret (@secrets) {
        my $hex = unpack 'H*', $secret;
        push @found, grep { index($text, $_) >= 0 }
            $secret, $hex, uc $hex, join(':', $hex =~ /../g), join(' ', $hex =~ /../g),
            MIME::Base64::encode_base64($secret, ''), substr($hex, 0, 16);
    }
    return scalar @found;
}

plan tests => 7;

ok $renewed->{reused}, 'the sequence ran: a ticket of the previous key resumed after the reload';
like $trace_log, qr/\[ssl:trace[4-8]\]/, 'the trace8 server logged at trace level';
like $status, qr/TLSTicketsRenewed: [1-9].*TLSTicketKeyReloadErrors: [1-9]/s,
    'the status pages were read after the renewal and the bad file';
cmp_ok scalar(@secrets), '>=', 20, 'secrets of the suite collected (' . @secrets . ')';
is found_in($trace_log), 0, 'no key byte in the trace8 error log';
is found_in($status), 0, 'no key byte in the status pages';
is found_in($logs), 0, 'no key byte in any log of the suite (' . @logs . ' files)';
