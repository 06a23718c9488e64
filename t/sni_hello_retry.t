# SPDX-License-Identifier: Apache-2.0
# After a HelloRetryRequest the client sends a second ClientHello, and OpenSSL runs the
# ClientHello callback of the context already switched to: the first choice stands, and
# the vhost, its certificate and resumption are as without the retry.  The default vhost
# offers only X25519 and the client's first key share is P-256, which forces the retry.
# openssl s_client, TLS 1.3.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

plan tests => 2 * 5;

my $srv = TkTest::start_server('sni-hello-retry',
    TkTest::ssl_vhost('a.sni.test', 'SSLOpenSSLConfCmd Groups X25519', 'sni_a_server')
    . TkTest::ssl_vhost('b.sni.test', '', 'sni_b_server')
    . TkTest::ssl_vhost('wild.sni.test', 'SNIVhost *.wild.sni.test', 'sni_wild_server'));
my @retry = (args => ['-groups', 'P-256:X25519']);

for my $case (['b.sni.test', 'b.sni.test', 'b'], ['x.wild.sni.test', '*.wild.sni.test', 'wild']) {
    my ($host, $cn, $label) = @$case;
    my $full = TkTest::s_client(port => $srv->{port}, host => $host, version => 'tls1_3', @retry);
    is scalar(grep { $_ eq 'ClientHello' } @{ $full->{sent} }), 2,
        "$host: the server asked for a second ClientHello";
    is $full->{cn}, $cn, "$host: certificate $cn";
    like $full->{body} // '', qr/^$label$/m, "$host: served by $label";
    my $again = TkTest::s_client(port => $srv->{port}, host => $host, version => 'tls1_3',
                                 session => $full->{session}, @retry);
    ok $again->{reused}, "$host: the session resumes, through a retry again";
    like $again->{body} // '', qr/^$label$/m, "$host: ... on $label";
}
TkTest::stop_server($srv);
