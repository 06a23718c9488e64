# SPDX-License-Identifier: Apache-2.0
# A TLS client that keeps its sessions (Net::SSLeay), the ticket inside a session (DER),
# and openssl s_client.
package TkTest::Client;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Digest::SHA ();
use File::Path ();
use IO::Socket::INET ();
use MIME::Base64 ();
use Net::SSLeay ();
use Socket ();
use Time::HiRes ();

use TkTest::Paths;
use TkTest::Keys;

our @EXPORT = qw(
    ca_file connect_tls peer_cn ticket_of_session der_read sealed_by session_pem
    s_client TLS12 TLS13
);

use constant { TLS12 => 0x0303, TLS13 => 0x0304 };

Net::SSLeay::initialize();

sub ca_file { t_path('conf/ssl/ca/asf/certs/ca.crt') }

# One connection: TLS handshake with SNI `host` (none when undef), GET `path` with Host
# `host_header` (default `host`), close.  The server certificate must chain to `ca` (the
# test CA), and name `host` if `verify_name`; `client_cert` names a PEM file holding a
# client certificate and its key; `addr` is the server's (127.0.0.1 by default).
# Returns { ok, error, reused, version, status, body, cn (of the server certificate),
# session (DER, the newest the client holds after reading the response), ticket }.
sub connect_tls {
    my %o = @_;
    my $version = $o{version} || TLS12;
    my $r = { ok => 0, error => '' };
    my $ctx = Net::SSLeay::CTX_new_with_method(Net::SSLeay::TLS_client_method())
        or die "CTX_new";
    Net::SSLeay::CTX_set_min_proto_version($ctx, $version);
    Net::SSLeay::CTX_set_max_proto_version($ctx, $version);
    Net::SSLeay::CTX_load_verify_locations($ctx, $o{ca} || ca_file(), '');
    Net::SSLeay::CTX_set_verify($ctx, Net::SSLeay::VERIFY_PEER(), undef);
    if ($o{client_cert}) {
        Net::SSLeay::CTX_use_certificate_chain_file($ctx, $o{client_cert}) or die "client cert";
        Net::SSLeay::CTX_use_PrivateKey_file($ctx, $o{client_cert}, Net::SSLeay::FILETYPE_PEM())
            or die "client key";
    }
    my $sock = IO::Socket::INET->new(PeerAddr => $o{addr} // '127.0.0.1', PeerPort => $o{port},
                                     Timeout => 10)
        or do { $r->{error} = "connect: $!"; Net::SSLeay::CTX_free($ctx); return $r };
    # Without it, Nagle's algorithm holds the request back behind the client's last
    # handshake message until the server's delayed ACK: some 40 ms per TLS 1.2 resumption.
    setsockopt($sock, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);
    my $ssl = Net::SSLeay::new($ctx);
    Net::SSLeay::set_fd($ssl, fileno($sock));
    Net::SSLeay::set_tlsext_host_name($ssl, $o{host}) if defined $o{host};
    # The certificate must also name the host (not only chain to the CA).
    Net::SSLeay::X509_VERIFY_PARAM_set1_host(Net::SSLeay::get0_param($ssl), $o{host})
        if defined $o{host} && $o{verify_name};
    my $offered;
    if ($o{session}) {
        my $der = $o{session};
        $offered = Net::SSLeay::d2i_SSL_SESSION($der) or die "d2i_SSL_SESSION";
        Net::SSLeay::set_session($ssl, $offered);
    }
    my $connected = Net::SSLeay::connect($ssl) == 1;
    $r->{cn} = peer_cn($ssl);
    if ($connected) {
        $r->{reused} = Net::SSLeay::session_reused($ssl) ? 1 : 0;
        $r->{version} = Net::SSLeay::get_version($ssl);
        my $host = $o{host_header} // $o{host} // 'localhost';
        my $path = $o{path} || '/index.html';
        Net::SSLeay::write($ssl, "GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
        my $resp = '';
        while (defined(my $chunk = Net::SSLeay::read($ssl))) {
            last if $chunk eq '';
            $resp .= $chunk;
        }
        ($r->{status}) = $resp =~ m{^HTTP/1\.\d (\d+)};
        (undef, $r->{body}) = split /\r\n\r\n/, $resp, 2;
        my $sess = Net::SSLeay::get1_session($ssl);
        if ($sess) {
            $r->{session} = Net::SSLeay::i2d_SSL_SESSION($sess);
            $r->{ticket} = ticket_of_session($r->{session});
            Net::SSLeay::SESSION_free($sess);
        }
        $r->{ok} = defined $r->{status};
        # A session freed without close_notify is marked not resumable by OpenSSL.
        Net::SSLeay::shutdown($ssl);
    } else {
        $r->{error} = Net::SSLeay::ERR_error_string(Net::SSLeay::ERR_get_error()) || 'handshake failed';
    }
    $r->{error} ||= 'no response' unless $r->{ok};
    Net::SSLeay::SESSION_free($offered) if $offered;
    Net::SSLeay::free($ssl);
    Net::SSLeay::CTX_free($ctx);
    close $sock;
    return $r;
}

# The common name of the certificate the server sent, or undef when it sent none.
sub peer_cn {
    my $ssl = shift;
    my $cert = Net::SSLeay::get_peer_certificate($ssl) or return undef;
    my $cn = Net::SSLeay::X509_NAME_get_text_by_NID(
        Net::SSLeay::X509_get_subject_name($cert), Net::SSLeay::NID_commonName());
    Net::SSLeay::X509_free($cert);
    return $cn;
}

# The ticket inside a DER SSL_SESSION: the OCTET STRING of the element tagged [10].
sub ticket_of_session {
    my $der = shift;
    my ($tag, $body) = der_read(\$der);
    return '' unless $tag == 0x30;
    while (length $body) {
        my ($t, $v) = der_read(\$body);
        if ($t == 0xaa) {
            my ($it, $iv) = der_read(\$v);
            return $it == 0x04 ? $iv : '';
        }
    }
    return '';
}

sub der_read {
    my $ref = shift;
    my ($tag, $len) = unpack 'CC', $$ref;
    my $off = 2;
    if ($len & 0x80) {
        my $n = $len & 0x7f;
        $len = 0;
        $len = ($len << 8) | ord(substr($$ref, $off++, 1)) for 1 .. $n;
    }
    my $value = substr($$ref, $off, $len);
    substr($$ref, 0, $off + $len) = '';
    return ($tag, $value);
}

# Whether OpenSSL's ticket layout name(16)|IV(16)|ciphertext|HMAC-SHA256(32) carries the
# key's name and an HMAC made with the key's HMAC bytes.
sub sealed_by {
    my ($ticket, $key) = @_;
    return 0 unless defined $ticket && length($ticket) > 16 + 16 + 32;
    return 0 unless substr($ticket, 0, 16) eq $key->{name};
    my $mac = Digest::SHA::hmac_sha256(substr($ticket, 0, -32), $key->{hmac});
    return $mac eq substr($ticket, -32);
}

# The session as PEM, for openssl s_client -sess_in.
sub session_pem {
    my $der = shift;
    my $b64 = MIME::Base64::encode_base64($der);
    return "-----BEGIN SSL SESSION PARAMETERS-----\n$b64-----END SSL SESSION PARAMETERS-----\n";
}

# One connection with `openssl s_client`, with SNI `host` (none when undef), offering the
# session `session` (DER) if given, with more arguments `args` (an array).  Returns
# { reused, offered (the ClientHello carried a ticket or a TLS 1.3 PSK), sent and received
# (the names of the handshake messages each side sent), alert (the fatal alert the
# server sent, e.g. "unrecognized name(112)"), cn (of its certificate), body, session
# (DER) }.
sub s_client {
    my %o = @_;
    my $dir = t_path('tmp');
    File::Path::make_path($dir);
    my ($in, $req, $out) = map { "$dir/s_client-$$.$_" } qw(in req out);
    my $host = $o{host_header} // $o{host} // 'localhost';
    write_file($req, "GET /index.html HTTP/1.0\r\nHost: $host\r\n\r\n", 0600);
    my @args = ('-connect', "127.0.0.1:$o{port}",
                defined $o{host} ? ('-servername', $o{host}) : ('-noservername'),
                "-$o{version}", '-CAfile', ca_file(), '-sess_out', $out, '-ign_eof', '-trace',
                @{ $o{args} || [] });
    if ($o{session}) {
        write_file($in, session_pem($o{session}), 0600);
        push @args, '-sess_in', $in;
    }
    unlink $out;
    my $cmd = join ' ', 'openssl s_client', map { "'$_'" } @args;
    my $output = `$cmd < $req 2>&1`;
    my $r = { output => $output };
    $r->{reused} = $output =~ /^Reused, /m ? 1 : 0;
    $r->{offered} = ($output =~ /extension_type=session_ticket\(35\), length=[1-9]/
                     || $output =~ /extension_type=psk\(41\)/) ? 1 : 0;
    ($r->{body}) = $output =~ /\r\n\r\n(.*?)(?:closed|DONE|$)/s;
    ($r->{cn}) = $output =~ /^subject=.*?CN = ([^,\n]+)/m;
    my ($from_server, @sent, @received) = (0);
    for my $line (split /\n/, $output) {
        $from_server = 1 if $line =~ /^Received Record/;
        $from_server = 0 if $line =~ /^Sent Record/;
        push @{ $from_server ? \@received : \@sent }, $1 if $line =~ /^\s+(\w+), Length=\d+/;
        $r->{alert} = $1 if $from_server && $line =~ /Level=fatal\(2\), description=(.+)$/;
    }
    $r->{sent} = \@sent;
    $r->{received} = \@received;
    if (-s $out) {
        $r->{session} = `openssl sess_id -in '$out' -outform DER 2>/dev/null`;
        $r->{ticket} = ticket_of_session($r->{session});
    }
    unlink $in, $req, $out;
    return $r;
}

1;
