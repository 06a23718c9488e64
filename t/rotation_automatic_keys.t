# SPDX-License-Identifier: Apache-2.0
# Vhosts without a key file get automatic keys: they survive a graceful restart, rotate
# every SSLTicketKeyAutoRotate seconds, and the previous key opens for one more period.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use TkTest;

my $period = 3;
my $srv = TkTest::start_server('auto_keys', <<"CONF" . TkTest::ssl_vhost('alpha.tk.test'));
SSLTicketKeyAutoRotate $period
CONF

plan tests => 7;

sub connect_alpha { TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test', @_) }
sub key_name { substr($_[0]->{ticket} // '', 0, 16) }

my $first = connect_alpha(version => TkTest::TLS12);
my $for_renewal = connect_alpha(version => TkTest::TLS13);
my $for_expiry = connect_alpha(version => TkTest::TLS12);
ok length key_name($first) == 16, 'a ticket under an automatic key';

TkTest::graceful_restart(pid_file => $srv->{pid_file}, error_log => $srv->{error_log});
my $r = connect_alpha(version => TkTest::TLS12, session => $first->{session});
ok $r->{reused}, 'after a graceful restart the session still resumes (the keys were kept)';

my $rotated_after = TkTest::wait_until($period + 2.5, sub {
    key_name(connect_alpha(version => TkTest::TLS12)) ne key_name($first)
});
ok defined $rotated_after, sprintf 'a new automatic key seals within one period and one check (%.1f s)',
    $rotated_after // -1;
my $new_name = key_name(connect_alpha(version => TkTest::TLS12));

$r = connect_alpha(version => TkTest::TLS13, session => $for_renewal->{session});
ok $r->{reused}, 'the previous key still opens its tickets';
is key_name($r), $new_name, '... which come back renewed under the new key';

ok TkTest::log_count($srv->{error_log}, qr/automatic ticket keys rotated: sealing with key [0-9a-f]{8}/) >= 1,
    'the rotation is logged with the new key fingerprint';

# One more period: the first key, which stopped sealing at the rotation, is gone.
Time::HiRes::sleep($period + 1.5);
$r = connect_alpha(version => TkTest::TLS12, session => $for_expiry->{session});
ok !$r->{reused}, 'one period after the rotation, the previous key no longer opens';
TkTest::stop_server($srv);
