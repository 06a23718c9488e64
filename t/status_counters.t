# SPDX-License-Identifier: Apache-2.0
# Counters in server-status and log variables: a scripted sequence of full handshakes,
# resumptions, rotations, an unknown key and a bad key file moves each counter by exactly
# the expected amount; ?auto parses; counters survive a graceful restart; the log
# variables appear in an access log; the status page shows fingerprints, never key bytes.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use MIME::Base64 ();
use TkTest;

my ($k1, $k2, $k3) = map { TkTest::new_key(48) } 1 .. 3;
my $dir = TkTest::t_path('tmp', 'counters');
my ($srv, $file) = TkTest::start_keyed_server('counters', reload => 'live', format => 'text',
    keys => [$k1], global => TkTest::status_vhost(), in_vhost => <<'VHOST');
    CustomLog @T@/tmp/counters/tickets_log "%{TLS_TICKET_RESUMED}e %{TLS_TICKET_KEY}e %{TLS_TICKET_RENEWED}e %r"
VHOST

my @keys = qw(TLSTicketsSealed TLSTicketsResumed TLSTicketsRenewed TLSTicketsUnknownKey
              TLSTicketKeyReloads TLSTicketKeyReloadErrors TLSTicketKeyAge);

plan tests => 1 + 7 + 6 + 3 + 3;

sub status { TkTest::status_auto($srv->{port2}) }
sub alpha { TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test', @_) }
sub wait_reloads {
    my $n = shift;
    TkTest::wait_until(4, sub { (status()->{TLSTicketKeyReloads} // -1) >= $n });
}

my $t0 = status();
is_deeply [grep { !defined $t0->{$_} || $t0->{$_} !~ /^\d+$/ } @keys], [],
    '?auto has every key, each a whole number';

my @s12 = map { alpha(version => TkTest::TLS12, path => "/index.html?full12-$_") } 1 .. 3;
my @s13 = map { alpha(version => TkTest::TLS13, path => "/index.html?full13-$_") } 1 .. 2;
my $r = alpha(version => TkTest::TLS12, session => $s12[0]{session}, path => '/index.html?resume12');
my $r13 = alpha(version => TkTest::TLS13, session => $s13[0]{session}, path => '/index.html?resume13');

TkTest::write_key_file($file, 'text', $k2, $k1);
wait_reloads($t0->{TLSTicketKeyReloads} + 1);
my $renewed = alpha(version => TkTest::TLS12, session => $s12[1]{session}, path => '/index.html?renew');

TkTest::write_key_file($file, 'text', $k3);
wait_reloads($t0->{TLSTicketKeyReloads} + 2);
my $unknown = alpha(version => TkTest::TLS12, session => $s12[2]{session}, path => '/index.html?unknown');

TkTest::write_file($file, "not a key file\n", 0600);
TkTest::wait_until(4, sub { (status()->{TLSTicketKeyReloadErrors} // -1) > $t0->{TLSTicketKeyReloadErrors} });
my $t1 = status();
my %moved = map { $_ => $t1->{$_} - $t0->{$_} } @keys;

# TLS 1.2: a ticket after each full handshake and renewal, none after a resumption with
# the sealing key; TLS 1.3: two after a full handshake, one after a resumption.
is $moved{TLSTicketsSealed}, 3 + 2 * 2 + 0 + 1 + 1 + 1,
    'sealed: 3 TLS 1.2 and 2 TLS 1.3 full handshakes, a TLS 1.3 resumption, a renewal, a full handshake';
is $moved{TLSTicketsResumed}, 2, 'resumed: two tickets opened with the sealing key';
is $moved{TLSTicketsRenewed}, 1, 'renewed: one ticket opened with the previous key';
is $moved{TLSTicketsUnknownKey}, 1, 'unknown key: one ticket of a key no longer in service';
is $moved{TLSTicketKeyReloads}, 2, 'reloads: two changed files taken';
is $moved{TLSTicketKeyReloadErrors}, 1, 'reload errors: one bad file refused';
cmp_ok $t1->{TLSTicketKeyAge}, '<=', 10, 'the sealing key is seconds old';

# The log variables, per request.
my %log = map { my @f = split / /; ($f[4] =~ /\?(\S+)/)[0] => [@f[0 .. 2]] }
          split /\n/, TkTest::read_file("$dir/tickets_log");
is_deeply $log{'full12-1'}, ['-', '-', '-'], 'log: a full handshake has no ticket variables';
is_deeply $log{resume12}, ['1', TkTest::fingerprint($k1), '0'], 'log: resumed with the sealing key';
is_deeply $log{resume13}, ['1', TkTest::fingerprint($k1), '0'], 'log: TLS 1.3 resumed with the sealing key';
is_deeply $log{renew}, ['1', TkTest::fingerprint($k1), '1'], 'log: resumed with the previous key, renewed';
is_deeply $log{unknown}, ['-', '-', '-'], 'log: a ticket of an unknown key resumes nothing';
ok $r->{reused} && $r13->{reused} && $renewed->{reused} && !$unknown->{reused},
    'the clients saw the same resumptions';

# A graceful restart keeps the counters (and re-reads the key file: one more reload, and
# one more error since the file is still bad).
TkTest::graceful_restart(pid_file => $srv->{pid_file}, error_log => $srv->{error_log});
my $t2 = status();
is $t2->{TLSTicketsSealed}, $t1->{TLSTicketsSealed}, 'after a graceful restart: sealed kept';
is $t2->{TLSTicketsResumed}, $t1->{TLSTicketsResumed}, '... resumed kept';
is $t2->{TLSTicketKeyReloadErrors}, $t1->{TLSTicketKeyReloadErrors} + 1, '... the bad file counted again';

# The HTML page: per key file, keys by fingerprint, no key bytes.
my $html = TkTest::http_get($srv->{port2}, '/server-status');
like $html, qr/TLS session tickets \(mod_tls_tickets\)/, 'the status page has a ticket section';
like $html, qr/\Q$file\E.*sealing key ${\ TkTest::fingerprint($k3)}/s, '... naming the file and its sealing key';
my @forms = map { my $h = unpack 'H*', $_; ($h, uc $h, MIME::Base64::encode_base64($_, ''), $_) }
            map { ($_->{hmac}, $_->{aes}) } $k1, $k2, $k3;
ok !grep({ index($html, $_) >= 0 } @forms), '... and no key byte';
TkTest::stop_server($srv);
