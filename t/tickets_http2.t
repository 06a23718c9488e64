# SPDX-License-Identifier: Apache-2.0
# The log variables TLS_TICKET_* are set for requests that arrive as HTTP/2 streams too:
# a stream is a connection of its own below the TLS connection (c->master), and the
# ticket's note lives on the TLS connection.  A minimal HTTP/2 client over Net::SSLeay
# (ALPN h2) offers a session that an HTTP/1.1 connection got; the access log of the h2
# request must say that the ticket resumed the session, with the key's fingerprint.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use IO::Socket::INET ();
use Net::SSLeay ();
use TkTest;

my $log_dir = TkTest::t_path('tmp', 'tickets-http2-log');
File::Path::remove_tree($log_dir);
File::Path::make_path($log_dir);
my $modules = TkTest::apxs_query('LIBEXECDIR');

# One HTTP/2 GET / on a new TLS connection offering the session $der; returns
# (reused, the first bytes the server sent after the request).
sub h2_get {
    my ($port, $host, $version, $der) = @_;
    my $ctx = Net::SSLeay::CTX_new_with_method(Net::SSLeay::TLS_client_method()) or die;
    Net::SSLeay::CTX_set_min_proto_version($ctx, $version);
    Net::SSLeay::CTX_set_max_proto_version($ctx, $version);
    Net::SSLeay::CTX_set_alpn_protos($ctx, ['h2']) == 0 or die 'alpn';
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10)
        or die "connect: $!";
    my $ssl = Net::SSLeay::new($ctx);
    Net::SSLeay::set_fd($ssl, fileno($sock));
    Net::SSLeay::set_tlsext_host_name($ssl, $host);
    my $offered = Net::SSLeay::d2i_SSL_SESSION($der) or die 'd2i';
    Net::SSLeay::set_session($ssl, $offered);
    Net::SSLeay::connect($ssl) == 1 or die 'handshake failed';
    my $reused = Net::SSLeay::session_reused($ssl) ? 1 : 0;
    my $alpn = Net::SSLeay::P_alpn_selected($ssl) // '';
    # The preface, an empty SETTINGS frame, and HEADERS (END_STREAM | END_HEADERS) on
    # stream 1: :method GET, :scheme https, :path / from HPACK's static table, and
    # :authority as a literal with the static table's name 1.
    my $block = "\x82\x87\x84\x41" . chr(length $host) . $host;
    my $frames = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . "\0\0\0\x04\0\0\0\0\0"
        . substr(pack('N', length $block), 1) . "\x01\x05" . pack('N', 1) . $block;
    Net::SSLeay::write($ssl, $frames);
    my $got = '';
    # Read until the server's HEADERS frame for stream 1 (type 1) has come.
    while (length($got) < 4096) {
        my $chunk = Net::SSLeay::read($ssl);
        last if !defined $chunk || $chunk eq '';
        $got .= $chunk;
        my ($pos, $done) = (0, 0);
        while ($pos + 9 <= length $got) {
            my $len = unpack 'N', "\0" . substr($got, $pos, 3);
            my $type = ord substr($got, $pos + 3, 1);
            my $stream = unpack('N', substr($got, $pos + 5, 4)) & 0x7fffffff;
            $done = 1 if $type == 1 && $stream == 1;
            $pos += 9 + $len;
        }
        last if $done;
    }
    Net::SSLeay::shutdown($ssl);
    Net::SSLeay::SESSION_free($offered);
    Net::SSLeay::free($ssl);
    Net::SSLeay::CTX_free($ctx);
    close $sock;
    return ($reused, $alpn);
}

my $key = TkTest::new_key(48);
my ($srv) = TkTest::start_keyed_server('tickets-http2', keys => [$key], reload => 'off',
    global => <<"EOF");
LoadModule http2_module $modules/mod_http2.so
Protocols h2 http/1.1
LogFormat "%H %{TLS_TICKET_RESUMED}e %{TLS_TICKET_KEY}e %{TLS_TICKET_RENEWED}e" tickets
CustomLog $log_dir/access_log tickets
EOF

my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);
plan tests => @versions * 4;

my $fp = TkTest::fingerprint($key);
for my $v (@versions) {
    my ($version, $vname) = @$v;
    my $first = TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test',
                                    version => $version);
    ok $first->{session}, "$vname: an HTTP/1.1 connection gets a session";
    my $logged = -s "$log_dir/access_log" // 0;
    my ($reused, $alpn) = h2_get($srv->{port}, 'alpha.tk.test', $version, $first->{session});
    is $alpn, 'h2', "$vname: the second connection speaks HTTP/2";
    ok $reused, "$vname: ... and resumes the session from its ticket";
    my $log = '';
    TkTest::wait_until(5, sub {
        ($log = substr(TkTest::read_file("$log_dir/access_log"), $logged)) =~ /^HTTP\/2/m });
    like $log, qr/^HTTP\/2\.0 1 $fp 0$/m,
        "$vname: the HTTP/2 request's log line: TLS_TICKET_RESUMED 1, the key's fingerprint, not renewed"
        or diag $log;
}
TkTest::stop_server($srv);
