# SPDX-License-Identifier: Apache-2.0
# Host routing on a plain-HTTP address, by the module's index instead of core's scan: each
# effect of core's routing holds (exact names and aliases in any case, with a trailing dot
# or a port; "*.domain" over any number of labels, before a later exact name, as core
# has it; other globs; ServerPath without Host; the default vhost), and so do the effects
# of a switch (the vhost's per-directory configuration before the walks, its Timeout, its
# KeepAlive), on HTTP/1.x and on h2c (upgrade and prior knowledge).  The module's trace log
# shows that it made each choice: without it core would have.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Select;
use Time::HiRes ();
use TkTest;
use HostRoute;

my $modules = TkTest::apxs_query('LIBEXECDIR');
sub vhost {
    my ($name, $label, $extra) = @_;
    return <<"EOF";
<VirtualHost *:\@PORT\@>
    ServerName $name
$extra
    ErrorDocument 404 "$label"
    ErrorDocument 400 "$label-400"
</VirtualHost>
EOF
}
my $conf = <<"EOF"
LoadModule http2_module $modules/mod_http2.so
Protocols h2c http/1.1
LogLevel info sni_vhost:trace1
Timeout 1
EOF
    . vhost('default.host.test', 'fallback', '')
    . vhost('exact.host.test', 'exact', "    ServerAlias alias.host.test\n    Timeout 30\n    KeepAlive Off")
    . vhost('wild.host.test', 'wild', '    ServerAlias *.wild.host.test')
    . vhost('www.wild.host.test', 'www', '')
    . vhost('glob.host.test', 'glob', "    ServerAlias g?.glob.host.test\n    Timeout 30")
    . vhost('path.host.test', 'path', '    ServerPath /pathvhost');

# [request head options, status, vhost label, how the module matched (undef: no switch), what]
my @cases = (
    [{host => 'exact.host.test'},        404, 'exact',   'name',     'ServerName'],
    [{host => 'ALIAS.Host.Test.'},       404, 'exact',   'name',     'ServerAlias in capitals with a trailing dot'],
    [{host => 'exact.host.test:8080'},   404, 'exact',   'name',     'a port in Host does not route'],
    [{host => 'a.b.wild.host.test'},     404, 'wild',    'wildcard', '*.domain spans labels, as in core'],
    [{host => 'www.wild.host.test'},     404, 'wild',    'wildcard', 'an earlier *.domain beats a later exact name, as in core'],
    [{host => 'g7.glob.host.test'},      404, 'glob',    'glob',     'a glob alias'],
    [{host => 'nothing.test'},           404, 'fallback', undef,      'an unknown Host: the default vhost'],
    [{version => '1.0', uri => '/pathvhost/x'}, 404, 'path', 'none', 'no Host: ServerPath'],
    [{version => '1.0', uri => '/elsewhere'},   404, 'fallback', undef, 'no Host, no ServerPath: the default vhost'],
    [{uri => 'ftp://exact.host.test/x', host => 'exact.host.test'}, 400, 'exact-400', 'name',
     'a scheme refused after post_read_request: the routed vhost\'s per-directory configuration'],
);

plan tests => 2 * @cases + 9;

my $srv = TkTest::start_server('sni-host-plain', $conf, tickets => 0);
like TkTest::read_file($srv->{error_log}),
    qr/address \*:$srv->{port}: requests are routed by Host through an index of 6 vhosts \(1 globs tried in turn\)/,
    'the address is routed by an index';

my $log_from = length TkTest::read_file($srv->{error_log});
my @resp = HostRoute::exchange($srv->{port}, [map { HostRoute::get(uri => "/x", %{ $_->[0] }) } @cases]);
Time::HiRes::sleep(0.3);
my $log = substr(TkTest::read_file($srv->{error_log}), $log_from);
for my $i (0 .. $#cases) {
    my ($req, $status, $label, $how, $what) = @{ $cases[$i] };
    my $r = $resp[$i];
    is $r && "$r->{status} $r->{body}", "$status $label", "$what: $status from vhost $label";
    my $host = $req->{host} ? lc $req->{host} : '(none)';
    $host =~ s/:\d+$//;
    $host =~ s/\.$//;
    if (defined $how) {
        like $log, qr/Host \Q$host\E: vhost [^ ]+ \($how\)/, "$what: routed by the module ($how)";
    } else {
        unlike $log, qr/: vhost default\.host\.test/, "$what: no switch";
    }
}

# KeepAlive is the routed vhost's
my ($ka_default, $ka_exact) = HostRoute::exchange($srv->{port},
    [HostRoute::get(uri => "/x", host => "nothing.test"), HostRoute::get(uri => "/x", host => "exact.host.test")]);
ok $ka_default && !$ka_default->{close} && $ka_exact && $ka_exact->{close},
    'KeepAlive: the default vhost keeps the connection, the routed vhost (KeepAlive Off) closes it';

# Timeout is the routed vhost's: the body of a request to glob.host.test (Timeout 30) may
# pause longer than the server-wide Timeout 1 of the default vhost, and the connection goes
# on with the next request; to the default vhost the same pause ends the connection.
sub responses_after_slow_body {
    my ($host) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->{port}, Timeout => 10)
        or die "connect: $!";
    syswrite $s, "POST /x HTTP/1.1\r\nHost: $host\r\nContent-Length: 10\r\n\r\n12345";
    sleep 3;
    syswrite $s, "67890GET /x HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
    my $buf = '';
    my $sel = IO::Select->new($s);
    while ($sel->can_read(10)) {
        last unless sysread($s, $buf, 4096, length $buf);
    }
    note("after a slow body to $host: $buf") if $ENV{SNI_HOST_SHOW};
    return scalar(() = $buf =~ m{HTTP/1\.1 \d{3}}g);
}
is responses_after_slow_body('g1.glob.host.test'), 2,
    'Timeout: a 3-second pause in a body fits the routed vhost\'s Timeout 30';
cmp_ok responses_after_slow_body('nothing.test'), '<', 2,
    '... and ends the connection on the default vhost (Timeout 1)';

# h2c, by upgrade and by prior knowledge: each stream is routed the same way
for my $mode (['--http2', 'upgrade', 'up'], ['--http2-prior-knowledge', 'prior knowledge', 'pk']) {
    my $host = "$mode->[2].wild.host.test";
    my $mark = length TkTest::read_file($srv->{error_log});
    my $out = `curl -s -o - -w ' %{http_version}' $mode->[0] --connect-to $host:80:127.0.0.1:$srv->{port} http://$host/x 2>&1`;
    is $out, 'wild 2', "h2c ($mode->[1]): the stream gets core's vhost (HTTP/2)";
    Time::HiRes::sleep(0.3);
    like substr(TkTest::read_file($srv->{error_log}), $mark), qr/Host \Q$host\E: vhost wild\.host\.test \(wildcard\)/,
        "h2c ($mode->[1]): routed by the module";
}

TkTest::stop_server($srv);

# SNIVhostPlainHTTP off leaves the address to core's scan, which routes the same way
my $off = TkTest::start_server('sni-host-plain-off', "SNIVhostPlainHTTP off\n$conf", tickets => 0);
my ($r) = HostRoute::exchange($off->{port}, [HostRoute::get(uri => "/x", host => "www.wild.host.test")]);
Time::HiRes::sleep(0.3);
my $off_log = TkTest::read_file($off->{error_log});
ok $r && $r->{body} eq 'wild' && $off_log !~ /requests are routed by Host/ && $off_log !~ /Host www\.wild\.host\.test: vhost/,
    'SNIVhostPlainHTTP off: core routes the address (same vhost, no index)';
TkTest::stop_server($off);
