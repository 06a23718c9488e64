# SPDX-License-Identifier: Apache-2.0
# Helpers for the farm tests (SSLTicketKeyStore): a Redis or memcached of the test's own
# on a free loopback port, farm secrets, and httpd instances of one farm, each on its own
# loopback address with the same port and configuration (as servers behind a balancer).
package TkFarm;

use strict;
use warnings FATAL => 'all';

use File::Path ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use TkTest;

my %daemons; # pid => what, stopped at the end even when a test dies
END { stop_daemon($_) for values %daemons }

sub _spawn {
    my ($what, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    my $d = { pid => $pid, what => $what, cmd => \@cmd };
    $daemons{$pid} = $d;
    return $d;
}

sub _port_answers {
    my $port = shift;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1) ? 1 : 0;
}

# A Redis with no persistence (a restart brings it back empty), on a free port.
sub start_redis {
    my %o = @_;
    my $port = $o{port} || TkTest::free_port();
    my $dir = TkTest::t_path('tmp', "redis-$port");
    File::Path::make_path($dir);
    my $d = _spawn('redis', 'redis-server', '--port', $port, '--bind', '127.0.0.1',
                   '--save', '', '--appendonly', 'no', '--dir', $dir,
                   '--enable-debug-command', 'yes', '--protected-mode', 'no');
    $d->{port} = $port;
    TkTest::wait_until(10, sub { redis_cli($d, 'PING') =~ /PONG/ })
        or die "redis-server on port $port did not answer";
    return $d;
}

# A memcached on a free port.
sub start_memcached {
    my $port = TkTest::free_port();
    my @user = $> == 0 ? ('-u', 'nobody') : ();
    my $d = _spawn('memcached', 'memcached', '-l', '127.0.0.1', '-p', $port, '-U', '0', @user);
    $d->{port} = $port;
    TkTest::wait_until(10, sub { _port_answers($port) })
        or die "memcached on port $port did not answer";
    return $d;
}

sub stop_daemon {
    my $d = shift;
    return unless $d && $daemons{ $d->{pid} };
    delete $daemons{ $d->{pid} };
    kill 'TERM', $d->{pid};
    waitpid $d->{pid}, 0;
    TkTest::wait_until(10, sub { !_port_answers($d->{port}) });
}

# redis-cli's output for one command (arguments as a list).
sub redis_cli {
    my ($d, @args) = @_;
    my $cmd = join ' ', 'redis-cli', '-p', $d->{port}, map { "'$_'" } @args;
    return scalar `$cmd 2>/dev/null`;
}

# Sets key to a raw value (any bytes).
sub redis_set {
    my ($d, $key, $value) = @_;
    open my $fh, '|-', 'redis-cli', '-p', $d->{port}, '-x', 'SET', $key or die "redis-cli: $!";
    binmode $fh;
    print $fh $value;
    close $fh or die "redis-cli SET $key failed";
}

# Every key of the Redis and its value, raw.
sub redis_dump {
    my $d = shift;
    my %dump;
    for my $key (split /\n/, redis_cli($d, '--scan')) {
        next unless length $key;
        my $cmd = "redis-cli -p $d->{port} --no-raw GET '$key' 2>/dev/null";
        # --no-raw quotes the value with escapes; raw bytes are safer through a pipe
        open my $fh, '-|', 'redis-cli', '-p', $d->{port}, '--raw', 'GET', $key or die "redis-cli: $!";
        binmode $fh;
        local $/;
        my $v = <$fh> // '';
        close $fh;
        $v =~ s/\n\z//; # --raw ends the value with a newline
        $dump{$key} = $v;
    }
    return \%dump;
}

# The tag of the secret in a file of 64 hex digits, as entry ids carry it (tk_farm.h).
sub secret_tag {
    my $path = shift;
    require Digest::SHA;
    (my $hex = TkTest::read_file($path)) =~ s/\s+//g;
    return substr Digest::SHA::hmac_sha256_hex('mod_tls_tickets farm entry id', pack('H*', $hex)), 0, 8;
}

