# SPDX-License-Identifier: Apache-2.0
# Other real clients resume too: openssl s_client (the ticket in its saved session carries
# the sealing key's name and HMAC) and gnutls-cli --resume.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my %sealing = (
    default => (TkTest::read_key_file(TkTest::key_file_path('server.key')))[0],
    own     => (TkTest::read_key_file(TkTest::key_file_path('own.key')))[0],
);

plan tests => 2 * 2 * 3 + 2 * 2;

for my $version (qw(tls1_2 tls1_3)) {
    for my $label (sort keys %sealing) {
        my $host = "$label.tk.test";
        my $full = TkTest::s_client(port => $port, host => $host, version => $version);
        ok TkTest::sealed_by($full->{ticket}, $sealing{$label}),
            "s_client $version $host: ticket sealed with the vhost's sealing key";
        my $again = TkTest::s_client(port => $port, host => $host, version => $version,
                                     session => $full->{session});
        ok $again->{reused}, "s_client $version $host: resumed";
        like $again->{body} // '', qr/^$label$/m, "s_client $version $host: served by $label";
    }
}

for my $prio ('NORMAL:-VERS-ALL:+VERS-TLS1.2', 'NORMAL:-VERS-ALL:+VERS-TLS1.3') {
    for my $label (sort keys %sealing) {
        my $cmd = "gnutls-cli --resume --priority '$prio' --x509cafile '${\ TkTest::ca_file()}'"
                . " --sni-hostname $label.tk.test --verify-hostname $label.tk.test"
                . " --port $port 127.0.0.1 </dev/null 2>&1";
        my $out = `$cmd`;
        like $out, qr/This is a resumed session/, "gnutls-cli $prio $label.tk.test: resumed"
            or diag($out);
    }
}
