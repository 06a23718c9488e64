# SPDX-License-Identifier: Apache-2.0
# SNIVhostUnknown and SNIVhostMissing: with "reject", a ClientHello whose server name no
# vhost of the address serves (an IP address and a malformed name are unknown names), or
# that has none, gets a fatal unrecognized_name(112) alert before any certificate; the
# refusal is logged at info with the name made printable and cut.  Each policy works
# alone, per address (set in the address's first vhost), and known names are served as
# usual.  Extra servers, so that the main one keeps the default policies.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my @versions = ([TkTest::TLS12, 'TLSv1.2', 'tls1_2'], [TkTest::TLS13, 'TLSv1.3', 'tls1_3']);

sub vhosts {
    my ($first_extra, $port) = @_;
    my $conf = TkTest::ssl_vhost('a.sni.test', $first_extra, 'sni_a_server')
             . TkTest::ssl_vhost('b.sni.test', '', 'sni_b_server');
    $conf =~ s/\@PORT\@/$port/g if defined $port;
    return $conf;
}

# The client sees an unrecognized_name alert and no certificate, nor even a ServerHello.
sub refused_ok {
    my ($port, $host, $what) = @_;
    my $name = defined $host ? "'$host'" : 'no server name';
    for my $v (@versions) {
        my ($version, $vname, $s_client_version) = @$v;
        my $trace = TkTest::s_client(port => $port, host => $host, version => $s_client_version);
        is $trace->{alert}, 'unrecognized name(112)', "$vname $name ($what): unrecognized_name alert";
        is_deeply $trace->{received}, [], "$vname $name: no ServerHello, no certificate"
            or diag(join ' ', @{ $trace->{received} });
        my $r = TkTest::connect_tls(port => $port, host => $host, version => $version);
        like $r->{error}, qr/unrecognized name/, "$vname $name: Net::SSLeay sees the alert";
        ok !defined $r->{cn}, "$vname $name: Net::SSLeay got no certificate";
    }
}

sub served_ok {
    my ($port, $host, $label, $what) = @_;
    my $name = defined $host ? "'$host'" : 'no server name';
    for my $v (@versions) {
        my ($version, $vname) = @$v;
        my $r = TkTest::connect_tls(port => $port, host => $host, version => $version,
                                    host_header => "$label.sni.test");
        is $r->{cn}, "$label.sni.test", "$vname $name ($what): certificate of $label"
            or diag($r->{error});
        is $r->{body}, "$label\n", "$vname $name: served by $label";
    }
}

plan tests => 5 * 8 + 2 * 4 + 5
            + (4 + 8) + (4 + 8)
            + (8 + 4 + 4 + 1);

{
    my $srv = TkTest::start_server('sni-reject',
        "SNIVhostUnknown reject\nSNIVhostMissing reject\n" . vhosts());
    my $port = $srv->{port};
    refused_ok($port, 'nope.sni.test', 'an unknown name');
    refused_ok($port, undef, 'SNIVhostMissing reject');
    refused_ok($port, '127.0.0.1', 'an IP address');
    refused_ok($port, 'bad_name.sni.test', 'a malformed name');
    refused_ok($port, 'a.sni.test..', 'two trailing dots');
    served_ok($port, 'A.SNI.test.', 'a', 'a known name, in capitals with a trailing dot');
    served_ok($port, 'b.sni.test', 'b', 'another known name');
    my $weird = "evil\x01\"name" . ('n' x 150);
    TkTest::connect_tls(port => $port, host => $weird, version => TkTest::TLS12);
    TkTest::stop_server($srv);

    my $log = TkTest::read_file($srv->{error_log});
    like $log, qr/\[sni_vhost:info\] .*\[client 127\.0\.0\.1:\d+\] refused TLS server name "nope\.sni\.test": a name that no vhost of this address serves \(SNIVhostUnknown reject\)/,
        'the refusal of an unknown name is logged at info, with the client';
    like $log, qr/\[sni_vhost:info\] .*refused a TLS handshake without a server name \(SNIVhostMissing reject\)/,
        'the refusal of a handshake without a name is logged';
    like $log, qr/refused TLS server name "127\.0\.0\.1": an IP address that no vhost/,
        'an IP address is logged as such';
    like $log, qr/refused TLS server name "evil%01%22namen{82}\.\.\."/,
        'a name is logged printable and cut';
    unlike $log, qr/evil\x01/, '... never with its raw bytes';
}

{
    my $srv = TkTest::start_server('sni-missing-only', "SNIVhostMissing reject\n" . vhosts());
    served_ok($srv->{port}, 'nope.sni.test', 'a', 'SNIVhostMissing alone: an unknown name gets the default vhost');
    refused_ok($srv->{port}, undef, 'SNIVhostMissing alone');
    TkTest::stop_server($srv);
}

{
    my $srv = TkTest::start_server('sni-unknown-only', "SNIVhostUnknown reject\n" . vhosts());
    served_ok($srv->{port}, undef, 'a', 'SNIVhostUnknown alone: no name gets the default vhost');
    refused_ok($srv->{port}, 'nope.sni.test', 'SNIVhostUnknown alone');
    TkTest::stop_server($srv);
}

# Two addresses: the first refuses unknown names (set in its first vhost); on the second,
# SNIVhostMissing in a vhost that is not the first has no effect, and says so.
{
    my $port2 = TkTest::free_port();
    my $srv = TkTest::start_server('sni-per-address',
        "Listen 127.0.0.1:$port2\n"
        . vhosts('SNIVhostUnknown reject')
        . vhosts(undef, $port2) =~ s/(ServerName b\.sni\.test\n)/$1    SNIVhostMissing reject\n/r);
    refused_ok($srv->{port}, 'nope.sni.test', 'the first address refuses unknown names');
    served_ok($port2, 'nope.sni.test', 'a', 'the second address: an unknown name gets the default vhost');
    served_ok($port2, undef, 'a', 'the second address: SNIVhostMissing in its second vhost has no effect');
    TkTest::stop_server($srv);
    like TkTest::read_file($srv->{error_log}),
        qr/\[sni_vhost:warn\] .*SNIVhostUnknown and SNIVhostMissing in vhost b\.sni\.test \(\S+:\d+\) have no effect/,
        'a policy set in a vhost that is first on no address is reported';
}
