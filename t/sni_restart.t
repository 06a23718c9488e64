# SPDX-License-Identifier: Apache-2.0
# The index is built again at every (graceful) restart, from the new configuration: a name
# added by the restart selects its vhost, a name removed no longer does, and sessions
# still resume on non-default vhosts afterwards.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

plan tests => 2 + 1 + 2 * 2;

sub config {
    my $b_names = shift;
    return "SNIVhostUnknown reject\n"
         . TkTest::ssl_vhost('a.sni.test', '', 'sni_a_server')
         . TkTest::ssl_vhost('b.sni.test', "SNIVhost $b_names", 'sni_b_server');
}

my $srv = TkTest::start_server('sni-restart', config('old-b.sni.test'));
my $port = $srv->{port};
my $before = TkTest::connect_tls(port => $port, host => 'old-b.sni.test', version => TkTest::TLS13);
is $before->{cn}, 'b.sni.test', 'before the restart: old-b.sni.test selects b' or diag($before->{error});
my $new = TkTest::connect_tls(port => $port, host => 'new-b.sni.test', version => TkTest::TLS13);
like $new->{error}, qr/unrecognized name/, 'before the restart: new-b.sni.test is unknown';

TkTest::write_file($srv->{conf},
    TkTest::read_file($srv->{conf}) =~ s/SNIVhost old-b\.sni\.test/SNIVhost new-b.sni.test/r, 0644);
TkTest::graceful_restart(pid_file => $srv->{pid_file}, error_log => $srv->{error_log});

my $old = TkTest::connect_tls(port => $port, host => 'old-b.sni.test', version => TkTest::TLS13);
like $old->{error}, qr/unrecognized name/, 'after the restart: old-b.sni.test is unknown';
for my $v ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']) {
    my ($version, $vname) = @$v;
    my $full = TkTest::connect_tls(port => $port, host => 'new-b.sni.test', version => $version);
    is $full->{cn}, 'b.sni.test', "after the restart, $vname: new-b.sni.test selects b"
        or diag($full->{error});
    my $again = TkTest::connect_tls(port => $port, host => 'new-b.sni.test', version => $version,
                                    session => $full->{session});
    ok $again->{reused}, "after the restart, $vname: the session resumes on b";
}
TkTest::stop_server($srv);
