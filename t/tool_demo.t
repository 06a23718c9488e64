# SPDX-License-Identifier: Apache-2.0
# `make demo` (scripts/demo.sh) as a user runs it: it serves https://localhost:PORT with
# alpha.localhost and beta.localhost on its own CA, shows a resumed session, and a Ctrl-C
# (SIGINT to its process group, as a terminal sends it) leaves nothing running.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use POSIX ();
use Time::HiRes ();
use TkTest;

my $dir = TkTest::served_path('tmp', 'demo'); # its htdocs are served
File::Path::remove_tree($dir);
my $port = TkTest::free_port();
my $out = "$dir.out";
unlink $out; # a previous run's output must not pass for this one's

plan tests => 8;

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    POSIX::setpgid(0, 0);
    open STDOUT, '>', $out or die;
    open STDERR, '>&', \*STDOUT or die;
    $ENV{DEMO_PORT} = $port;
    $ENV{DEMO_DIR} = $dir;
    exec "$TkTest::TOP_DIR/scripts/demo.sh" or die "exec: $!";
}

# Whatever happens to this test, the demo does not outlive it.
END { kill 'TERM', -$pid if $pid && kill 0, $pid }

my $ready = 0;
for (1 .. 300) {
    $ready = TkTest::read_file($out) =~ /Serving until Ctrl-C/ and last;
    Time::HiRes::sleep(0.1);
}
ok $ready, 'the demo starts and says it serves until Ctrl-C' or diag(TkTest::read_file($out));
my $text = TkTest::read_file($out);
like $text, qr{https://localhost:$port}, 'it names its address';
like $text, qr/^second connection: Reused, TLSv1\.2/m, 'it shows a resumed session';

my $ca = "$dir/ca.crt";
my $home = TkTest::connect_tls(port => $port, host => 'localhost', ca => $ca, path => '/',
                               verify_name => 1);
is $home->{body}, "Hello from alpha.localhost\n", 'https://localhost is the alpha vhost, verified by the demo CA'
    or diag($home->{error});
my $beta = TkTest::connect_tls(port => $port, host => 'beta.localhost', ca => $ca,
                               version => TkTest::TLS13, path => '/', verify_name => 1);
is $beta->{body}, "Hello from beta.localhost\n", 'beta.localhost is served';
my $again = TkTest::connect_tls(port => $port, host => 'beta.localhost', ca => $ca,
                                version => TkTest::TLS13, session => $beta->{session});
ok $again->{reused}, 'a TLS 1.3 session of beta.localhost resumes';

kill 'INT', -$pid;
my $gone = 0;
for (1 .. 100) {
    $gone = waitpid($pid, POSIX::WNOHANG()) == $pid and last;
    Time::HiRes::sleep(0.1);
}
ok $gone, 'Ctrl-C ends the demo';
my @left = grep {
    my $cmd = TkTest::read_file("/proc/$_/cmdline");
    $cmd =~ /\Q$dir\E/;
} map { m{/proc/(\d+)$} ? $1 : () } glob '/proc/[0-9]*';
is scalar(@left), 0, 'no process of the demo is left running' or diag("left: @left");
