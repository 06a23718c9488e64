# SPDX-License-Identifier: Apache-2.0
# Rotation through graceful restarts, on a server with `SSLTicketKeyReload off`:
# - off: a changed key file is ignored until a restart;
# - new key first, old key second: an old ticket resumes and comes back renewed under the
#   new key, and new sessions get the new key;
# - a broken key file at a restart: the server stays up, says so, and keeps its keys;
# - old key removed: the old ticket gets a full handshake and a ticket under the new key.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use TkTest;

my $k1 = TkTest::new_key(48);
my $k2 = TkTest::new_key(48);
my ($srv, $file) = TkTest::start_keyed_server('rotation', reload => 'off', keys => [$k1],
                                              vhost => 'rotate.tk.test');
my %versions = ('TLSv1.2' => TkTest::TLS12, 'TLSv1.3' => TkTest::TLS13);
my @names = sort keys %versions;

plan tests => 2 + 1 + 3 * 2 + 4 + 2 * 2;

sub connect_rotate { TkTest::connect_tls(port => $srv->{port}, host => 'rotate.tk.test', @_) }
sub restart { TkTest::graceful_restart(pid_file => $srv->{pid_file}, error_log => $srv->{error_log}) }

my %old;
for my $v (@names) {
    $old{$v} = connect_rotate(version => $versions{$v});
    ok TkTest::sealed_by($old{$v}{ticket}, $k1), "$v: before rotation, the ticket is sealed with K1";
}

TkTest::write_key_file($file, 'raw', $k2, $k1);
Time::HiRes::sleep(2.5); # more than two check intervals
ok TkTest::sealed_by(connect_rotate(version => TkTest::TLS12)->{ticket}, $k1),
    'off: the changed file is not used before a restart';

restart();
for my $v (@names) {
    my $r = connect_rotate(version => $versions{$v}, session => $old{$v}{session});
    ok $r->{reused}, "$v: after a restart with [K2, K1], the K1 ticket resumes";
    ok TkTest::sealed_by($r->{ticket}, $k2), "$v: ... and comes back renewed under K2";
    my $fresh = connect_rotate(version => $versions{$v});
    ok TkTest::sealed_by($fresh->{ticket}, $k2), "$v: a new session gets a K2 ticket";
}

chomp(my $parent = TkTest::read_file($srv->{pid_file}));
my $log_before = length TkTest::read_file($srv->{error_log});
TkTest::write_file($file, "\x80" x 47, 0600); # binary: read as raw
restart();
my $log = substr TkTest::read_file($srv->{error_log}), $log_before;
like $log, qr/SSLTicketKeyFile \Q$file\E: 47 bytes is not a whole number of 48-byte keys, nor one 80-byte key; keeping the 2 key\(s\) in service/,
    'a broken key file at a graceful restart is logged with its name and the reason';
my $r = connect_rotate(version => TkTest::TLS12, session => $old{'TLSv1.2'}{session});
ok $r->{reused}, 'the server is still up and K1 tickets still resume';
ok TkTest::sealed_by(connect_rotate(version => TkTest::TLS13)->{ticket}, $k2), 'K2 still seals';
ok kill(0, $parent), 'the same parent httpd runs on';

TkTest::write_key_file($file, 'raw', $k2);
restart();
for my $v (@names) {
    my $r = connect_rotate(version => $versions{$v}, session => $old{$v}{session});
    ok !$r->{reused}, "$v: with K1 removed, the K1 ticket gets a full handshake";
    ok TkTest::sealed_by($r->{ticket}, $k2), "$v: ... and a new ticket under K2";
}
TkTest::stop_server($srv);
