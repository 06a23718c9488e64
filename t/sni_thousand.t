# SPDX-License-Identifier: Apache-2.0
# A generated configuration of 1,000 SSL vhosts on one address: the first, a middle and the
# last name each select their vhost, by TLS server name and by Host, and resume there; an
# unknown name gets the first vhost.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $count = 1000;
my $ca = TkTest::t_path('conf/ssl/ca/asf');
my $htdocs = TkTest::served_path('tmp', 'thousand-htdocs');
my $conf = '';
for my $i (1 .. $count) {
    my $label = sprintf 'v%04d', $i;
    TkTest::write_file("$htdocs/$label/index.html", "$label\n", 0644);
    chmod 0755, $htdocs, "$htdocs/$label";
    $conf .= <<"EOF";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $label.tk.test
    SSLEngine on
    SSLCertificateFile $ca/certs/tk_server.crt
    SSLCertificateKeyFile $ca/keys/tk_server.pem
    DocumentRoot $htdocs/$label
</VirtualHost>
EOF
}

my @checked = ('v0001', sprintf('v%04d', $count / 2), sprintf('v%04d', $count));
my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);

plan tests => 1 + @versions * (@checked * 3 + 1);

my $srv = TkTest::start_server('sni-thousand', $conf);
like TkTest::read_file($srv->{error_log}),
    qr/\[sni_vhost:info\] .*: $count exact names, 0 wildcards and 0 globs select $count SSL vhosts/,
    "the index of the address holds the $count names";
for my $v (@versions) {
    my ($version, $vname) = @$v;
    for my $label (@checked) {
        my $full = TkTest::connect_tls(port => $srv->{port}, host => "$label.tk.test",
                                       version => $version);
        is $full->{body}, "$label\n", "$vname $label.tk.test: served by its vhost"
            or diag($full->{error});
        my $again = TkTest::connect_tls(port => $srv->{port}, host => "$label.tk.test",
                                        version => $version, session => $full->{session});
        ok $again->{reused}, "$vname $label.tk.test: resumes";
        is $again->{body}, "$label\n", "$vname $label.tk.test: ... on its vhost";
    }
    my $unknown = TkTest::connect_tls(port => $srv->{port}, host => 'v9999.tk.test',
                                      version => $version);
    is $unknown->{body}, "v0001\n", "$vname an unknown name: the first vhost";
}
TkTest::stop_server($srv);
