# SPDX-License-Identifier: Apache-2.0
# What may stand at a key file's path.  A FIFO used to hang `httpd -t`, startup, the
# watcher and `tls-ticket-keys check` (the file was opened before its type was checked);
# a FIFO, a directory and a device now fail at once with what they are.  A symbolic link to
# a key file, the way secret stores mount them, is read and followed by the watcher.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use POSIX ();
use TkTest;

my $dir = TkTest::t_path('tmp', 'key_file_paths');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
chmod 0755, $dir;
my $tool = "$TkTest::TOP_DIR/build/tls-ticket-keys";

# A command's exit status and output, killed after 5 seconds: a hang fails the test (as
# status 124) instead of blocking the suite.
sub bounded {
    my $cmd = shift;
    my $out = `timeout -k 1 5 $cmd 2>&1`;
    return ($? >> 8, $out);
}

sub httpd_t {
    my $conf = "$dir/check.conf";
    TkTest::write_file($conf, TkTest::minimal_conf($dir, shift), 0644);
    return bounded("${\ TkTest::httpd()} -t -f $conf");
}

my $fifo = "$dir/fifo.key";
POSIX::mkfifo($fifo, 0600) or die "mkfifo: $!";
my $tail = '; a key file must be a regular file \(or a symbolic link to one\)';
# [what, path, what the message calls it]
my @special = (
    ['a FIFO', $fifo, 'a FIFO \(named pipe\)'],
    ['a directory', $dir, 'a directory'],
    ['a device', '/dev/null', 'a character device'],
);

plan tests => 4 * @special + 6;

for my $case (@special) {
    my ($what, $path, $kind) = @$case;
    my ($status, $out) = httpd_t("SSLTicketKeyFile $path");
    ok $status != 0 && $status != 124, "httpd -t fails at once on $what at the key path"
        or diag("status $status: $out");
    like $out, qr/SSLTicketKeyFile \Q$path\E: the path is $kind$tail/, '... saying what it is'
        or diag($out);
    ($status, $out) = bounded("$tool check '$path'");
    is $status, 1, "tls-ticket-keys check fails at once on $what";
    like $out, qr/\Q$path\E: the path is $kind$tail/, '... saying what it is' or diag($out);
}

# A secret store's layout: the key file is a link into a directory the store swaps.
my ($k1, $k2) = (TkTest::new_key(80), TkTest::new_key(48));
TkTest::write_key_file("$dir/v1/ticket.keys", 'text', $k1);
TkTest::write_key_file("$dir/v2/ticket.keys", 'text', $k2);
symlink "$dir/v1", "$dir/current" or die "symlink: $!";
symlink "$dir/current/ticket.keys", "$dir/ticket.keys" or die "symlink: $!";
my $link = "$dir/ticket.keys";
{
    my ($status, $out) = httpd_t("SSLTicketKeyFile $link");
    is $status, 0, 'httpd -t passes with a symbolic link to a key file' or diag($out);
}

my $srv = TkTest::start_server('key_file_paths_srv',
    "SSLTicketKeyReload live\nSSLTicketKeyCheckInterval 1\nSSLTicketKeyFile $link\n"
    . TkTest::ssl_vhost('alpha.tk.test'));
sub connect_alpha { TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test', @_) }
my $first = connect_alpha(version => TkTest::TLS12);
ok TkTest::sealed_by($first->{ticket}, $k1), 'the key behind the link seals';
my $again = connect_alpha(version => TkTest::TLS12, session => $first->{session});
ok $again->{reused}, '... and its ticket resumes';
my $tls13 = connect_alpha(version => TkTest::TLS13);
ok connect_alpha(version => TkTest::TLS13, session => $tls13->{session})->{reused},
    '... in TLS 1.3 too';

# The store swaps the link's target directory (rename over the old link): the watcher
# reads through the link and takes the new key.
symlink "$dir/v2", "$dir/current.new" or die "symlink: $!";
rename "$dir/current.new", "$dir/current" or die "rename: $!";
ok defined TkTest::wait_until(3, sub { TkTest::sealed_by(connect_alpha()->{ticket}, $k2) }),
    'after the link is swapped, the new key seals within two check intervals';
my $old = connect_alpha(version => TkTest::TLS12, session => $first->{session});
ok $old->{ok} && !$old->{reused},
    '... and a ticket of the key no longer in the file gets a full handshake';
TkTest::stop_server($srv);
