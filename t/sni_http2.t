# SPDX-License-Identifier: Apache-2.0
# HTTP/2: mod_sni_vhost's choices hold for requests that arrive as HTTP/2 streams.  Each
# stream is a connection of its own below the TLS connection (c->master), so the Host
# routing and the log variables must find the choice made at the handshake there.  The
# server name selects the vhost and its certificate; :authority routes each request with
# the same index (an exact name beats an earlier vhost's wildcard, a wildcard stands for
# one label); mod_ssl still answers 421 when :authority names a vhost with another
# certificate.  curl (nghttp2), certificates verified against the test CA.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use TkTest;

my $ca = TkTest::t_path('conf/ssl/ca/asf');
my $log_dir = TkTest::t_path('tmp', 'sni-http2-log');
File::Path::remove_tree($log_dir);
File::Path::make_path($log_dir);
my $apache_modules = TkTest::apxs_query('LIBEXECDIR');
my $conf = <<"EOF"
LoadModule http2_module $apache_modules/mod_http2.so
Protocols h2 http/1.1
LogFormat "%v %H %{Host}i %>s %{SNI_VHOST_MATCH}e %{SNI_VHOST_NAME}e" sni
CustomLog $log_dir/access_log sni
EOF
    . TkTest::ssl_vhost('default.sni.test', '', 'sni_default_server')
    . TkTest::ssl_vhost('wild.sni.test', 'SNIVhost *.wild.sni.test', 'sni_wild_server')
    . TkTest::ssl_vhost('www.wild.sni.test', '', 'sni_www_server')
    . TkTest::ssl_vhost('b.sni.test', 'SNIVhost b-alt.sni.test', 'sni_b_server');

# [server name (the URL's host), :authority (undef: the same), status, vhost label, what]
my @cases = (
    ['x.wild.sni.test',   undef,               200, 'wild',    'an SNIVhost wildcard selects its vhost'],
    ['www.wild.sni.test', undef,               200, 'www',     'an exact name beats an earlier vhost\'s wildcard'],
    ['x.wild.sni.test',   'y.wild.sni.test',   200, 'wild',    ':authority through the same wildcard'],
    ['default.sni.test',  'x.y.wild.sni.test', 200, 'default', 'a wildcard stands for one label in :authority too'],
    ['b.sni.test',        'b-alt.sni.test',    200, 'b',       'an SNIVhost name routes :authority'],
    ['x.wild.sni.test',   'www.wild.sni.test', 421, undef,     'SSLVHostSNIPolicy: the exact vhost, not the wildcard one'],
);

plan tests => 1 + @cases * 3 + 2;

my $curl_version = `curl --version 2>&1` // '';
like $curl_version, qr/\bnghttp2\//, 'curl speaks HTTP/2 (nghttp2)';

my $srv = TkTest::start_server('sni-http2', $conf);
my $port = $srv->{port};

for my $case (@cases) {
    my ($sni, $authority, $status, $label, $what) = @$case;
    my @host = defined $authority ? ('-H', "Host: $authority") : ();
    my $name = "SNI $sni" . (defined $authority ? ", :authority $authority" : '');
    open my $curl, '-|', 'curl', '-sS', '--http2', '--cacert', "$ca/certs/ca.crt",
        '--resolve', "$sni:$port:127.0.0.1", @host,
        '-w', '\n%{http_version} %{http_code}', "https://$sni:$port/"
        or die "curl: $!";
    my $out = do { local $/; <$curl> };
    close $curl;
    my ($body, $version, $code) = $out =~ /\A(.*)\n(\S+) (\d+)\z/s;
    is $version, '2', "$name: HTTP/2" or diag($out);
    is $code, $status, "$name: $status ($what)";
    if (defined $label) {
        is $body, "$label\n", "$name: served by vhost $label";
    } else {
        unlike $body // '', qr/\A(?:default|wild|www|b)\n\z/, "$name: no vhost's content";
    }
}
TkTest::stop_server($srv);

my $log = TkTest::read_file("$log_dir/access_log");
like $log, qr/^www\.wild\.sni\.test HTTP\/2\.0 www\.wild\.sni\.test:$port 200 exact www\.wild\.sni\.test$/m,
    'the log variables of an HTTP/2 request: an exact match';
like $log, qr/^wild\.sni\.test HTTP\/2\.0 y\.wild\.sni\.test 200 wildcard x\.wild\.sni\.test$/m,
    'the log variables of an HTTP/2 request: a wildcard match, the TLS name'
    or diag($log);
