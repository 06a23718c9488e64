# SPDX-License-Identifier: Apache-2.0
# Helpers of the Host-routing tests (t/sni_host_*.t): raw HTTP/1.x requests on keep-alive
# connections, so that a test sends thousands of them quickly and sees the bytes it means.
package HostRoute;

use strict;
use warnings FATAL => 'all';

use IO::Socket::INET;
use IO::Select;

# Reads one response from a socket whose unread bytes are in $$buf; returns
# { status, headers (lower-case names), body, close } or undef when the server closed.
sub read_response {
    my ($sock, $buf) = @_;
    my $sel = IO::Select->new($sock);
    my $fill = sub {
        return 0 unless $sel->can_read(10);
        my $n = sysread($sock, $$buf, 65536, length $$buf);
        return $n ? 1 : 0;
    };
    while ($$buf !~ /\r\n\r\n/) {
        $fill->() or return undef;
    }
    $$buf =~ s/\A(.*?)\r\n\r\n//s;
    my ($status_line, @lines) = split /\r\n/, $1;
    my ($proto, $status) = $status_line =~ m{^(HTTP/\d\.\d) (\d{3})} or return undef;
    my %h;
    for (@lines) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    my $body = '';
    if (defined $h{'content-length'}) {
        while (length $$buf < $h{'content-length'}) {
            $fill->() or last;
        }
        $body = substr($$buf, 0, $h{'content-length'}, '');
    } else {
        1 while $fill->();
        ($body, $$buf) = ($$buf, '');
    }
    my $close = ($h{connection} // '') =~ /close/i
        || ($proto eq 'HTTP/1.0' && ($h{connection} // '') !~ /keep-alive/i)
        || !defined $h{'content-length'};
    return { status => $status, headers => \%h, body => $body, close => $close };
}

# Sends each request of @$reqs (raw request heads, "\r\n\r\n" included) in turn on
# keep-alive connections to 127.0.0.1:$port, opening a new one whenever the server closed
# the last; returns a list of responses (undef where none came).
sub exchange {
    my ($port, $reqs) = @_;
    my ($sock, $buf, @out);
    for my $req (@$reqs) {
        my $resp;
        for my $try (1 .. 2) {
            if (!$sock) {
                $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                              Timeout => 10) or die "connect $port: $!";
                $buf = '';
            }
            my $sent = syswrite($sock, $req);
            $resp = defined $sent ? read_response($sock, \$buf) : undef;
            last if $resp || $try == 2 || $buf ne '';
            undef $sock; # the server closed a connection it kept before: once more
        }
        push @out, $resp;
        undef $sock if !$resp || $resp->{close};
    }
    return @out;
}

# One GET: its head, for exchange().
sub get {
    my (%o) = @_;
    my $version = $o{version} // '1.1';
    my $head = "GET " . ($o{uri} // '/') . " HTTP/$version\r\n";
    $head .= "Host: $o{host}\r\n" if defined $o{host};
    $head .= "Connection: keep-alive\r\n" if $version eq '1.0';
    $head .= $o{extra} // '';
    return "$head\r\n";
}

1;
