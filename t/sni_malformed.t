# SPDX-License-Identifier: Apache-2.0
# Malformed ClientHellos, built byte by byte, against a server with both modules and
# `SNIVhostUnknown reject`: odd server_name extensions (empty name, 305-byte name, NUL
# inside, non-ASCII, two names, two extensions, inner lengths that lie), truncated records
# and garbage each get an alert or a close, never a ServerHello; no child crashes; a normal
# client is served afterwards.  A well-formed hello built the same way gets a ServerHello,
# which shows the builder makes what a client sends.
#
# Which alert: an extension that does not parse (RFC 6066's lengths, an empty list or name,
# more than the one host_name entry OpenSSL takes) gets decode_error (50) whatever the
# policy, as RFC 8446 section 6.2 asks and as OpenSSL itself answers once the module's
# callback lets the hello through; only a well-formed name that no vhost serves gets
# unrecognized_name (112) under reject.  The same hellos go to a server with
# `SNIVhostUnknown default` and to one with mod_ssl alone: default must answer each exactly
# as mod_ssl alone does.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Select ();
use IO::Socket::INET ();
use TkTest;

my $vhost = TkTest::ssl_vhost('a.sni.test',
    'SSLTicketKeyFile ' . TkTest::key_file_path('server.key'), 'sni_a_server');
my $srv = TkTest::start_server('sni-malformed', "SNIVhostUnknown reject\n" . $vhost);
my $srv_default = TkTest::start_server('sni-malformed-default', "SNIVhostUnknown default\n" . $vhost);
my $srv_mod_ssl = TkTest::start_server('sni-malformed-mod-ssl', $vhost, sni => 0);

sub u8  { pack 'C', shift }
sub u16 { pack 'n', shift }
sub u24 { substr pack('N', shift), 1 }
sub vec16 { u16(length $_[0]) . $_[0] }

sub ext { my ($type, $data) = @_; u16($type) . vec16($data) }
sub host_name { u8(0) . vec16(shift) }
sub server_name { ext(0, vec16(join '', map { host_name($_) } @_)) }

# A ClientHello offering TLS 1.3 and 1.2, x25519, common ciphers, with the given
# server_name part (any bytes, possibly several extensions or none).
sub client_hello {
    my $sni = shift;
    my $exts = $sni
        . ext(0x000a, vec16(u16(0x001d) . u16(0x0017)))                       # groups
        . ext(0x000b, u8(1) . u8(0))                                          # point formats
        . ext(0x000d, vec16(join '', map { u16($_) } 0x0804, 0x0401, 0x0403)) # signatures
        . ext(0x002b, u8(4) . u16(0x0304) . u16(0x0303))                      # versions
        . ext(0x0033, vec16(u16(0x001d) . vec16(TkTest::random_bytes(32))));  # key share
    my $body = u16(0x0303) . TkTest::random_bytes(32) . u8(32) . TkTest::random_bytes(32)
        . vec16(join '', map { u16($_) } 0x1301, 0x1302, 0xc02f, 0xc030)
        . u8(1) . u8(0) . vec16($exts);
    my $handshake = u8(1) . u24(length $body) . $body;
    return u8(0x16) . u16(0x0301) . vec16($handshake);
}

# Sends bytes, closes the sending side, and says what came back: "ServerHello",
# "alert NNN", "close" or "other".
sub answer {
    my ($bytes, $to) = @_;
    $to //= $srv;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $to->{port},
                                     Timeout => 10) or die "connect: $!";
    print $sock $bytes;
    shutdown $sock, 1;
    my $got = '';
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(10)) {
        my $n = sysread $sock, my $buf, 4096;
        last unless $n;
        $got .= $buf;
    }
    close $sock;
    return 'close' if $got eq '';
    return 'ServerHello' if $got =~ /^\x16\x03[\x01-\x03]..\x02/s;
    return 'alert ' . ord(substr $got, 6, 1) if $got =~ /^\x15\x03[\x01-\x03]\x00\x02/;
    return 'other';
}

