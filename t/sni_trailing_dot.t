# SPDX-License-Identifier: Apache-2.0
# A name configured with a trailing dot serves both spellings: `ServerAlias
# trail.example.com.` on a vhost whose ServerName is another name, `ServerName
# dotted.example.com.`, and a glob alias `*.glob.example.com.`.  The server name with or
# without the dot, and the Host with or without it, all get the vhost's certificate and a
# 200 from the vhost: mod_ssl compares names as they are written, so a 421 (or the default
# vhost's page) would show that its state stayed on the default vhost.  mod_ssl's own log
# line for a name it cannot find (AH02044) must not appear.  TLS 1.2 and 1.3, Net::SSLeay.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $ca = TkTest::t_path('conf/ssl/ca/asf');
sub vhost {
    my ($names, $cert, $label) = @_;
    my $htdocs = TkTest::vhost_htdocs($label);
    return <<"EOF";
<VirtualHost 127.0.0.1:\@PORT\@>
$names
    SSLEngine on
    SSLCertificateFile $ca/certs/$cert.crt
    SSLCertificateKeyFile $ca/keys/$cert.pem
    DocumentRoot $htdocs
</VirtualHost>
EOF
}

my $srv = TkTest::start_server('sni-trailing-dot', "LogLevel info ssl:debug\n"
    . vhost("    ServerName default.example.com", 'sni_default_server', 'dot-default')
    . vhost("    ServerName other.example.com\n    ServerAlias trail.example.com.",
            'sni_b_server', 'trail')
    . vhost("    ServerName dotted.example.com.", 'sni_a_server', 'dotted')
    . vhost("    ServerName glob.example.com\n    ServerAlias *.glob.example.com.",
            'sni_glob_server', 'glob'));

my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);
# [name as the client spells it, certificate CN, vhost label]
my @names = (
    ['trail.example.com',   'b.sni.test',    'trail'],
    ['dotted.example.com',  'a.sni.test',    'dotted'],
    ['x.glob.example.com',  'glob.sni.test', 'glob'],
    ['other.example.com',   'b.sni.test',    'trail'],
);

plan tests => @versions * @names * 4 * 3 + 2;

for my $v (@versions) {
    my ($version, $vname) = @$v;
    for my $n (@names) {
        my ($name, $cn, $label) = @$n;
        for my $sni ($name, "$name.") {
            for my $host ($name, "$name.") {
                my $r = TkTest::connect_tls(port => $srv->{port}, host => $sni,
                                            version => $version, host_header => $host);
                my $what = "$vname SNI $sni, Host $host";
                is $r->{cn}, $cn, "$what: the certificate of vhost $label" or diag($r->{error});
                is $r->{status}, 200, "$what: 200";
                is $r->{body}, "$label\n", "$what: served by vhost $label";
            }
        }
    }
}

my $log = TkTest::read_file($srv->{error_log});
unlike $log, qr/AH02044/, 'mod_ssl found the vhost for every name (no AH02044)';
like $log, qr/AH02043.*trail\.example\.com\b/, 'mod_ssl logged the vhost it found';
TkTest::stop_server($srv);
