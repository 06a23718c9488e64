# SPDX-License-Identifier: Apache-2.0
# Connections that never finish a handshake: mod_ssl frees its SSL on a failed handshake
# and on plain HTTP sent to the TLS port, and the module must not touch it afterwards.
# Plain HTTP still gets mod_ssl's 400, a ClientHello cut short or garbage just closes,
# and the server goes on serving every vhost, with no child crashing.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Socket::INET ();
use TkTest;

my $port = Apache::Test::vars('sni_ssl_port');

sub raw_exchange {
    my $bytes = shift;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10)
        or die "connect: $!";
    print $sock $bytes;
    shutdown $sock, 1;
    local $/;
    my $answer = <$sock> // '';
    close $sock;
    return $answer;
}

plan tests => 4 + 3 + 1;

like raw_exchange("GET / HTTP/1.1\r\nHost: a.sni.test\r\nConnection: close\r\n\r\n"),
    qr{^HTTP/1\.1 400 .*plain HTTP}s, 'plain HTTP on the TLS port: mod_ssl\'s 400';
# a TLS record header announcing a ClientHello of 200 bytes, and only 10 of them
is raw_exchange("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" . ('x' x 10)), '',
    'a ClientHello cut short: the connection closes';
is raw_exchange(join '', map { chr(($_ * 37) % 256) } 1 .. 500), '',
    'garbage: the connection closes';
is raw_exchange(''), '', 'nothing at all: the connection closes';

for my $host (qw(a.sni.test b-alt.sni.test x.wild.sni.test)) {
    my $r = TkTest::connect_tls(port => $port, host => $host, version => TkTest::TLS13);
    like $r->{body} // '', qr/^sni-/, "afterwards, $host is served" or diag($r->{error});
}
unlike TkTest::read_file(TkTest::error_log()), qr/exit signal/,
    'no child of the test server died of a signal';
