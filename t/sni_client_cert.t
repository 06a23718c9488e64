# SPDX-License-Identifier: Apache-2.0
# The client-certificate settings of the vhost the server name selects apply, although
# the connection starts on the default vhost, which asks for none: client.sni.test
# requires a certificate from Apache::Test's CA (SSLVerifyClient require), asks for it in
# the handshake, refuses a client without one and serves a client with one.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('sni_ssl_port');
my $client_cert = TkTest::t_path('conf/ssl/ca/asf/proxy/client_ok.pem');
my @versions = ([TkTest::TLS12, 'TLSv1.2', 'tls1_2'], [TkTest::TLS13, 'TLSv1.3', 'tls1_3']);

plan tests => @versions * 7;

for my $v (@versions) {
    my ($version, $vname, $s_client_version) = @$v;

    my $asked = TkTest::s_client(port => $port, host => 'client.sni.test',
                                 version => $s_client_version);
    ok((grep { $_ eq 'CertificateRequest' } @{ $asked->{received} }),
       "$vname client.sni.test: the server asks for a client certificate");
    my $not_asked = TkTest::s_client(port => $port, host => 'a.sni.test',
                                     version => $s_client_version);
    ok(!(grep { $_ eq 'CertificateRequest' } @{ $not_asked->{received} }),
       "$vname a.sni.test: the server asks for none");

    my $without = TkTest::connect_tls(port => $port, host => 'client.sni.test', version => $version);
    ok !$without->{ok}, "$vname client.sni.test without a client certificate: refused";
    isnt $without->{body} // '', "sni-client\n", "$vname ... and not served";

    my $with = TkTest::connect_tls(port => $port, host => 'client.sni.test', version => $version,
                                   client_cert => $client_cert);
    is $with->{status}, 200, "$vname client.sni.test with a certificate of the CA: 200"
        or diag($with->{error});
    is $with->{body}, "sni-client\n", "$vname ... served by the client vhost";

    my $other = TkTest::connect_tls(port => $port, host => 'a.sni.test', version => $version);
    is $other->{body}, "sni-a\n", "$vname a.sni.test without a client certificate: served";
}
