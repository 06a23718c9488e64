# Rotation through graceful restarts, on the vhost rotate.tk.test (raw key file):
# - new key first, old key second: an old ticket resumes and comes back renewed under the
#   new key, and new sessions get the new key;
# - a broken key file at a restart: the server stays up, says so, and keeps its keys;
# - old key removed: the old ticket gets a full handshake and a ticket under the new key.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my $file = TkTest::key_file_path('rotate.key');
my $original = TkTest::read_file($file);
my ($k1) = TkTest::read_key_file($file);
my $k2 = TkTest::new_key(48);
my %versions = ('TLSv1.2' => TkTest::TLS12, 'TLSv1.3' => TkTest::TLS13);
my @names = sort keys %versions;

plan tests => 2 + 3 * 2 + 4 + 2 * 2 + 1;

sub connect_rotate { TkTest::connect_tls(port => $port, host => 'rotate.tk.test', @_) }

my %old;
for my $v (@names) {
    $old{$v} = connect_rotate(version => $versions{$v});
    ok TkTest::sealed_by($old{$v}{ticket}, $k1), "$v: before rotation, the ticket is sealed with K1";
}

TkTest::write_key_file($file, 'raw', $k2, $k1);
TkTest::graceful_restart();
for my $v (@names) {
    my $r = connect_rotate(version => $versions{$v}, session => $old{$v}{session});
    ok $r->{reused}, "$v: after [K2, K1], the K1 ticket resumes";
    ok TkTest::sealed_by($r->{ticket}, $k2), "$v: ... and comes back renewed under K2";
    my $fresh = connect_rotate(version => $versions{$v});
    ok TkTest::sealed_by($fresh->{ticket}, $k2), "$v: a new session gets a K2 ticket";
}

chomp(my $parent = TkTest::read_file(TkTest::t_path('logs/httpd.pid')));
my $log_before = length TkTest::read_file(TkTest::error_log());
TkTest::write_file($file, 'x' x 47, 0600);
TkTest::graceful_restart();
my $log = substr TkTest::read_file(TkTest::error_log()), $log_before;
like $log, qr/SSLTicketKeyFile \Q$file\E: 47 bytes is not a whole number of 48-byte keys, nor one 80-byte key; keeping the 2 key\(s\) read from it before/,
    'a broken key file at a graceful restart is logged with its name and the reason';
my $r = connect_rotate(version => TkTest::TLS12, session => $old{'TLSv1.2'}{session});
ok $r->{reused}, 'the server is still up and K1 tickets still resume';
my $fresh = connect_rotate(version => TkTest::TLS13);
ok TkTest::sealed_by($fresh->{ticket}, $k2), 'K2 still seals';
ok kill(0, $parent), 'the same parent httpd runs on';

TkTest::write_key_file($file, 'raw', $k2);
TkTest::graceful_restart();
for my $v (@names) {
    my $r = connect_rotate(version => $versions{$v}, session => $old{$v}{session});
    ok !$r->{reused}, "$v: with K1 removed, the K1 ticket gets a full handshake";
    ok TkTest::sealed_by($r->{ticket}, $k2), "$v: ... and a new ticket under K2";
}

TkTest::write_file($file, $original, 0600);
TkTest::graceful_restart();
my $back = connect_rotate(version => TkTest::TLS12);
ok TkTest::sealed_by($back->{ticket}, $k1), 'the original key file is back in service';
