# SPDX-License-Identifier: Apache-2.0
# Host routing on TLS connections, by the module's index instead of core's scan, compared
# with mod_ssl alone on the same configuration: mod_ssl's checks after routing still see
# what they see without the module: 421 when Host names a vhost whose TLS setup differs
# from the handshake's (answered with that vhost's ErrorDocument, as core switched to it),
# 403 under SSLStrictSNIVHostCheck for a request without SNI (mod_ssl tells name-based
# vhosts by c->vhost_lookup_data, which the module keeps clear only while core reads the
# request), HTTP/2 streams (c->master).  The README's deliberate difference is asserted as
# such: an exact name beats an earlier vhost's "*.domain", which stands for one label.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use TkTest;

my $modules = TkTest::apxs_query('LIBEXECDIR');
my $docs = qq{    ErrorDocument 421 "%s-421"\n    ErrorDocument 403 "%s-403"\n};
my $conf = <<"EOF"
LoadModule http2_module $modules/mod_http2.so
Protocols h2 http/1.1
<IfModule sni_vhost_module>
    LogLevel info sni_vhost:trace1
</IfModule>
EOF
    . TkTest::ssl_vhost('default.sni.test', sprintf($docs, 'dflt', 'dflt'), 'sni_default_server')
    . TkTest::ssl_vhost('a.sni.test', sprintf($docs, 'a', 'a'), 'sni_a_server')
    . TkTest::ssl_vhost('b.sni.test', "    SSLStrictSNIVHostCheck on\n" . sprintf($docs, 'b', 'b'),
                        'sni_b_server')
    . TkTest::ssl_vhost('wild.sni.test', "    ServerAlias *.wild.sni.test\n" . sprintf($docs, 'wild', 'wild'),
                        'sni_wild_server')
    . TkTest::ssl_vhost('www.wild.sni.test', sprintf($docs, 'www', 'www'), 'sni_www_server');

# [SNI (undef: none), Host, what; the module's answer where it deliberately differs]
my @cases = (
    ['a.sni.test',        'a.sni.test',        'SNI and Host agree'],
    ['a.sni.test',        'b.sni.test',        '421 from the vhost Host names (its ErrorDocument)'],
    [undef,               'b.sni.test',        'no SNI, Host of a vhost with SSLStrictSNIVHostCheck: 403'],
    [undef,               'a.sni.test',        'no SNI, Host of a vhost without it'],
    [undef,               'nothing.sni.test',  'no SNI, unknown Host: the default vhost'],
    ['x.wild.sni.test',   'y.z.wild.sni.test', 'a glob over two labels', '421 dflt-421'],
    ['x.wild.sni.test',   'www.wild.sni.test', 'Host of the exact vhost after the wildcard one',
     '421 www-421'],
    ['www.wild.sni.test', 'www.wild.sni.test', 'the exact name after an earlier wildcard', '200 www'],
);

plan tests => 2 * @cases + 4;

my %answers;
for my $with (0, 1) {
    my $srv = TkTest::start_server("sni-host-tls-$with", $conf, tickets => 0, sni => $with);
    for my $case (@cases) {
        my ($sni, $host) = @$case;
        my $r = TkTest::connect_tls(port => $srv->{port}, host => $sni, host_header => $host);
        (my $body = $r->{body} // '') =~ s/\n$//;
        push @{ $answers{$with} }, $r->{ok} ? "$r->{status} $body" : "error $r->{error}";
    }
    my $h2 = `curl -s -o - -w ' %{http_version}' --http2 --cacert ${\ TkTest::ca_file()} --resolve a.sni.test:$srv->{port}:127.0.0.1 -H 'Host: a.sni.test' https://a.sni.test:$srv->{port}/index.html 2>&1`;
    $answers{"h2-$with"} = $h2;
    Time::HiRes::sleep(0.3);
    $answers{"log-$with"} = TkTest::read_file($srv->{error_log});
    TkTest::stop_server($srv);
}

for my $i (0 .. $#cases) {
    my ($sni, $host, $what, $deliberate) = @{ $cases[$i] };
    my $label = 'SNI ' . ($sni // '(none)') . ", Host $host";
    if (defined $deliberate) {
        isnt $answers{0}[$i], $deliberate, "$label: mod_ssl alone answers $answers{0}[$i] ($what)";
        is $answers{1}[$i], $deliberate, "$label: the module answers $deliberate (README: on TLS a *.domain alias is one label and an exact name beats an earlier one)";
    } else {
        like $answers{0}[$i], qr/^\d{3} /, "$label: mod_ssl alone answers $answers{0}[$i] ($what)";
        is $answers{1}[$i], $answers{0}[$i], "$label: the module answers the same";
    }
}
is $answers{0}[2], '403 b-403', 'SSLStrictSNIVHostCheck refuses the request without SNI (mod_ssl alone)';
like $answers{'h2-1'}, qr/^a\n? 2$/, 'HTTP/2: the stream is served by the vhost :authority names';
like $answers{'log-1'}, qr/Host b\.sni\.test: vhost b\.sni\.test \(server-name index\)/,
    'the module routed by the server-name index, on TLS';
like $answers{'log-1'}, qr/address [^ ]+: requests are routed by Host through an index of 5 vhosts/,
    'the TLS address is routed by an index';
