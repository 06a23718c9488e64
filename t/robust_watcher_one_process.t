# SPDX-License-Identifier: Apache-2.0
# httpd -X (one process, as under a debugger or valgrind) with a key file watched live: the
# process gives up root for nobody while its watcher stays root, so on SIGTERM it cannot
# signal the watcher, and used to wait for it forever.  Now the watcher ends when its stop
# pipe closes, and the server stops within seconds.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use POSIX ();
use TkTest;

plan skip_all => 'needs root: httpd -X drops root only when it has it' if $> != 0;
plan tests => 6;

my $k1 = TkTest::new_key(80);
my ($srv, $file) = TkTest::start_keyed_server('one-process', reload => 'live', keys => [$k1]);
TkTest::stop_server($srv);

# The same configuration in one process, once the stopped server's children let go of the
# port (a start that finds it still taken exits at once, and is tried again).
my $pid;
for my $try (1 .. 20) {
    $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$srv->{dir}/stdout.log";
        open STDERR, '>&', \*STDOUT;
        exec(TkTest::httpd(), '-X', '-f', $srv->{conf}) or POSIX::_exit(127);
    }
    last unless TkTest::wait_until(1, sub { waitpid($pid, POSIX::WNOHANG()) == $pid });
}
my $answers = TkTest::wait_until(30, sub {
    TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test')->{ok}
});
ok defined $answers, 'httpd -X serves TLS with the key file';
my @watchers;
TkTest::wait_until(10, sub { @watchers = TkTest::child_pids($pid); @watchers > 0 });
is scalar(@watchers), 1, 'it has forked the key-file watcher';
is((stat "/proc/$watchers[0]")[4] // -1, 0, '... which runs as root');

kill 'TERM', $pid;
my $gone = TkTest::wait_until(15, sub { waitpid($pid, POSIX::WNOHANG()) == $pid });
ok defined $gone, 'on SIGTERM httpd -X ends within 15 s' or kill 'KILL', $pid, @watchers;
ok defined TkTest::wait_until(5, sub { !kill 0, $watchers[0] }), '... and so does its watcher';
unlike TkTest::read_file($srv->{error_log}), qr/exit signal|Segmentation/, 'nothing crashed';
kill 'KILL', $watchers[0] if kill 0, $watchers[0];
