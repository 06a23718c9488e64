# SPDX-License-Identifier: Apache-2.0
# Live reload on the main test server (SSLTicketKeyReload live, SSLTicketKeyCheckInterval 1),
# vhost rotate.tk.test: a changed key file is in service in every child within two
# intervals with no restart; bad, empty, half-written and vanished files leave the keys in
# service, are reported once each, and the next valid file is taken.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use MIME::Base64 ();
use Time::HiRes ();
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my $file = TkTest::key_file_path('rotate.key');
my $log = TkTest::error_log();
my $original = TkTest::read_file($file);
my ($k1) = TkTest::read_key_file($file);
my ($k2, $k3) = (TkTest::new_key(80), TkTest::new_key(48));
my $interval = 1;

plan tests => 4 + 2 * 2 + 3 + 5 * 4 + 1 + 3 + 3 + 1;

sub connect_rotate { TkTest::connect_tls(port => $port, host => 'rotate.tk.test', @_) }

# Seconds until a fresh session's ticket is sealed with $key, or undef.
sub seals_within {
    my ($key, $seconds) = @_;
    return TkTest::wait_until($seconds, sub {
        TkTest::sealed_by(connect_rotate(version => TkTest::TLS12)->{ticket}, $key)
    });
}

my $parent = TkTest::server_pid();
my @children = TkTest::child_pids($parent);
my $generations = TkTest::generations();
my %old = map { $_ => connect_rotate(version => $_) } TkTest::TLS12, TkTest::TLS13;
ok TkTest::sealed_by($old{+TkTest::TLS12}{ticket}, $k1), 'before: K1 seals';

TkTest::write_key_file($file, 'text', $k2, $k1);
my $took = seals_within($k2, 2 * $interval + 0.5);
ok defined $took, sprintf 'after [K2, K1] is written, K2 seals within two intervals (%.2f s)', $took // -1;
ok !grep({ !kill 0, $_ } @children), 'no child was restarted (every child from before still runs)';
is TkTest::generations(), $generations, 'no restart of the server';

for my $v (TkTest::TLS12, TkTest::TLS13) {
    my $r = connect_rotate(version => $v, session => $old{$v}{session});
    ok $r->{reused}, "TLS $v: a K1 ticket resumes after the live change";
    ok TkTest::sealed_by($r->{ticket}, $k2), "TLS $v: ... renewed under K2";
}

# Every child has the new keys: many connections, spread over the children, all get K2.
my $all_k2 = 1;
for (1 .. 40) {
    my $r = connect_rotate(version => TkTest::TLS12);
    $all_k2 &&= TkTest::sealed_by($r->{ticket}, $k2);
}
ok $all_k2, '40 connections in a row all get K2 tickets';
ok TkTest::log_count($log, qr/SSLTicketKeyFile \Q$file\E changed: 2 key\(s\), sealing with key ${\ TkTest::fingerprint($k2)}; in service now/) >= 1,
    'the change is logged with the new sealing key fingerprint';
ok !grep({ !kill 0, $_ } @children), 'still the same children after 40 connections';

my $k2_line = MIME::Base64::encode_base64(TkTest::key_bytes($k2), '');
# Two keys on one line: the second one's base64 was quoted in the log as an attribute name.
my $second = MIME::Base64::encode_base64(TkTest::key_bytes(TkTest::new_key(80)), '');
my @bad = (
    ['random bytes', "\x00" . TkTest::random_bytes(49), '50 bytes is not a whole number of 48-byte keys, nor one 80-byte key'],
    ['an empty file', '', 'the file is empty'],
    ['a half-written file', substr($k2_line, 0, 30), 'line 1: 30 base64 characters is not a multiple of 4'],
    ['base64 garbage', "!!not base64!!\n", 'line 1: character 1 is not base64'],
    ['two keys on one line', "$k2_line $second\n",
     'line 1: unknown attribute after the key (a line holds one key, then only not-before=TIME and not-after=TIME)'],
);
for my $case (@bad) {
    my ($what, $data, $reason) = @$case;
    my $from = length TkTest::read_file($log);
    TkTest::write_file($file, $data, 0600);
    Time::HiRes::sleep(2.5 * $interval);
    my $count = TkTest::log_count($log, qr/SSLTicketKeyFile \Q$file\E changed but is refused: \Q$reason\E; the keys in service stay/, $from);
    is $count, 1, "$what is refused and reported once (not at every check)";
    ok TkTest::sealed_by(connect_rotate(version => TkTest::TLS13)->{ticket}, $k2), "... K2 still seals";
    my $r = connect_rotate(version => TkTest::TLS12, session => $old{+TkTest::TLS12}{session});
    ok $r->{reused}, '... a K1 ticket still resumes';
    is TkTest::generations(), $generations, '... and nothing restarted';
}

{
    my $text = TkTest::read_file($log);
    my @quoted = grep { index($text, substr($second, $_, 12)) >= 0 } 0 .. length($second) - 12;
    is scalar(@quoted), 0, 'the error log holds no part of the second key of a line';
}

{
    my $from = length TkTest::read_file($log);
    unlink $file;
    Time::HiRes::sleep(2.5 * $interval);
    is TkTest::log_count($log, qr/SSLTicketKeyFile \Q$file\E cannot be read: No such file or directory; the keys in service stay/, $from),
        1, 'a vanished file is reported once';
    ok TkTest::sealed_by(connect_rotate(version => TkTest::TLS12)->{ticket}, $k2), '... and K2 still seals';
    TkTest::write_key_file($file, 'raw', $k3);
    ok defined seals_within($k3, 2 * $interval + 0.5), 'the next valid file is taken: K3 seals';
}

my $r = connect_rotate(version => TkTest::TLS12, session => $old{+TkTest::TLS12}{session});
ok !$r->{reused} && TkTest::sealed_by($r->{ticket}, $k3), 'with K1 gone, a K1 ticket gets a full handshake and a K3 ticket';
ok !grep({ !kill 0, $_ } @children), 'every child that was there at the start still runs';
ok kill(0, $parent), 'the parent still runs';

TkTest::write_file($file, $original, 0600);
ok defined seals_within($k1, 2 * $interval + 0.5), 'the original key file is back in service';
