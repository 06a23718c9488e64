# SPDX-License-Identifier: Apache-2.0
# SSLTicketKeyReload graceful: a changed key file makes httpd restart gracefully (same
# parent, new children) and the new key seals; a bad file does not restart anything.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use TkTest;

my ($k1, $k2) = (TkTest::new_key(48), TkTest::new_key(48));
my ($srv, $file) = TkTest::start_keyed_server('graceful', reload => 'graceful', keys => [$k1]);

plan tests => 7;

sub ticket { TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test')->{ticket} }

my $parent = TkTest::server_pid($srv->{pid_file});
my @children = TkTest::child_pids($parent);
my $generations = TkTest::generations($srv->{error_log});
ok TkTest::sealed_by(ticket(), $k1), 'K1 seals';

TkTest::write_file($file, 'not a key file', 0600);
Time::HiRes::sleep(2.5);
is TkTest::generations($srv->{error_log}), $generations, 'a bad file does not restart httpd';
ok TkTest::sealed_by(ticket(), $k1), '... and K1 still seals';

TkTest::write_key_file($file, 'raw', $k2, $k1);
ok defined TkTest::wait_until(5, sub { TkTest::generations($srv->{error_log}) > $generations }),
    'a valid new file makes httpd restart gracefully';
is TkTest::server_pid($srv->{pid_file}), $parent, '... the same parent';
ok !grep({ my $c = $_; grep { $_ == $c } TkTest::child_pids($parent) } @children),
    '... with new children';
ok defined TkTest::wait_until(3, sub { TkTest::sealed_by(ticket(), $k2) }), '... and K2 seals';
TkTest::stop_server($srv);