# A farm secret file: 64 hex digits, mode 0600 (or $mode).
sub write_secret {
    my ($path, $hex, $mode) = @_;
    $hex //= unpack 'H*', TkTest::random_bytes(32);
    TkTest::write_file($path, "$hex\n", $mode // 0600);
    return $hex;
}

sub socache_module {
    my $name = shift;
    my $dir = TkTest::apxs_query('LIBEXECDIR');
    return "LoadModule socache_${name}_module $dir/mod_socache_$name.so\n";
}

# The vhost every server of the farm has, on *:$port.
sub farm_vhost {
    my $port = shift;
    my $ca = TkTest::t_path('conf/ssl/ca/asf');
    my $htdocs = TkTest::vhost_htdocs('www');
    return <<"EOF";
<VirtualHost *:$port>
    ServerName www.example.com
    SSLEngine on
    SSLCertificateFile $ca/certs/tk_server.crt
    SSLCertificateKeyFile $ca/keys/tk_server.pem
    DocumentRoot $htdocs
</VirtualHost>
EOF
}

# One server of the farm on $addr:$port.  %o: store (provider:arguments), provider (the
# socache module to load), secret (path), period (s), name, lifetime (session timeout),
# extra (configuration).
sub start_farm_server {
    my ($name, $addr, $port, %o) = @_;
    my $conf = socache_module($o{provider} // 'redis')
        . "SSLTicketKeyStore $o{store}\n"
        . "SSLTicketKeyStoreSecret $o{secret}\n"
        . "SSLTicketKeyStorePeriod " . ($o{period} // 8) . "\n"
        . (defined $o{name} ? "SSLTicketKeyStoreName $o{name}\n" : '')
        . "SSLTicketKeyCheckInterval 1\n"
        . "SSLSessionCache shmcb:\@T\@/tmp/$name-scache(65536)\n"
        . "SSLSessionCacheTimeout " . ($o{lifetime} // 30) . "\n"
        . "LogLevel info tls_tickets:debug\n"
        . TkTest::status_vhost()
        . "Listen $addr:$port\n" . farm_vhost($port) . ($o{extra} // '');
    my $srv = TkTest::start_server($name, $conf);
    $srv->{addr} = $addr;
    $srv->{farm_port} = $port;
    return $srv;
}

# One handshake with a server of the farm, offering $session (DER) if given.
sub connect_farm {
    my ($srv, $version, $session) = @_;
    return TkTest::connect_tls(addr => $srv->{addr}, port => $srv->{farm_port},
                               host => 'www.example.com', version => $version,
                               $session ? (session => $session) : ());
}

sub status { TkTest::status_auto($_[0]->{port2}) }

# Waits until every server answers the store and seals with one key; returns that key's
# fingerprint, or undef after $seconds.
sub wait_converged {
    my ($seconds, @servers) = @_;
    my $fp;
    TkTest::wait_until($seconds, sub {
        my @st = map { status($_) } @servers;
        return 0 if grep { !$_->{TLSTicketStoreReachable} || !$_->{TLSTicketStoreSealingKey} } @st;
        my %keys = map { $_->{TLSTicketStoreSealingKey} => 1 } @st;
        return 0 unless keys %keys == 1;
        ($fp) = keys %keys;
        return 1;
    }) or return undef;
    return $fp;
}

# Client load across the farm, in rounds: each takes a new session from one server (in
# turn) and offers it to every other server, in TLS 1.2 and 1.3, and offers a session 5 to
# 20 s old (younger than the tests' 30 s session timeout) to another server.  Runs until
# $until->(\%sealing) (the sealing keys the first server reported so far) is true; notes
# the key name of each ticket in %$names.  Returns (handshakes, failed, not resumed,
# distinct sealing keys seen).
sub load {
    my ($names, $until, @servers) = @_;
    my ($n, $failed, $not_resumed, %sealing) = (0, 0, 0);
    my (@old, $round);
    my $note = sub { Test::More::diag($_[0]) };
    while (!$until->(\%sealing)) {
        my $from = $servers[$round++ % @servers];
        for my $version (TkTest::TLS12, TkTest::TLS13) {
            my $first = connect_farm($from, $version);
            $n++;
            if (($first->{status} // 0) != 200) {
                $failed++;
                $note->("$from->{addr}: $first->{error}");
                next;
            }
            next unless $first->{session};
            $names->{ substr($first->{ticket}, 0, 16) } = 1 if length($first->{ticket} // '') >= 16;
            push @old, [time, $first->{session}, $from, $version];
            for my $to (grep { $_ != $from } @servers) {
                my $r = connect_farm($to, $version, $first->{session});
                $n++;
                if (($r->{status} // 0) != 200) { $failed++; $note->("$to->{addr}: $r->{error}"); next }
                unless ($r->{reused}) {
                    $not_resumed++;
                    $note->("a ticket of $from->{addr} did not resume on $to->{addr} ($version)");
                }
            }
        }
        @old = grep { time - $_->[0] <= 20 } @old;
        if (my ($old) = grep { time - $_->[0] >= 5 } @old) {
            my ($when, $session, $from, $version) = @$old;
            my ($to) = grep { $_ != $from } @servers;
            my $r = connect_farm($to, $version, $session);
            $n++;
            if (($r->{status} // 0) != 200) { $failed++; $note->("$to->{addr}: $r->{error}") }
            elsif (!$r->{reused}) {
                $not_resumed++;
                $note->("a ticket ${\ (time - $when)} s old of $from->{addr} did not resume on $to->{addr}");
            }
        }
        my $st = status($servers[0]);
        $sealing{ $st->{TLSTicketStoreSealingKey} } = 1 if $st->{TLSTicketStoreSealingKey};
        Time::HiRes::sleep(0.1);
    }
    return ($n, $failed, $not_resumed, scalar keys %sealing);
}

1;
