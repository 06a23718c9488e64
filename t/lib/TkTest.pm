# SPDX-License-Identifier: Apache-2.0
# Helpers for the Apache::Test suite: key files, a TLS client that keeps its sessions,
# reading a ticket out of a session, graceful restarts, `httpd -t`, and extra httpd
# instances for configurations the main test server cannot have at the same time.
package TkTest;

use strict;
use warnings FATAL => 'all';

use Cwd ();
use Digest::SHA ();
use File::Basename qw(dirname);
use File::Path ();
use File::Temp ();
use IO::Socket::INET ();
use MIME::Base64 ();
use Net::SSLeay ();
use POSIX ();
use Socket ();
use Time::HiRes ();

Net::SSLeay::initialize();

use constant { TLS12 => 0x0303, TLS13 => 0x0304 };

our $T_DIR = Cwd::abs_path(dirname(__FILE__) . '/..');
our $TOP_DIR = Cwd::abs_path("$T_DIR/..");

sub t_path { join '/', $T_DIR, @_ }

# --- what the servers' children read ---------------------------------------------------
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
        my $pid = server_pid();
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

# --- keys ----------------------------------------------------------------------------

sub random_bytes {
    my $n = shift;
    open my $fh, '<:raw', '/dev/urandom' or die "urandom: $!";
    read($fh, my $b, $n) == $n or die "urandom: short read";
    return $b;
}

# A key: name (16 bytes), hmac and aes (16 bytes each for 48-byte keys, 32 for 80).
sub new_key {
    my $size = shift || 48;
    my $secret = ($size - 16) / 2;
    return { name => random_bytes(16), hmac => random_bytes($secret),
             aes => random_bytes($secret), size => $size };
}

# The bytes of a key in a file: name|HMAC|AES, or name|AES|HMAC (nginx 48, haproxy).
sub key_bytes {
    my ($key, $aes_first) = @_;
    return $aes_first ? "$key->{name}$key->{aes}$key->{hmac}"
                      : "$key->{name}$key->{hmac}$key->{aes}";
}

sub fingerprint { substr(Digest::SHA::sha256_hex($_[0]->{name}), 0, 8) }

# Writes a key file, atomically (the server may read it at any time), mode 0600.
sub write_key_file {
    my ($path, $format, @keys) = @_;
    my $data;
    if ($format eq 'raw') {
        $data = join '', map { key_bytes($_) } @keys;
    } elsif ($format eq 'nginx') {
        $data = key_bytes($keys[0], $keys[0]->{size} == 48);
    } elsif ($format eq 'text' || $format eq 'haproxy') {
        # text keys may carry validity windows: not_before / not_after (Unix seconds)
        $data = join '', map {
            my $k = $_;
            MIME::Base64::encode_base64(key_bytes($k, $format eq 'haproxy'), '')
                . join('', map { defined $k->{$_} ? " \L${\ ($_ =~ tr/_/-/r)}=$k->{$_}" : '' }
                               qw(not_before not_after))
                . "\n"
        } @keys;
    } else {
        die "unknown format $format";
    }
    write_file($path, $data, 0600);
}

sub write_file {
    my ($path, $data, $mode) = @_;
    File::Path::make_path(dirname($path));
    my $tmp = "$path.tmp$$";
    open my $fh, '>:raw', $tmp or die "$tmp: $!";
    print $fh $data;
    close $fh or die "$tmp: $!";
    chmod $mode // 0600, $tmp;
    rename $tmp, $path or die "rename $tmp: $!";
}

# The key files the main test configuration names, with the keys in them.  Each is
# written once (a server may be running with them); tests that change one put its
# original content back.
our %KEY_FILES = (
    'server.key' => { format => 'raw',  sizes => [48, 48] }, # mod_ssl's layout, 2 keys
    'own.key'    => { format => 'text', sizes => [80, 48] },
    'rotate.key' => { format => 'raw',  sizes => [48] },
);

sub key_file_path { t_path('keys', $_[0]) }

# Vhost labels of t/conf/extra.conf.in and t/conf/sni.conf.in.
our @MAIN_VHOSTS = qw(default own inherit rotate off);
our @SNI_VHOSTS = map { "sni-$_" } qw(default a wild www b glob tls12 client);

