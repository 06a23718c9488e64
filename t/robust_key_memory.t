# SPDX-License-Identifier: Apache-2.0
# Forward secrecy: a key that left its key file is gone from the memory of every process
# of the server.  Two key files (raw with 48-byte keys, text with 80-byte keys), each with
# K1 sealing and K2 that children have used to open tickets (K2 sealed them first); then
# K2 is removed from both files.  After the change is in service, no byte string of K2's HMAC or AES key (nor, for
# the text file, of its base64 line) may remain in the writable or anonymous memory of
# the parent, the key-file watcher or any child, read through /proc/PID/mem:
#   - live: SSLTicketKeyReload live, the watcher takes the new files;
#   - graceful: SSLTicketKeyReload off, a graceful restart (SIGUSR1) reads them; a child
#     of the old generation that still serves a connection must not keep the old store's
#     keys either, and once it has gone no process may hold them.
# Before each removal the same scanner must find K2 in the parent, and after it K1 (still
# in service) in every process it reads, so that it cannot pass for want of reading
# anything.  Failures name the process, region and offset of each
# copy, never its bytes.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Socket::INET ();
use MIME::Base64 ();
use Net::SSLeay ();
use Time::HiRes ();
use TkTest;

my $interval = 1; # SSLTicketKeyCheckInterval
my @hosts = ('alpha.tk.test', 'beta.tk.test');
my %format = ('alpha.tk.test' => 'raw', 'beta.tk.test' => 'text');
my %size = ('alpha.tk.test' => 48, 'beta.tk.test' => 80);

