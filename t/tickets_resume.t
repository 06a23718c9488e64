# SPDX-License-Identifier: Apache-2.0
# A session resumes from its ticket on every vhost, and the ticket is sealed with the
# key file's sealing key: its key name is the key's and its HMAC verifies with the key's
# HMAC bytes.  Net::SSLeay client, TLS 1.2 and 1.3.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my %sealing = (
    default => (TkTest::read_key_file(TkTest::key_file_path('server.key')))[0],
    inherit => (TkTest::read_key_file(TkTest::key_file_path('server.key')))[0],
    own     => (TkTest::read_key_file(TkTest::key_file_path('own.key')))[0],
);
my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);

plan tests => 3 * 2 * 5;

for my $label (qw(default own inherit)) {
    for my $v (@versions) {
        my ($version, $vname) = @$v;
        my $host = "$label.tk.test";
        my $full = TkTest::connect_tls(port => $port, host => $host, version => $version);
        is $full->{body}, "$label\n", "$vname $host: full handshake served by $label"
            or diag($full->{error});
        is $full->{version}, $vname, "$vname $host: protocol";
        ok TkTest::sealed_by($full->{ticket}, $sealing{$label}),
            "$vname $host: ticket sealed with the sealing key of the vhost's key file";

        my $again = TkTest::connect_tls(port => $port, host => $host, version => $version,
                                        session => $full->{session});
        ok $again->{reused}, "$vname $host: the session resumes from the ticket";
        is $again->{body}, "$label\n", "$vname $host: resumed on the same vhost";
    }
}
