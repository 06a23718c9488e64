# SPDX-License-Identifier: Apache-2.0
# httpd instances: the main server's configuration, extra servers for configurations it
# cannot have at the same time, graceful restarts, `httpd -t`, logs, server-status.
package TkTest::Server;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Path ();
use IO::Socket::INET ();
use Socket ();
use Time::HiRes ();

use TkTest::Paths;
use TkTest::Keys;
use TkTest::Client;

our @EXPORT = qw(
    prepare_main_server error_log generations graceful_restart child_pids server_pid
    wait_until log_count minimal_conf httpd_t base_modules base_httpd_conf http_get
    status_vhost status_auto free_port start_server stop_server start_keyed_server
    vhost_htdocs ssl_vhost self_signed_cert
);

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

# A self-signed certificate for name in dir, $dir/cert.crt and $dir/cert.key (for the
# load scripts, which need nothing from the test suite's CA).
sub self_signed_cert {
    my ($dir, $name) = @_;
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$name "
         . "-addext subjectAltName=DNS:$name -keyout $dir/cert.key -out $dir/cert.crt "
         . ">/dev/null 2>&1") == 0 or die "openssl req failed";
    return ("$dir/cert.crt", "$dir/cert.key");
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
# Before the main test server reads its configuration: its key files and documents.
sub prepare_main_server {
    File::Path::make_path(t_path('conf/ssl'));
    vhost_htdocs($_) for @MAIN_VHOSTS, @SNI_VHOSTS;
    write_test_key_files();
}

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