# AddressSanitizer reserves terabytes of address space (its shadow and its allocator) in
# every httpd process: reading it through /proc/PID/mem would not end.  The plain run of
# `make test` covers this; `make test-asan` checks the same code for memory errors.
plan skip_all => 'modules built with AddressSanitizer (make test-asan): the scan is for make test'
    if ($ENV{TK_MODULE_DIR} // '') =~ m{/asan/?$};
plan tests => 10 + 10;

# --- the memory scanner -----------------------------------------------------------------

use constant CHUNK => 1 << 20;

# The regions of a process worth reading: writable ones, and readable anonymous ones
# (private or shared: the key store is a shared anonymous mapping).
sub regions {
    my $pid = shift;
    no warnings 'portable'; # 64-bit addresses
    open my $fh, '<', "/proc/$pid/maps" or return ();
    my @regions;
    while (my $line = <$fh>) {
        my ($lo, $hi, $perms, $path) =
            $line =~ /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*?)\s*$/ or next;
        next unless $perms =~ /^r/;
        next if $path =~ /^\[(?:vvar|vvar_vclock|vdso|vsyscall)\]/;
        my $anon = $path eq '' || $path =~ /^\[(?:heap|stack|anon)/
            || $path =~ m{^/dev/zero|^/SYSV|^/memfd:|\(deleted\)$};
        next unless $perms =~ /w/ || $anon;
        push @regions, { lo => hex $lo, hi => hex $hi, perms => $perms,
                         path => $path eq '' ? '[anonymous]' : $path };
    }
    return @regions;
}

# The byte strings that must not remain once K2 has gone: its HMAC and AES keys, and for
# a text file the base64 of its line past the (public) name.
sub secret_patterns {
    my ($label, $key, $format) = @_;
    my @p = (["$label HMAC key", $key->{hmac}], ["$label AES key", $key->{aes}]);
    if ($format eq 'text') {
        my $b64 = MIME::Base64::encode_base64(TkTest::key_bytes($key), '');
        # 24 characters encode bytes 0..17, the name and two bytes of the HMAC key
        push @p, ["$label base64 line (HMAC part)", substr($b64, 24, 32)],
                 ["$label base64 line (AES part)", substr($b64, -33, 32)];
    }
    return @p;
}

# Reads the memory of pid and returns where each pattern occurs: a list of { pattern,
# region, offset }, the number of bytes read and of regions that could not be read whole.
sub scan_process {
    my ($pid, @patterns) = @_;
    my $max = 0;
    $max < length $_->[1] and $max = length $_->[1] for @patterns;
    my @found;
    my ($bytes, $unread) = (0, 0);
    open my $mem, '<:raw', "/proc/$pid/mem" or return ([], 0, 0, "cannot open /proc/$pid/mem: $!");
    for my $r (regions($pid)) {
        my ($pos, $carry) = ($r->{lo}, '');
        while ($pos < $r->{hi}) {
            my $n = $r->{hi} - $pos < CHUNK ? $r->{hi} - $pos : CHUNK;
            my $got = sysseek($mem, $pos, 0) && sysread($mem, my $buf, $n);
            unless ($got) { # a region that cannot be read: skip the rest of it
                $unread++;
                last;
            }
            $bytes += $got;
            my $data = $carry . $buf;
            my $base = $pos - length $carry;
            for my $p (@patterns) {
                my $at = -1;
                while (($at = index($data, $p->[1], $at + 1)) >= 0) {
                    # a match wholly inside the carried tail was found in the chunk before
                    next if $at + length($p->[1]) <= length $carry;
                    push @found, { pattern => $p, region => $r, offset => $base + $at };
                }
            }
            $carry = substr($data, -($max - 1));
            $pos += $got;
        }
    }
    return (\@found, $bytes, $unread, undef);
}

# The processes of a server: its parent, the watcher (a child running as root, like the
# parent) and the serving children (running as User).
sub processes {
    my $parent = shift;
    my @procs = ({ pid => $parent, kind => 'parent' });
    for my $pid (TkTest::child_pids($parent)) {
        my $status = TkTest::read_file("/proc/$pid/status");
        next if $status =~ /^State:\s+Z/m;
        my ($uid) = $status =~ /^Uid:\s+(\d+)/m;
        next unless defined $uid;
        push @procs, { pid => $pid, kind => $uid == 0 ? 'watcher' : 'child' };
    }
    return @procs;
}

# Scans the processes for the patterns of K2 and the control patterns of K1 (in
# service, so in the key store every process maps).  Returns { copies => { kind =>
# [lines] } for the processes holding a copy of K2, blind => [processes where no K1
# pattern was found], summary => [what was read] }.
sub scan {
    my ($patterns, @procs) = @_;
    my $scan = { copies => {}, blind => [], summary => [] };
    for my $proc (@procs) {
        my ($found, $bytes, $unread, $error) = scan_process($proc->{pid}, @$patterns);
        my $name = "$proc->{kind} $proc->{pid}";
        push @{ $scan->{summary} }, "$name: "
            . ($error // sprintf '%.1f MB read, %d region(s) not readable', $bytes / 1e6, $unread);
        push @{ $scan->{blind} }, $name unless grep { $_->{pattern}[2] } @$found;
        for my $f (grep { !$_->{pattern}[2] } @$found) {
            push @{ $scan->{copies}{ $proc->{kind} } }, sprintf '%s: %s in %x-%x %s %s at +0x%x',
                $name, $f->{pattern}[0], $f->{region}{lo}, $f->{region}{hi}, $f->{region}{perms},
                $f->{region}{path}, $f->{offset} - $f->{region}{lo};
        }
    }
    return $scan;
}

# Scans until no process holds a copy of K2 or $seconds have passed; returns the last scan.
sub scan_until_clean {
    my ($seconds, $patterns, $parent) = @_;
    my $start = Time::HiRes::time();
    while (1) {
        my $scan = scan($patterns, processes($parent));
        return $scan if !%{ $scan->{copies} } || Time::HiRes::time() - $start > $seconds;
        Time::HiRes::sleep(0.5);
    }
}

sub no_copy_in {
    my ($scan, $what, @kinds) = @_;
    my @lines = map { @{ $scan->{copies}{$_} // [] } } @kinds;
    ok !@lines, "no copy of K2 in $what" or diag join "\n", 'copies found:', @lines,
        'processes read:', @{ $scan->{summary} };
}

# The scan read every process: K1, in service, was found in each.
sub saw_k1_everywhere {
    my ($scan, $what) = @_;
    ok !@{ $scan->{blind} }, "$what: the same scan finds K1 (in service) in every process read"
        or diag join "\n", 'K1 not found in: ' . join(', ', @{ $scan->{blind} }),
            @{ $scan->{summary} };
}

# --- the server ---------------------------------------------------------------------------

sub key_file { TkTest::t_path('tmp', "$_[0]-$format{$_[1]}.key") }

sub start {
    my ($name, $reload) = @_;
    my $body = "SSLTicketKeyReload $reload\nSSLTicketKeyCheckInterval $interval\nTimeout 20\n";
    $body .= TkTest::ssl_vhost($_, "    SSLTicketKeyFile ${\ key_file($name, $_)} $format{$_}")
        for @hosts;
    return TkTest::start_server($name, $body);
}

sub write_keys {
    my ($name, $keys, @which) = @_;
    for my $host (@hosts) {
        TkTest::write_key_file(key_file($name, $host), $format{$host},
                               map { $keys->{$host}{$_} } @which);
    }
}

sub tls { my ($srv, $host, %o) = @_; TkTest::connect_tls(port => $srv->{port}, host => $host, %o) }

# Whether a fresh TLS 1.2 ticket of every vhost is sealed by key $which.
sub all_sealed_by {
    my ($srv, $keys, $which) = @_;
    return !grep { !TkTest::sealed_by(tls($srv, $_)->{ticket}, $keys->{$_}{$which}) } @hosts;
}

# Sessions with K2 tickets: every vhost, TLS 1.2 and 1.3.
sub k2_sessions {
    my $srv = shift;
    my %s;
    for my $host (@hosts) {
        $s{$host}{$_} = tls($srv, $host, version => $_) for TkTest::TLS12, TkTest::TLS13;
    }
    return \%s;
}

# Offers each K2 session a few times (the connections spread over the children); returns
# the failures, as text.
sub resume_all {
    my ($srv, $sessions, $times) = @_;
    my @failed;
    for my $host (@hosts) {
        for my $v (TkTest::TLS12, TkTest::TLS13) {
            for (1 .. $times) {
                my $r = tls($srv, $host, version => $v, session => $sessions->{$host}{$v}{session});
                push @failed, sprintf('%s TLS %x: %s', $host, $v, $r->{error} || 'not resumed')
                    unless $r->{reused};
            }
        }
    }
    return @failed;
}

sub k2_resumes_nowhere {
    my ($srv, $sessions) = @_;
    return !grep { tls($srv, $_, session => $sessions->{$_}{+TkTest::TLS12}{session})->{reused} }
        @hosts;
}

sub keys_for {
    return { map { $_ => { k1 => TkTest::new_key($size{$_}), k2 => TkTest::new_key($size{$_}) } }
             @hosts };
}

# K2's patterns, then K1's HMAC keys as controls.
sub patterns_of {
    my $keys = shift;
    return [ (map { secret_patterns("K2 ($format{$_}, $size{$_}-byte)", $keys->{$_}{k2}, $format{$_}) }
              @hosts),
             (map { ["K1 ($format{$_}) HMAC key", $keys->{$_}{k1}{hmac}, 'control'] } @hosts) ];
}

sub parent_finds_every_k2 {
    my ($keys, $parent) = @_;
    my $scan = scan(patterns_of($keys), { pid => $parent, kind => 'parent' });
    my @copies = @{ $scan->{copies}{parent} // [] };
    my %seen = map { /: (K2 \(\w+)/ ? ($1 => 1) : () } @copies;
    my $ok = keys(%seen) == @hosts;
    diag join "\n", 'the scanner did not find K2 of every file in the parent:',
        @{ $scan->{summary} }, @copies unless $ok;
    return $ok;
}

# --- live -------------------------------------------------------------------------------

{
    my $keys = keys_for();
    write_keys('memory-live', $keys, qw(k2 k1));
    my $srv = start('memory-live', 'live');
    my $parent = TkTest::server_pid($srv->{pid_file});

    ok all_sealed_by($srv, $keys, 'k2'), 'live: K2 seals at first, on both key files';
    my $sessions = k2_sessions($srv);
    write_keys('memory-live', $keys, qw(k1 k2));
    ok defined TkTest::wait_until(2 * $interval + 3, sub { all_sealed_by($srv, $keys, 'k1') }),
        'live: after [K1, K2] is written, K1 seals';
    my @failed = resume_all($srv, $sessions, 3);
    ok !@failed, 'live: K2 tickets resume in the children (TLS 1.2 and 1.3, both files)'
        or diag join "\n", @failed;
    ok parent_finds_every_k2($keys, $parent),
        'live: the scanner finds K2 of both files in the parent while K2 is in service';
    ok grep({ $_->{kind} eq 'watcher' } processes($parent)), 'live: the watcher runs';

    write_keys('memory-live', $keys, qw(k1));
    ok defined TkTest::wait_until(2 * $interval + 3, sub { k2_resumes_nowhere($srv, $sessions) }),
        'live: after [K1] is written, K2 tickets no longer resume';
    Time::HiRes::sleep(2 * $interval + 0.2);
    my $scan = scan_until_clean(2 * $interval + 1, patterns_of($keys), $parent);
    saw_k1_everywhere($scan, 'live');
    no_copy_in($scan, 'live: the parent', 'parent');
    no_copy_in($scan, 'live: the watcher', 'watcher');
    no_copy_in($scan, 'live: any child', 'child');
    TkTest::stop_server($srv);
}

# --- graceful restart, SSLTicketKeyReload off ----------------------------------------------

# A connection to an SSL vhost that sent half a request: the child serving it waits for
# the rest (Timeout), so it outlives a graceful restart.
sub hold_connection {
    my ($srv, $host) = @_;
    my $ctx = Net::SSLeay::CTX_new_with_method(Net::SSLeay::TLS_client_method()) or die;
    Net::SSLeay::CTX_set_verify($ctx, Net::SSLeay::VERIFY_NONE(), undef);
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->{port},
                                     Timeout => 10) or die "connect: $!";
    my $ssl = Net::SSLeay::new($ctx);
    Net::SSLeay::set_fd($ssl, fileno($sock));
    Net::SSLeay::set_tlsext_host_name($ssl, $host);
    Net::SSLeay::connect($ssl) == 1 or die 'handshake failed';
    Net::SSLeay::write($ssl, "GET /index.html HTTP/1.1\r\nHost: $host\r\n");
    return { ssl => $ssl, ctx => $ctx, sock => $sock };
}

sub release_connection {
    my $c = shift;
    Net::SSLeay::free($c->{ssl});
    Net::SSLeay::CTX_free($c->{ctx});
    close $c->{sock};
}

{
    my $keys = keys_for();
    write_keys('memory-off', $keys, qw(k2 k1));
    my $srv = start('memory-off', 'off');
    my $parent = TkTest::server_pid($srv->{pid_file});
    my %restart = (pid_file => $srv->{pid_file}, error_log => $srv->{error_log});

    ok all_sealed_by($srv, $keys, 'k2'), 'graceful: K2 seals at first, on both key files';
    my $sessions = k2_sessions($srv);
    write_keys('memory-off', $keys, qw(k1 k2));
    TkTest::graceful_restart(%restart);
    my @failed = resume_all($srv, $sessions, 3);
    ok all_sealed_by($srv, $keys, 'k1') && !@failed,
        'graceful: after [K1, K2] and a restart, K1 seals and K2 tickets resume in the children'
        or diag join "\n", @failed;
    ok parent_finds_every_k2($keys, $parent),
        'graceful: the scanner finds K2 of both files in the parent while K2 is in service';

    # Children of the generation that had K2 in service; one of them keeps serving.
    my $held = hold_connection($srv, $hosts[0]);
    my %old = map { $_->{pid} => 1 } grep { $_->{kind} eq 'child' } processes($parent);
    write_keys('memory-off', $keys, qw(k1));
    TkTest::graceful_restart(%restart);
    ok defined TkTest::wait_until(2 * $interval + 3, sub { k2_resumes_nowhere($srv, $sessions) }),
        'graceful: after [K1] and a restart, K2 tickets no longer resume';
    my @lingering = grep { $old{ $_->{pid} } } processes($parent);
    ok scalar @lingering, 'graceful: a child of the old generation still serves a connection'
        or diag 'old children: ' . join(' ', sort keys %old);
    Time::HiRes::sleep(2 * $interval + 0.2);
    no_copy_in(scan(patterns_of($keys), @lingering),
               "graceful: the old generation's child that still serves", 'child');

    release_connection($held);
    my $gone = TkTest::wait_until(15, sub {
        !grep { $old{ $_->{pid} } } processes($parent)
    });
    ok defined $gone, "graceful: every child of the old generation has gone"
        or diag 'still running: '
            . join(' ', map { $_->{pid} } grep { $old{ $_->{pid} } } processes($parent));
    my $scan = scan_until_clean(2 * $interval + 1, patterns_of($keys), $parent);
    saw_k1_everywhere($scan, 'graceful');
    # Without live reload nor automatic keys no watcher runs; if one did, it counts here.
    no_copy_in($scan, 'graceful: the parent (or a watcher)', 'parent', 'watcher');
    no_copy_in($scan, 'graceful: any child', 'child');
    TkTest::stop_server($srv);
}