my $good = host_name('a.sni.test');
my ($decode_error, $unrecognized_name, $illegal_parameter) = ('alert 50', 'alert 112', 'alert 47');
# [what, server_name part, answer under reject, answer under default (and mod_ssl alone)]
my @cases = (
    ['an empty extension',       ext(0, ''),                       $decode_error, $decode_error],
    ['an empty name list',       ext(0, vec16('')),                $decode_error, $decode_error],
    ['an empty name',            server_name(''),                  $decode_error, 'ServerHello'],
    ['a list length that lies',  ext(0, u16(200) . $good),         $decode_error, $decode_error],
    ['an overall length of ff ff', ext(0, "\xff" x 4),             $decode_error, $decode_error],
    ['trailing data after the list', ext(0, vec16($good) . 'x'),   $decode_error, $decode_error],
    ['trailing data after the name entry', ext(0, vec16($good . 'x')), $decode_error, $decode_error],
    ['a second, cut entry',      ext(0, vec16($good . u8(0) . u8(0))), $decode_error, $decode_error],
    ['a name length that lies',  ext(0, vec16(u8(0) . u16(200) . 'a.sni.test'))],
    ['two names in one extension', server_name('a.sni.test', 'b.sni.test')],
    ['a name type that is not host_name', ext(0, vec16(u8(1) . vec16('a.sni.test')))],
    ['host_name, then another type', ext(0, vec16($good . u8(1) . vec16('x')))],
    ['another type, then host_name', ext(0, vec16(u8(1) . vec16('x') . $good))],
    ['a 305-byte name',          server_name(join '', ('a' x 60 . '.') x 5),
     $unrecognized_name, $unrecognized_name],
    ['a NUL inside the name',    server_name("a\0b.sni.test"),     $unrecognized_name, $unrecognized_name],
    ['a non-ASCII name',         server_name("b\xc3\xbccher.sni.test"), $unrecognized_name, 'ServerHello'],
    ['an unknown name',          server_name('nope.sni.test'),     $unrecognized_name, 'ServerHello'],
    # OpenSSL refuses these before any callback: the module plays no part.
    ['two server_name extensions', server_name('a.sni.test') . server_name('a.sni.test'),
     $illegal_parameter, $illegal_parameter],
    ['an extension length that lies', u16(0) . u16(60) . vec16($good), $decode_error, $decode_error],
);
$_->[2] //= $decode_error, $_->[3] //= $decode_error for @cases;
my @raw = (
    ['a record cut short',       substr(client_hello(server_name('a.sni.test')), 0, 100)],
    ['a record header alone',    "\x16\x03\x01\x01\x00"],
    ['a handshake length that lies', do { my $h = client_hello(server_name('a.sni.test'));
                                          substr($h, 6, 3) = u24(0xffff); $h }],
    ['random garbage',           TkTest::random_bytes(517)],
    ['garbage after a TLS record header', "\x16\x03\x03\x00\x40" . TkTest::random_bytes(64)],
);

plan tests => 1 + 3 * @cases + @raw + 4;

is answer(client_hello(server_name('a.sni.test'))), 'ServerHello',
    'control: the same builder with a good name gets a ServerHello';
for my $case (@cases) {
    my ($what, $sni, $reject, $default) = @$case;
    my $hello = client_hello($sni);
    is answer($hello), $reject, "reject: $what: $reject";
    is answer($hello, $srv_default), $default, "default: $what: $default";
    is answer($hello, $srv_mod_ssl), $default, "mod_ssl alone: $what: $default";
}
for my $case (@raw) {
    my $got = answer($case->[1]);
    like $got, qr/^(alert \d+|close)$/, "$case->[0]: $got";
}

my $r = TkTest::connect_tls(port => $srv->{port}, host => 'a.sni.test');
is $r->{body}, "a\n", 'afterwards a normal client is served';
my $log = TkTest::read_file($srv->{error_log});
unlike join('', map { TkTest::read_file($_->{error_log}) } $srv, $srv_default, $srv_mod_ssl),
    qr/exit signal|Segmentation|AddressSanitizer|runtime error:/, 'no child of any server crashed';
like $log, qr/refused TLS server name "nope\.sni\.test"/, 'the refusal of the unknown name is logged';
like $log, qr/refused a TLS handshake with a malformed server_name extension/,
    'the refusal of a malformed extension is logged';
TkTest::stop_server($_) for $srv, $srv_default, $srv_mod_ssl;
