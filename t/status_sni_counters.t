# SPDX-License-Identifier: Apache-2.0
# mod_sni_vhost's counters in server-status and its log variables: a scripted sequence of
# handshakes (exact, wildcard and glob names, unknown names, none) moves each counter by
# exactly the expected amount, under both policies; ?auto parses; the counters survive a
# graceful restart; SNI_VHOST_MATCH and SNI_VHOST_NAME appear in an access log.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my @keys = qw(SNIVhostExact SNIVhostWildcard SNIVhostGlob SNIVhostUnknownDefault
              SNIVhostUnknownRejected SNIVhostMissingDefault SNIVhostMissingRejected);

sub server {
    my ($name, $policies) = @_;
    my $log = TkTest::t_path('tmp', $name, 'sni_log');
    return TkTest::start_server($name, $policies
        . qq{CustomLog $log "%{SNI_VHOST_MATCH}e %{SNI_VHOST_NAME}e %r"\n} . TkTest::status_vhost()
        . TkTest::ssl_vhost('a.sni.test', '', 'sni_a_server')
        . TkTest::ssl_vhost('wild.sni.test', 'SNIVhost *.wild.sni.test', 'sni_wild_server')
        . TkTest::ssl_vhost('glob.sni.test', 'ServerAlias g?.glob.sni.test', 'sni_glob_server'));
}

sub moved {
    my ($before, $after) = @_;
    return { map { $_ => ($after->{$_} // 0) - ($before->{$_} // 0) } @keys };
}

# A handshake with SNI $host (or none), and a request tagged with $tag for the log.
sub hello {
    my ($srv, $host, $tag) = @_;
    return TkTest::connect_tls(port => $srv->{port}, host => $host,
                               host_header => $host // 'a.sni.test', path => "/index.html?$tag");
}

plan tests => 1 + 2 + 2 + 1 + 6;

my $srv = server('sni-counters', '');
my $t0 = TkTest::status_auto($srv->{port2});
is_deeply [grep { !defined $t0->{$_} || $t0->{$_} !~ /^\d+$/ } @keys], [],
    '?auto has every SNIVhost key, each a whole number';

hello($srv, 'a.sni.test', "exact$_") for 1 .. 3;
hello($srv, "$_.wild.sni.test", "wild-$_") for qw(x y);
hello($srv, 'g1.glob.sni.test', 'glob');
hello($srv, 'nope.sni.test', 'unknown');
hello($srv, '127.0.0.1', 'ip');
hello($srv, undef, 'missing');
my $t1 = TkTest::status_auto($srv->{port2});
is_deeply moved($t0, $t1), { SNIVhostExact => 3, SNIVhostWildcard => 2, SNIVhostGlob => 1,
                             SNIVhostUnknownDefault => 2, SNIVhostUnknownRejected => 0,
                             SNIVhostMissingDefault => 1, SNIVhostMissingRejected => 0 },
    'default policies: each counter moved by exactly the handshakes of its kind';

my %log = map { my @f = split / /; ($f[3] =~ /\?(\S+)/)[0] => "$f[0] $f[1]" }
          split /\n/, TkTest::read_file(TkTest::t_path('tmp', 'sni-counters', 'sni_log'));
is_deeply [@log{qw(exact1 wild-x glob unknown ip missing)}],
          ['exact a.sni.test', 'wildcard x.wild.sni.test', 'glob g1.glob.sni.test',
           'unknown nope.sni.test', 'unknown -', 'missing -'],
    'SNI_VHOST_MATCH and SNI_VHOST_NAME in the access log';

TkTest::graceful_restart(pid_file => $srv->{pid_file}, error_log => $srv->{error_log});
is_deeply moved($t1, TkTest::status_auto($srv->{port2})), { map { $_ => 0 } @keys },
    'a graceful restart keeps every counter';
hello($srv, 'a.sni.test', 'after-restart');
is TkTest::status_auto($srv->{port2})->{SNIVhostExact}, $t1->{SNIVhostExact} + 1,
    '... and counting goes on';

my $html = TkTest::http_get($srv->{port2}, '/server-status');
like $html, qr/TLS server names \(mod_sni_vhost\).*SNIVhostExact: \d+/s, 'the status page has an SNI section';
TkTest::stop_server($srv);

my $reject = server('sni-counters-reject', "SNIVhostUnknown reject\nSNIVhostMissing reject\n");
my $r0 = TkTest::status_auto($reject->{port2});
my @refused = map { hello($reject, $_, 'refused') } 'nope.sni.test', 'x.y.wild.sni.test', undef;
hello($reject, 'a.sni.test', 'served');
my $r1 = TkTest::status_auto($reject->{port2});
my $m = moved($r0, $r1);
is $m->{SNIVhostUnknownRejected}, 2, 'reject: two unknown names refused';
is $m->{SNIVhostMissingRejected}, 1, 'reject: one handshake without a name refused';
is $m->{SNIVhostExact}, 1, 'reject: the known name counted as exact';
is $m->{SNIVhostUnknownDefault} + $m->{SNIVhostMissingDefault}, 0, 'reject: nothing sent to the default vhost';
ok !grep({ $_->{ok} } @refused), 'the refused clients got no response';
is TkTest::log_count(TkTest::t_path('tmp', 'sni-counters-reject', 'sni_log'), qr{^\S+ \S+ GET /index.html}m), 1,
    'only the served request reaches the access log';
TkTest::stop_server($reject);
