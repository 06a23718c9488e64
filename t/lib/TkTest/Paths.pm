# SPDX-License-Identifier: Apache-2.0
# Where things are: the test tree, the build, the documents the servers' children read
# (a scratch copy when they cannot reach t/), httpd and apxs; reading files.
package TkTest::Paths;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Cwd ();
use File::Basename qw(dirname);
use File::Path ();
use File::Temp ();
use POSIX ();

our @EXPORT = qw(
    $T_DIR $TOP_DIR t_path server_user_reaches served_root make_scratch served_path
    module_path httpd apxs_query read_file
);

our $T_DIR = Cwd::abs_path(dirname(__FILE__) . '/../..');
our $TOP_DIR = Cwd::abs_path("$T_DIR/..");

sub t_path { join '/', $T_DIR, @_ }

#
# As root, httpd's children run as nobody (Apache::Test's User, start_server's and the
# demo's), and all they open themselves are the documents they serve: the root parent
# reads the configuration, certificates and key files and opens the logs, and the key
# watcher is its fork.  A clone in a directory only root may enter (/root, `mktemp -d`)
# keeps nobody out of t/, so the documents, and the demo's directory, are then served from
# a scratch directory of root's under /tmp (0711) that mirrors t/'s layout: t/htdocs is a
# symbolic link to its htdocs, which tells every later process where it is.  Only these
# move: the suite's key files, certificates, configurations and logs stay in the clone,
# where the tests and a reader expect them, rather than in a copy of the whole tree.  The
# process that made the scratch directory removes it when it ends and no test server runs.

my ($served_root, $scratch_maker);

# Whether the servers' children (as root: nobody, group nogroup) can search their way
# into $dir.
sub server_user_reaches {
    my $dir = shift;
    return 1 if $> != 0; # they run as the user who runs the tests
    my ($uid, $gid) = ((getpwnam 'nobody')[2], (getgrnam 'nogroup')[2]);
    die "no user nobody or group nogroup for the test servers\n" unless defined $uid && defined $gid;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $) = "$gid $gid"; # its only group, as httpd's initgroups() gives nobody
        $( = $gid;
        POSIX::setuid($uid) or POSIX::_exit(2);
        POSIX::_exit(-d "$dir/." ? 0 : 1);
    }
    waitpid $pid, 0;
    return $? == 0;
}

# The directory that stands for t/ in served_path(): t/ itself, or the scratch directory.
sub served_root {
    return $served_root if defined $served_root;
    my $link = t_path('htdocs');
    if (-l $link && readlink($link) =~ m{^(/tmp/tk-test-\w+)/htdocs$}) {
        $served_root = $1;
        make_scratch($served_root);
    } elsif (server_user_reaches($T_DIR)) {
        $served_root = $T_DIR;
    } else {
        # /tmp itself, not TMPDIR: that may be a directory of root's only (pam_tmpdir).
        $served_root = File::Temp::tempdir('tk-test-XXXXXX', DIR => '/tmp');
        $scratch_maker = $$;
        make_scratch($served_root);
        File::Path::remove_tree($link); # documents of an earlier run; made again as needed
        symlink "$served_root/htdocs", $link or die "symlink $link: $!";
    }
    return $served_root;
}

# Makes the scratch directory (again, at the path t/htdocs names) or checks that it is
# still root's alone; a directory someone else made there is refused.
sub make_scratch {
    my $dir = shift;
    if (mkdir $dir, 0700) {
        $scratch_maker = $$;
    } else {
        die "$dir: $!\n" unless $!{EEXIST};
        my @st = lstat $dir;
        die "$dir is not a directory of root's alone: remove t/htdocs for another one\n"
            unless -d _ && $st[4] == $> && !($st[2] & 022);
    }
    chmod 0711, $dir;
    for my $sub ('htdocs', 'tmp') {
        File::Path::make_path("$dir/$sub");
        chmod $sub eq 'htdocs' ? 0755 : 0711, "$dir/$sub";
    }
    server_user_reaches("$dir/htdocs")
        or die "the test servers' user (nobody) cannot reach $dir/htdocs either\n";
}

END {
    if ($scratch_maker && $scratch_maker == $$) {
        local $?;
        chomp(my $pid = read_file(t_path('logs/httpd.pid')));
        File::Path::remove_tree($served_root) unless $pid && kill 0, $pid;
    }
}

# A path under t/ (served_path('htdocs', 'own')) for something the servers' children read.
sub served_path { join '/', served_root(), @_ }

sub module_path { $ENV{TK_MODULE_DIR} ? "$ENV{TK_MODULE_DIR}/$_[0]" : "$TOP_DIR/build/$_[0]" }

sub httpd { $ENV{HTTPD} || '/usr/sbin/apache2' }

sub apxs_query {
    my $var = shift;
    my $apxs = $ENV{APXS} || 'apxs';
    chomp(my $v = `$apxs -q $var`);
    return $v;
}


sub read_file {
    my $path = shift;
    open my $fh, '<:raw', $path or return '';
    local $/;
    return scalar <$fh>;
}

1;
