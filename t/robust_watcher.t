# SPDX-License-Identifier: Apache-2.0
# The key-file watcher and the key file's owner:
#   - a parent killed with SIGKILL leaves no watcher behind: it ends at once (it used to
#     go on until its next check, up to SSLTicketKeyCheckInterval later);
#   - a key file owned by the user the children run as (who could then install keys it
#     knows and forge tickets) gets a warning at startup; one owned by root does not.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use TkTest;

plan skip_all => 'needs root (children run as nobody, key files chowned)' if $> != 0;
plan tests => 5;

my $nobody = getpwnam('nobody');

# The owner warning.
my $warning = qr/the key file is owned by the user the server's children run as \(nobody\)/;
for my $case ([root => 0, 0], [nobody => $nobody, 1]) {
    my ($who, $uid, $warned) = @$case;
    my $file = TkTest::t_path('tmp', "owner-$who.key");
    TkTest::write_key_file($file, 'raw', TkTest::new_key(48));
    chown $uid, 0, $file or die "chown: $!";
    my $srv = TkTest::start_server("owner-$who", "SSLTicketKeyFile $file\n"
        . TkTest::ssl_vhost('alpha.tk.test'));
    my $log = TkTest::read_file($srv->{error_log});
    TkTest::stop_server($srv);
    if ($warned) {
        like $log, $warning, "a key file owned by $who: warned at startup";
    } else {
        unlike $log, $warning, "a key file owned by $who: no warning";
    }
}

# The watcher after SIGKILL of its parent.  A long interval: polling would leave it for
# an hour.
my $file = TkTest::t_path('tmp', 'watcher.key');
TkTest::write_key_file($file, 'raw', TkTest::new_key(48));
my $srv = TkTest::start_server('watcher', "SSLTicketKeyReload live\n"
    . "SSLTicketKeyCheckInterval 3600\nSSLTicketKeyFile $file\n"
    . TkTest::ssl_vhost('alpha.tk.test'));
my $parent = TkTest::server_pid($srv->{pid_file});
my @watchers = grep { (stat "/proc/$_")[4] == 0 } TkTest::child_pids($parent);
is scalar(@watchers), 1, 'the watcher runs (the one child of the parent running as root)';
my @children = TkTest::child_pids($parent);
kill 'KILL', $parent;
my $gone = TkTest::wait_until(2, sub { !grep { -e "/proc/$_" && !zombie($_) } @watchers });
ok defined $gone, 'after SIGKILL of the parent the watcher ends within 2 s';
ok !kill(0, $parent) || zombie($parent), '... (the parent is gone)';
# The orphaned serving children would keep the port: end them.
kill 'KILL', @children;
unlink $srv->{pid_file};
TkTest::stop_server($srv);

sub zombie {
    my $stat = TkTest::read_file("/proc/$_[0]/stat");
    return $stat eq '' || $stat =~ /^\d+ \(.*\) Z /s;
}
