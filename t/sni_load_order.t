# SPDX-License-Identifier: Apache-2.0
# mod_sni_vhost works without mod_tls_tickets (OpenSSL's own ticket keys) as with it, and
# loaded before mod_ssl as after it: certificates per name, refusal, resumption on a
# non-default vhost and never across vhosts, in TLS 1.2 and 1.3.  The vhosts' ServerName
# has no port, so that mod_ssl's session-id context counts port 443: a session of the
# default vhost resumes both with its name (the module's switch) and without a name
# (mod_ssl alone).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);
# [base_modules() options, what]
my @setups = (
    [{tickets => 0, sni_first => 1}, 'loaded before mod_ssl, without mod_tls_tickets'],
    [{tickets => 1, sni_first => 1}, 'loaded before mod_ssl and mod_tls_tickets'],
    [{tickets => 0, sni_first => 0}, 'loaded after mod_ssl, without mod_tls_tickets'],
);

plan tests => @setups * (2 + @versions * 9);

for my $setup (@setups) {
    my ($modules, $what) = @$setup;
    my $srv = TkTest::start_server('sni-load-order',
        "SNIVhostUnknown reject\n"
        . TkTest::ssl_vhost('a.sni.test', '', 'sni_a_server')
        . TkTest::ssl_vhost('b.sni.test', '', 'sni_b_server')
        . TkTest::ssl_vhost('wild.sni.test', 'SNIVhost *.wild.sni.test', 'sni_wild_server'),
        %$modules);
    my $port = $srv->{port};

    my $wild = TkTest::connect_tls(port => $port, host => 'x.wild.sni.test', version => TkTest::TLS13);
    is $wild->{cn}, '*.wild.sni.test', "$what: a wildcard name gets its vhost's certificate"
        or diag($wild->{error});
    my $refused = TkTest::connect_tls(port => $port, host => 'nope.sni.test', version => TkTest::TLS13);
    like $refused->{error}, qr/unrecognized name/, "$what: an unknown name is refused";

    for my $v (@versions) {
        my ($version, $vname) = @$v;
        my $b = TkTest::connect_tls(port => $port, host => 'b.sni.test', version => $version);
        is $b->{cn}, 'b.sni.test', "$what, $vname: b.sni.test gets its certificate" or diag($b->{error});
        is $b->{body}, "b\n", "$what, $vname: ... and its content";
        my $again = TkTest::connect_tls(port => $port, host => 'b.sni.test', version => $version,
                                        session => $b->{session});
        ok $again->{reused}, "$what, $vname: b.sni.test, a non-default vhost, resumes its session";
        is $again->{body}, "b\n", "$what, $vname: ... on b";
        my $other = TkTest::connect_tls(port => $port, host => 'x.wild.sni.test', version => $version,
                                        session => $b->{session});
        ok !$other->{reused}, "$what, $vname: b's session does not resume on the wildcard vhost";
        is $other->{body}, "wild\n", "$what, $vname: ... which serves its own content";
        my $named = TkTest::connect_tls(port => $port, host => 'a.sni.test', version => $version,
                                        host_header => 'a.sni.test');
        my $unnamed = TkTest::connect_tls(port => $port, version => $version,
                                          host_header => 'a.sni.test', session => $named->{session});
        ok $unnamed->{reused},
            "$what, $vname: a session of 'a.sni.test' (the default vhost) resumes without a name";
        is $unnamed->{body}, "a\n", "$what, $vname: ... on the default vhost";
        my $back = TkTest::connect_tls(port => $port, host => 'a.sni.test', version => $version,
                                       session => $unnamed->{session});
        ok $back->{reused}, "$what, $vname: and a session without a name resumes with 'a.sni.test'";
    }
    TkTest::stop_server($srv);
}
