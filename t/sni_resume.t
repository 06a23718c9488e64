# SPDX-License-Identifier: Apache-2.0
# With mod_tls_tickets sealing every vhost's tickets with the same server-wide keys, a
# session resumes on the vhost that issued it, non-default ones included, and never on
# another: the module switches the vhost in the ClientHello callback, before OpenSSL opens
# the ticket, with mod_ssl's session-id context for that vhost.  That the context is
# mod_ssl's own shows where mod_ssl sets it alone: a connection without a server name
# (the default vhost, untouched by the module) resumes a session that the module's switch
# to the default vhost issued, and the other way round.  TLS 1.2 and 1.3.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('sni_ssl_port');
my $sealing = (TkTest::read_key_file(TkTest::key_file_path('server.key')))[0];
my @versions = ([TkTest::TLS12, 'TLSv1.2', 'tls1_2'], [TkTest::TLS13, 'TLSv1.3', 'tls1_3']);

# [server name, vhost label]
my @vhosts = (
    ['a.sni.test',        'a'],
    ['b-alt.sni.test',    'b'],
    ['x.wild.sni.test',   'wild'],
    ['www.wild.sni.test', 'www'],
    ['g1.glob.sni.test',  'glob'],
    ['default.sni.test',  'default'],
);
# [from, to]: vhosts sharing the ticket keys, one of them selected by a wildcard
my @cross = (
    ['a.sni.test',        'b.sni.test'],
    ['b.sni.test',        'a.sni.test'],
    ['x.wild.sni.test',   'www.wild.sni.test'],
    ['www.wild.sni.test', 'y.wild.sni.test'],
    ['a.sni.test',        'default.sni.test'],
);

plan tests => @versions * (@vhosts * 4 + @cross * 3 + 2 * 2);

for my $v (@versions) {
    my ($version, $vname, $s_client_version) = @$v;

    for my $vhost (@vhosts) {
        my ($host, $label) = @$vhost;
        my $full = TkTest::connect_tls(port => $port, host => $host, version => $version);
        is $full->{body}, "sni-$label\n", "$vname $host: served by $label" or diag($full->{error});
        ok TkTest::sealed_by($full->{ticket}, $sealing),
            "$vname $host: ticket sealed by mod_tls_tickets with the server-wide key";
        my $again = TkTest::connect_tls(port => $port, host => $host, version => $version,
                                        session => $full->{session});
        ok $again->{reused}, "$vname $host: the session resumes on $label";
        is $again->{body}, "sni-$label\n", "$vname $host: resumed on $label";
    }

    for my $pair (@cross) {
        my ($from, $to) = @$pair;
        my $first = TkTest::s_client(port => $port, host => $from, version => $s_client_version);
        my $other = TkTest::s_client(port => $port, host => $to, version => $s_client_version,
                                     session => $first->{session});
        ok $other->{offered}, "$vname: the client offers ${from}'s ticket to $to";
        ok !$other->{reused}, "$vname: ${from}'s ticket does not resume on $to";
        my $back = TkTest::s_client(port => $port, host => $from, version => $s_client_version,
                                    session => $first->{session});
        ok $back->{reused}, "$vname: the same ticket still resumes on $from";
    }

    # [server name of the first connection, of the second]
    for my $pair (['default.sni.test', undef], [undef, 'default.sni.test']) {
        my ($from, $to) = @$pair;
        my ($from_name, $to_name) = map { $_ // 'no server name' } $from, $to;
        my $first = TkTest::connect_tls(port => $port, host => $from, version => $version,
                                        host_header => 'default.sni.test');
        my $second = TkTest::connect_tls(port => $port, host => $to, version => $version,
                                         host_header => 'default.sni.test',
                                         session => $first->{session});
        ok $second->{reused},
            "$vname: a session of '$from_name' resumes with '$to_name': the module's session-id "
            . "context is mod_ssl's";
        is $second->{body}, "sni-default\n", "$vname: ... on the default vhost";
    }
}
