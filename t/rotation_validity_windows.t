# SPDX-License-Identifier: Apache-2.0
# Validity windows, on the main server's rotate.tk.test with a text key file: a key with a
# future not-before does not seal before its time and then seals with no file change; a key
# past its not-after no longer opens.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my $file = TkTest::key_file_path('rotate.key');
my $original = TkTest::read_file($file);

plan tests => 7;

sub connect_rotate { TkTest::connect_tls(port => $port, host => 'rotate.tk.test', @_) }
sub seals { TkTest::sealed_by(connect_rotate(version => TkTest::TLS12)->{ticket}, $_[0]) }

my $t0 = int(Time::HiRes::time()) + 1;
my $current = TkTest::new_key(48);
$current->{not_after} = $t0 + 6;
my $next = TkTest::new_key(80);
$next->{not_before} = $t0 + 4;
TkTest::write_key_file($file, 'text', $next, $current);
ok defined TkTest::wait_until(3, sub { seals($current) }),
    'the current key seals, though the future key comes first in the file';
my $for_renewal = connect_rotate(version => TkTest::TLS13);
my $for_expiry = connect_rotate(version => TkTest::TLS12);
ok TkTest::sealed_by($for_expiry->{ticket}, $current), 'a ticket sealed with the current key';

ok seals($current), 'before its not-before, the future key does not seal';
Time::HiRes::sleep($t0 + 4.3 - Time::HiRes::time());
ok seals($next), 'at its not-before, the next key seals, with no change to the file';
my $r = connect_rotate(version => TkTest::TLS13, session => $for_renewal->{session});
ok $r->{reused} && TkTest::sealed_by($r->{ticket}, $next),
    'a ticket of the previous key still resumes before its not-after, renewed under the next key';

Time::HiRes::sleep($t0 + 6.3 - Time::HiRes::time());
$r = connect_rotate(version => TkTest::TLS12, session => $for_expiry->{session});
ok !$r->{reused}, 'after its not-after, a ticket of the expired key gets a full handshake';
ok TkTest::sealed_by($r->{ticket}, $next), '... and a ticket of the next key';

TkTest::write_file($file, $original, 0600);
TkTest::wait_until(3, sub { seals((TkTest::read_key_file($file))[0]) });
