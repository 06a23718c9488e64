# SPDX-License-Identifier: Apache-2.0
# A ticket resumes only on the vhost that sealed it, even where two vhosts share their
# keys and their session-id context: the same ServerName on two ports, each requiring a
# client certificate of another CA (the pattern of CVE-2025-23048).  A client trusted on
# the first must not reach the second by offering the first's session.  With automatic
# keys and with one server-wide key file; the refusal is counted (TLSTicketsOtherVhost).
# A farm still resumes everywhere: two servers with the same configuration and key file
# open each other's tickets.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use TkTest;

my $ca = TkTest::t_path('conf/ssl/ca/asf');
my $client_cert = "$ca/proxy/client_ok.pem"; # issued by Apache::Test's CA ("CA A")
my $dir = TkTest::t_path('tmp', 'isolation-files');
File::Path::remove_tree($dir);
File::Path::make_path($dir);

# "CA B": a CA of its own, which issued nothing the client holds.
my $ca_b = "$dir/ca-b.crt";
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/ca-b.key -out $ca_b "
       . "-subj '/CN=Isolation CA B' -days 2 >/dev/null 2>&1") == 0 or die "openssl req";

my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);

sub www_vhost {
    my ($port, $ca_file) = @_;
    my $htdocs = TkTest::vhost_htdocs('www');
    return <<"EOF";
<VirtualHost 127.0.0.1:$port>
    ServerName www.example.com
    SSLEngine on
    SSLCertificateFile $ca/certs/tk_server.crt
    SSLCertificateKeyFile $ca/keys/tk_server.pem
    SSLVerifyClient require
    SSLCACertificateFile $ca_file
    DocumentRoot $htdocs
</VirtualHost>
EOF
}

my $key_file = "$dir/server.key";
TkTest::write_key_file($key_file, 'raw', TkTest::new_key(48), TkTest::new_key(48));
my @layouts = (['automatic keys', ''], ['one server-wide key file', "SSLTicketKeyFile $key_file\n"]);

plan tests => @layouts * (@versions * 9 + 1) + @versions * 3;

for my $layout (@layouts) {
    my ($what, $global) = @$layout;
    my $port_b = TkTest::free_port();
    my $srv = TkTest::start_server('isolation', $global . TkTest::status_vhost()
        . www_vhost('@PORT@', "$ca/certs/ca.crt") . "Listen 127.0.0.1:$port_b\n"
        . www_vhost($port_b, $ca_b) . "LogLevel info tls_tickets:trace1\n");
    for my $v (@versions) {
        my ($version, $vname) = @$v;
        my $t = "$what, $vname";

        my $first = TkTest::connect_tls(port => $srv->{port}, host => 'www.example.com',
                                        version => $version, client_cert => $client_cert);
        is $first->{status}, 200, "$t: port A serves a client with a certificate of CA A"
            or diag $first->{error};
        ok $first->{ticket} || $version == TkTest::TLS13 && $first->{session},
            "$t: ... and gives it a session to resume";
        my $direct = TkTest::connect_tls(port => $port_b, host => 'www.example.com',
                                         version => $version, client_cert => $client_cert);
        ok !$direct->{ok}, "$t: port B refuses the same certificate in a full handshake";

        my $before = TkTest::status_auto($srv->{port2});
        my $cross = TkTest::connect_tls(port => $port_b, host => 'www.example.com',
                                        version => $version, session => $first->{session});
        ok !$cross->{ok}, "$t: port A's session offered to port B, without a certificate: refused";
        isnt $cross->{status} // 0, 200, "$t: ... and nothing is served";
        my $after = TkTest::status_auto($srv->{port2});
        is $after->{TLSTicketsOtherVhost} - $before->{TLSTicketsOtherVhost}, 1,
            "$t: ... counted once as a ticket of another vhost";
        is $after->{TLSTicketsResumed} - $before->{TLSTicketsResumed}, 0,
            "$t: ... and not as resumed";

        my $back = TkTest::connect_tls(port => $srv->{port}, host => 'www.example.com',
                                       version => $version, session => $first->{session});
        ok $back->{reused}, "$t: the session still resumes on port A";
        is $back->{status}, 200, "$t: ... and is served there";
    }
    like TkTest::read_file($srv->{error_log}),
        qr/a ticket \(key [0-9a-f]{8}\) of another vhost than www\.example\.com:0 \(\S+:\d+\) is refused/,
        "$what: the refusal is logged at debug, by key fingerprint, naming the vhost";
    TkTest::stop_server($srv);
}

# A farm: two servers with the same configuration (the vhost on *:port, which each server
# binds on its own address) and the same key file.  A ticket of one resumes on the other.
my $farm_port = TkTest::free_port();
my $farm_key = "$dir/farm.key";
TkTest::write_key_file($farm_key, 'text', TkTest::new_key(80));
my @farm;
for my $addr (qw(127.0.0.2 127.0.0.3)) {
    my $htdocs = TkTest::vhost_htdocs('www');
    push @farm, TkTest::start_server("farm-$addr", <<"EOF");
SSLTicketKeyFile $farm_key
Listen $addr:$farm_port
<VirtualHost *:$farm_port>
    ServerName www.example.com
    SSLEngine on
    SSLCertificateFile $ca/certs/tk_server.crt
    SSLCertificateKeyFile $ca/keys/tk_server.pem
    DocumentRoot $htdocs
</VirtualHost>
EOF
}
for my $v (@versions) {
    my ($version, $vname) = @$v;
    my $one = TkTest::connect_tls(addr => '127.0.0.2', port => $farm_port,
                                  host => 'www.example.com', version => $version);
    is $one->{status}, 200, "farm, $vname: the first server serves" or diag $one->{error};
    my $two = TkTest::connect_tls(addr => '127.0.0.3', port => $farm_port,
                                  host => 'www.example.com', version => $version,
                                  session => $one->{session});
    ok $two->{reused}, "farm, $vname: the second server resumes the first one's session";
    is $two->{status}, 200, "farm, $vname: ... and serves it";
}
TkTest::stop_server($_) for @farm;