sub prepare_main_server {
    File::Path::make_path(t_path('conf/ssl'));
    vhost_htdocs($_) for @MAIN_VHOSTS, @SNI_VHOSTS;
    write_test_key_files();
}

sub write_test_key_files {
    for my $file (sort keys %KEY_FILES) {
        my $path = key_file_path($file);
        next if -e $path;
        my $spec = $KEY_FILES{$file};
        write_key_file($path, $spec->{format}, map { new_key($_) } @{ $spec->{sizes} });
    }
}

# Reads back the keys of a file written by write_key_file (formats raw and text).
sub read_key_file {
    my $path = shift;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    my $data = <$fh>;
    my @blobs;
    if ($data !~ /[^\x20-\x7e\t\r\n]/) {
        # text: the first word of each line that is not a comment
        @blobs = map { MIME::Base64::decode_base64((split ' ', $_)[0]) }
                 grep { /\S/ && !/^\s*#/ } split /\n/, $data;
    } else {
        my $len = length($data) == 80 ? 80 : 48;
        @blobs = map { substr($data, $_ * $len, $len) } 0 .. length($data) / $len - 1;
    }
    return map {
        my $s = (length($_) - 16) / 2;
        { name => substr($_, 0, 16), hmac => substr($_, 16, $s), aes => substr($_, 16 + $s, $s),
          size => length($_) }
    } grep { length } @blobs;
}

# --- a TLS client ----------------------------------------------------------------------

sub ca_file { t_path('conf/ssl/ca/asf/certs/ca.crt') }

# One connection: TLS handshake with SNI `host` (none when undef), GET `path` with Host
# `host_header` (default `host`), close.  The server certificate must chain to `ca` (the
# test CA), and name `host` if `verify_name`; `client_cert` names a PEM file holding a
# client certificate and its key; `addr` is the server's (127.0.0.1 by default).
# Returns { ok, error, reused, version, status, body, cn (of the server certificate),
# session (DER, the newest the client holds after reading the response), ticket }.
sub connect_tls {
    my %o = @_;
    my $version = $o{version} || TLS12;
    my $r = { ok => 0, error => '' };
    my $ctx = Net::SSLeay::CTX_new_with_method(Net::SSLeay::TLS_client_method())
        or die "CTX_new";
    Net::SSLeay::CTX_set_min_proto_version($ctx, $version);
    Net::SSLeay::CTX_set_max_proto_version($ctx, $version);
    Net::SSLeay::CTX_load_verify_locations($ctx, $o{ca} || ca_file(), '');
    Net::SSLeay::CTX_set_verify($ctx, Net::SSLeay::VERIFY_PEER(), undef);
    if ($o{client_cert}) {
        Net::SSLeay::CTX_use_certificate_chain_file($ctx, $o{client_cert}) or die "client cert";
        Net::SSLeay::CTX_use_PrivateKey_file($ctx, $o{client_cert}, Net::SSLeay::FILETYPE_PEM())
            or die "client key";
    }
    my $sock = IO::Socket::INET->new(PeerAddr => $o{addr} // '127.0.0.1', PeerPort => $o{port},
                                     Timeout => 10)
        or do { $r->{error} = "connect: $!"; Net::SSLeay::CTX_free($ctx); return $r };
    # Without it, Nagle's algorithm holds the request back behind the client's last
    # handshake message until the server's delayed ACK: some 40 ms per TLS 1.2 resumption.
    setsockopt($sock, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);
    my $ssl = Net::SSLeay::new($ctx);
    Net::SSLeay::set_fd($ssl, fileno($sock));
    Net::SSLeay::set_tlsext_host_name($ssl, $o{host}) if defined $o{host};
    # The certificate must also name the host (not only chain to the CA).
    Net::SSLeay::X509_VERIFY_PARAM_set1_host(Net::SSLeay::get0_param($ssl), $o{host})
        if defined $o{host} && $o{verify_name};
    my $offered;
    if ($o{session}) {
        my $der = $o{session};
        $offered = Net::SSLeay::d2i_SSL_SESSION($der) or die "d2i_SSL_SESSION";
        Net::SSLeay::set_session($ssl, $offered);
    }
    my $connected = Net::SSLeay::connect($ssl) == 1;
    $r->{cn} = peer_cn($ssl);
    if ($connected) {
        $r->{reused} = Net::SSLeay::session_reused($ssl) ? 1 : 0;
        $r->{version} = Net::SSLeay::get_version($ssl);
        my $host = $o{host_header} // $o{host} // 'localhost';
        my $path = $o{path} || '/index.html';
        Net::SSLeay::write($ssl, "GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
        my $resp = '';
        while (defined(my $chunk = Net::SSLeay::read($ssl))) {
            last if $chunk eq '';
            $resp .= $chunk;
        }
        ($r->{status}) = $resp =~ m{^HTTP/1\.\d (\d+)};
        (undef, $r->{body}) = split /\r\n\r\n/, $resp, 2;
        my $sess = Net::SSLeay::get1_session($ssl);
        if ($sess) {
            $r->{session} = Net::SSLeay::i2d_SSL_SESSION($sess);
            $r->{ticket} = ticket_of_session($r->{session});
            Net::SSLeay::SESSION_free($sess);
        }
        $r->{ok} = defined $r->{status};
        # A session freed without close_notify is marked not resumable by OpenSSL.
        Net::SSLeay::shutdown($ssl);
    } else {
        $r->{error} = Net::SSLeay::ERR_error_string(Net::SSLeay::ERR_get_error()) || 'handshake failed';
    }
    $r->{error} ||= 'no response' unless $r->{ok};
    Net::SSLeay::SESSION_free($offered) if $offered;
    Net::SSLeay::free($ssl);
    Net::SSLeay::CTX_free($ctx);
    close $sock;
    return $r;
}

# The common name of the certificate the server sent, or undef when it sent none.
sub peer_cn {
    my $ssl = shift;
    my $cert = Net::SSLeay::get_peer_certificate($ssl) or return undef;
    my $cn = Net::SSLeay::X509_NAME_get_text_by_NID(
        Net::SSLeay::X509_get_subject_name($cert), Net::SSLeay::NID_commonName());
    Net::SSLeay::X509_free($cert);
    return $cn;
}

# The ticket inside a DER SSL_SESSION: the OCTET STRING of the element tagged [10].
sub ticket_of_session {
    my $der = shift;
    my ($tag, $body) = der_read(\$der);
    return '' unless $tag == 0x30;
    while (length $body) {
        my ($t, $v) = der_read(\$body);
        if ($t == 0xaa) {
            my ($it, $iv) = der_read(\$v);
            return $it == 0x04 ? $iv : '';
        }
    }
    return '';
}

sub der_read {
    my $ref = shift;
    my ($tag, $len) = unpack 'CC', $$ref;
    my $off = 2;
    if ($len & 0x80) {
        my $n = $len & 0x7f;
        $len = 0;
        $len = ($len << 8) | ord(substr($$ref, $off++, 1)) for 1 .. $n;
    }
    my $value = substr($$ref, $off, $len);
    substr($$ref, 0, $off + $len) = '';
    return ($tag, $value);
}

# Whether OpenSSL's ticket layout name(16)|IV(16)|ciphertext|HMAC-SHA256(32) carries the
# key's name and an HMAC made with the key's HMAC bytes.
sub sealed_by {
    my ($ticket, $key) = @_;
    return 0 unless defined $ticket && length($ticket) > 16 + 16 + 32;
    return 0 unless substr($ticket, 0, 16) eq $key->{name};
    my $mac = Digest::SHA::hmac_sha256(substr($ticket, 0, -32), $key->{hmac});
    return $mac eq substr($ticket, -32);
}

# The session as PEM, for openssl s_client -sess_in.
sub session_pem {
    my $der = shift;
    my $b64 = MIME::Base64::encode_base64($der);
    return "-----BEGIN SSL SESSION PARAMETERS-----\n$b64-----END SSL SESSION PARAMETERS-----\n";
}

# One connection with `openssl s_client`, with SNI `host` (none when undef), offering the
# session `session` (DER) if given, with more arguments `args` (an array).  Returns
# { reused, offered (the ClientHello carried a ticket or a TLS 1.3 PSK), sent and received
# (the names of the handshake messages each side sent), alert (the fatal alert the
# server sent, e.g. "unrecognized name(112)"), cn (of its certificate), body, session
# (DER) }.
sub s_client {
    my %o = @_;
    my $dir = t_path('tmp');
    File::Path::make_path($dir);
    my ($in, $req, $out) = map { "$dir/s_client-$$.$_" } qw(in req out);
    my $host = $o{host_header} // $o{host} // 'localhost';
    write_file($req, "GET /index.html HTTP/1.0\r\nHost: $host\r\n\r\n", 0600);
    my @args = ('-connect', "127.0.0.1:$o{port}",
                defined $o{host} ? ('-servername', $o{host}) : ('-noservername'),
                "-$o{version}", '-CAfile', ca_file(), '-sess_out', $out, '-ign_eof', '-trace',
                @{ $o{args} || [] });
    if ($o{session}) {
        write_file($in, session_pem($o{session}), 0600);
        push @args, '-sess_in', $in;
    }
    unlink $out;
    my $cmd = join ' ', 'openssl s_client', map { "'$_'" } @args;
    my $output = `$cmd < $req 2>&1`;
    my $r = { output => $output };
    $r->{reused} = $output =~ /^Reused, /m ? 1 : 0;
    $r->{offered} = ($output =~ /extension_type=session_ticket\(35\), length=[1-9]/
                     || $output =~ /extension_type=psk\(41\)/) ? 1 : 0;
    ($r->{body}) = $output =~ /\r\n\r\n(.*?)(?:closed|DONE|$)/s;
    ($r->{cn}) = $output =~ /^subject=.*?CN = ([^,\n]+)/m;
    my ($from_server, @sent, @received) = (0);
    for my $line (split /\n/, $output) {
        $from_server = 1 if $line =~ /^Received Record/;
        $from_server = 0 if $line =~ /^Sent Record/;
        push @{ $from_server ? \@received : \@sent }, $1 if $line =~ /^\s+(\w+), Length=\d+/;
        $r->{alert} = $1 if $from_server && $line =~ /Level=fatal\(2\), description=(.+)$/;
    }
    $r->{sent} = \@sent;
    $r->{received} = \@received;
    if (-s $out) {
        $r->{session} = `openssl sess_id -in '$out' -outform DER 2>/dev/null`;
        $r->{ticket} = ticket_of_session($r->{session});
    }
    unlink $in, $req, $out;
    return $r;
}

sub read_file {
    my $path = shift;
    open my $fh, '<:raw', $path or return '';
    local $/;
    return scalar <$fh>;
}

# --- the server ------------------------------------------------------------------------

sub error_log { t_path('logs/error_log') }

# Number of times the server finished (re)configuring, from its error log.
sub generations {
    my $log = shift || error_log();
    my $n = () = read_file($log) =~ /resuming normal operations/g;
    return $n;
}

# Graceful restart of the server whose pid file is given, waiting until it runs again.
sub graceful_restart {
    my %o = @_;
    my $pid_file = $o{pid_file} || t_path('logs/httpd.pid');
    my $log = $o{error_log} || error_log();
    my $before = generations($log);
    my $pid = server_pid($pid_file);
    kill 'USR1', $pid or die "cannot signal httpd $pid: $!";
    for (1 .. 200) {
        return 1 if generations($log) > $before;
        Time::HiRes::sleep(0.05);
    }
    die "httpd did not come back from a graceful restart";
}

# The pids of the processes whose parent is $parent (httpd's children and its watcher).
sub child_pids {
    my $parent = shift;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my ($pid, $ppid) = read_file($stat) =~ /^(\d+) \(.*\) \S (\d+)/s or next;
        push @pids, $pid if $ppid == $parent;
    }
    return sort { $a <=> $b } @pids;
}

sub server_pid {
    my $pid_file = shift || t_path('logs/httpd.pid');
    chomp(my $pid = read_file($pid_file));
    return $pid;
}

# Calls $check every 50 ms until it returns true or $seconds have passed; returns the
# seconds it took, or undef on timeout.
sub wait_until {
    my ($seconds, $check) = @_;
    my $start = Time::HiRes::time();
    while (1) {
        return Time::HiRes::time() - $start if $check->();
        return undef if Time::HiRes::time() - $start > $seconds;
        Time::HiRes::sleep(0.05);
    }
}

# Occurrences of a pattern in a log, from byte offset $from.
sub log_count {
    my ($log, $re, $from) = @_;
    my $n = () = substr(read_file($log), $from // 0) =~ /$re/g;
    return $n;
}

# A configuration of the base modules and the given directives, with its ServerRoot and
# logs in dir, listening on a free port: for `httpd -t`.
sub minimal_conf {
    my ($dir, $directives) = @_;
    my $port = free_port();
    return base_modules() . <<"CONF";
ServerRoot $dir
ServerName localhost
Listen 127.0.0.1:$port
ErrorLog $dir/error_log
DefaultRuntimeDir $dir
$directives
CONF
}

# Runs `httpd -t` on a configuration; returns (exit status, output).
sub httpd_t {
    my $conf_text = shift;
    my $dir = t_path('tmp');
    File::Path::make_path($dir);
    my $conf = "$dir/check-$$.conf";
    write_file($conf, $conf_text, 0644);
    my $out = `${\ httpd()} -t -f $conf 2>&1`;
    my $status = $? >> 8;
    unlink $conf;
    return ($status, $out);
}

# The module lines every configuration made here starts with: httpd's, then this project's
# two modules.  Options: tickets => 0 or sni => 0 leaves one out; sni_first => 1 loads
# mod_sni_vhost before mod_ssl.
sub base_modules {
    my %o = (tickets => 1, sni => 1, sni_first => 0, @_);
    my $dir = apxs_query('LIBEXECDIR');
    my @mods = qw(mpm_event authz_core mime dir ssl socache_shmcb status);
    my $sni = "LoadModule sni_vhost_module " . module_path('mod_sni_vhost.so') . "\n";
    my $conf = $o{sni} && $o{sni_first} ? $sni : '';
    $conf .= join '', map { "LoadModule ${_}_module $dir/mod_$_.so\n" } @mods;
    $conf .= "LoadModule tls_tickets_module " . module_path('mod_tls_tickets.so') . "\n"
        if $o{tickets};
    $conf .= $sni if $o{sni} && !$o{sni_first};
    return $conf;
}

# The file given to Apache::Test as -httpd_conf: it takes the modules to load from it.
sub base_httpd_conf {
    my $path = t_path('conf/base-httpd.conf');
    write_file($path, "# made by t/TEST\n" . base_modules(), 0644);
    return $path;
}

# GET over plain HTTP; returns the body.
sub http_get {
    my ($port, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10)
        or return '';
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    return (split /\r\n\r\n/, $resp, 2)[1] // '';
}

# Configuration for start_server(): server-status over plain HTTP on @PORT2@, so that
# reading it moves no TLS counter.
sub status_vhost {
    return <<'CONF';
Listen 127.0.0.1:@PORT2@
<VirtualHost 127.0.0.1:@PORT2@>
    <Location /server-status>
        SetHandler server-status
    </Location>
</VirtualHost>
CONF
}

# server-status?auto as a hash.
sub status_auto {
    my $port = shift;
    return { map { /^([^:]+): (.*)$/ ? ($1 => $2) : () } split /\n/, http_get($port, '/server-status?auto') };
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Servers started here and not stopped yet: a test that dies does not leave them running.
my %running;
END { stop_server($_) for values %running }

# An extra httpd, for a configuration the main server cannot have at the same time.
# body is the configuration after the global lines; @PORT@ and @T@ in it are replaced,
# and @PORT2@ by a second free port (which the body must Listen on itself); %modules are
# base_modules() options.  Returns { port, port2, dir, conf, pid_file, error_log }; stop it
# with stop_server().
sub start_server {
    my ($name, $body, %modules) = @_;
    my $dir = t_path('tmp', $name);
    File::Path::remove_tree($dir);
    File::Path::make_path("$dir/htdocs");
    chmod 0755, $dir, "$dir/htdocs";
    my $port = free_port();
    my $port2 = free_port();
    my $user = $> == 0 ? "User nobody\nGroup nogroup\n" : '';
    $body =~ s/\@PORT\@/$port/g;
    $body =~ s/\@PORT2\@/$port2/g;
    $body =~ s/\@T\@/$T_DIR/g;
    my $conf = <<"EOF" . $body;
${\ base_modules(%modules)}
ServerRoot $dir
ServerName localhost
${user}Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
DefaultRuntimeDir $dir
LogLevel info
DocumentRoot ${\ served_path('htdocs')}
StartServers 1
TypesConfig /dev/null
EOF
    write_file("$dir/httpd.conf", $conf, 0644);
    my $srv = { port => $port, port2 => $port2, dir => $dir, conf => "$dir/httpd.conf",
                pid_file => "$dir/httpd.pid", error_log => "$dir/error_log" };
    system(httpd(), '-f', $srv->{conf}, '-k', 'start') == 0
        or die "httpd $name did not start: " . read_file($srv->{error_log});
    $running{$srv->{conf}} = $srv;
    for (1 .. 600) { # a configuration of many SSL vhosts takes seconds to load
        if (generations($srv->{error_log}) > 0
            && IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)) {
            return $srv;
        }
        Time::HiRes::sleep(0.05);
    }
    die "httpd $name is not answering: " . read_file($srv->{error_log});
}

sub stop_server {
    my $srv = shift;
    delete $running{$srv->{conf}};
    my ($pid) = -e $srv->{pid_file} ? read_file($srv->{pid_file}) =~ /(\d+)/ : ();
    # httpd -k stop reads the configuration before it signals, and refuses while a key
    # file is bad (as for any configuration error; a test may end with one): then the
    # master gets SIGTERM itself.
    my $conf = $srv->{conf};
    `${\ httpd()} -f '$conf' -k stop 2>&1`;
    kill 'TERM', $pid if $? != 0 && $pid;
    for (1 .. 200) {
        return unless -e $srv->{pid_file};
        Time::HiRes::sleep(0.05);
    }
}

# An extra httpd whose vhost ($o{vhost}, alpha.tk.test by default) takes its keys from a
# key file of its own, written with @{$o{keys}} in $o{format} (raw by default), with
# `SSLTicketKeyReload $o{reload}` checked every second; $o{global} and $o{in_vhost} add
# configuration.  Returns ($srv, $key_file).
sub start_keyed_server {
    my ($name, %o) = @_;
    my $file = t_path('tmp', "$name.key");
    write_key_file($file, $o{format} // 'raw', @{ $o{keys} });
    my $srv = start_server($name, "SSLTicketKeyReload $o{reload}\nSSLTicketKeyCheckInterval 1\n"
        . "SSLTicketKeyFile $file\n" . ($o{global} // '')
        . ssl_vhost($o{vhost} // 'alpha.tk.test', $o{in_vhost}));
    return ($srv, $file);
}

# Each test vhost serves its own document root, whose index.html holds its label, so a
# response tells which vhost served it.
sub vhost_htdocs {
    my $label = shift;
    my $dir = served_path('htdocs', $label);
    write_file("$dir/index.html", "$label\n", 0644) unless -e "$dir/index.html";
    chmod 0755, $dir;
    return $dir;
}

# A name-based SSL vhost for start_server() configurations, on the certificate `cert`
# of the test CA (tk_server, for *.tk.test, unless told).
sub ssl_vhost {
    my ($name, $extra, $cert) = @_;
    $cert //= 'tk_server';
    my $ca = t_path('conf/ssl/ca/asf');
    my $htdocs = vhost_htdocs((split /\./, $name)[0]);
    return <<"EOF";
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName $name
    SSLEngine on
    SSLCertificateFile $ca/certs/$cert.crt
    SSLCertificateKeyFile $ca/keys/$cert.pem
    DocumentRoot $htdocs
${\ ($extra // '')}
</VirtualHost>
EOF
}

1;
