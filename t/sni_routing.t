# SPDX-License-Identifier: Apache-2.0
# HTTP requests on a TLS connection are routed by Host with the same names and precedence
# as the server name: SNIVhost names route Host, an exact name beats an earlier vhost's
# wildcard, a wildcard stands for one label.  mod_ssl's SSLVHostSNIPolicy still answers
# 421 when Host names a vhost whose TLS setup differs from the one of the handshake.
# Net::SSLeay, TLS 1.2 and 1.3.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('sni_ssl_port');
my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);

# [server name, Host, status, vhost label (for a 200), what it shows]
my @cases = (
    ['b.sni.test',        'b-alt.sni.test',    200, 'b',       'an SNIVhost name routes Host'],
    ['b-alt.sni.test',    'other-b.example',   200, 'b',       'an SNIVhost name given with a trailing dot routes Host'],
    ['b-alt.sni.test',    'b.sni.test',        200, 'b',       'the ServerName of the vhost an SNIVhost name selected'],
    ['x.wild.sni.test',   'y.wild.sni.test',   200, 'wild',    'an SNIVhost wildcard routes Host'],
    ['www.wild.sni.test', 'www.wild.sni.test', 200, 'www',     'an exact name beats an earlier vhost\'s wildcard in HTTP too'],
    ['default.sni.test',  'x.y.wild.sni.test', 200, 'default', 'a wildcard stands for one label in HTTP too'],
    ['default.sni.test',  'nope.sni.test',     200, 'default', 'an unknown Host gets the default vhost'],
    ['a.sni.test',        'A.SNI.TEST.',       200, 'a',       'Host in capitals with a trailing dot'],
    ['a.sni.test',        'b.sni.test',        421, undef,     'SSLVHostSNIPolicy: another certificate'],
    ['a.sni.test',        'client.sni.test',   421, undef,     'SSLVHostSNIPolicy: client certificates required there'],
    ['x.wild.sni.test',   'www.wild.sni.test', 421, undef,     'SSLVHostSNIPolicy: the exact vhost, not the wildcard one'],
);

plan tests => @cases * @versions * 2;

for my $v (@versions) {
    my ($version, $vname) = @$v;
    for my $case (@cases) {
        my ($sni, $host, $status, $label, $what) = @$case;
        my $r = TkTest::connect_tls(port => $port, host => $sni, version => $version,
                                    host_header => $host);
        is $r->{status}, $status, "$vname SNI $sni, Host $host: $status ($what)"
            or diag($r->{error});
        if (defined $label) {
            is $r->{body}, "sni-$label\n", "$vname SNI $sni, Host $host: served by vhost $label";
        } else {
            unlike $r->{body} // '', qr/^sni-/, "$vname SNI $sni, Host $host: no vhost's content";
        }
    }
}
