# SPDX-License-Identifier: Apache-2.0
# The TLS server name selects the vhost whose certificate the client gets, compared as
# RFC 6066 asks: exact names (ServerName, ServerAlias, SNIVhost), then "*.domain" for exactly
# one label, then ServerAlias globs; capitals and one trailing dot do not matter; an unknown
# name, an IP address, a malformed name and no name at all get the default vhost.  The same
# connection then asks for the vhost by Host: a 200 from that vhost (not mod_ssl's 421)
# shows that mod_ssl settled on the vhost the module chose.  Net::SSLeay, TLS 1.2 and 1.3.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('sni_ssl_port');
my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);

# [server name sent (undef: none), certificate CN, vhost label, what it shows]
my @cases = (
    ['a.sni.test',         'a.sni.test',        'a',       'ServerName'],
    ['alias-a.sni.test',   'a.sni.test',        'a',       'ServerAlias'],
    ['A.Sni.TEST',         'a.sni.test',        'a',       'capitals'],
    ['a.sni.test.',        'a.sni.test',        'a',       'a trailing dot'],
    ['ALIAS-A.sni.test.',  'a.sni.test',        'a',       'an alias in capitals with a trailing dot'],
    ['b-alt.sni.test',     'b.sni.test',        'b',       'an SNIVhost name'],
    ['other-b.example',    'b.sni.test',        'b',       'an SNIVhost name given with a trailing dot'],
    ['x.wild.sni.test',    '*.wild.sni.test',   'wild',    'an SNIVhost wildcard'],
    ['X.Wild.Sni.Test.',   '*.wild.sni.test',   'wild',    'a wildcard, capitals and a trailing dot'],
    ['www.wild.sni.test',  'www.wild.sni.test', 'www',     'an exact name beats an earlier vhost\'s wildcard'],
    ['WWW.wild.sni.test.', 'www.wild.sni.test', 'www',     'the exact name in capitals with a trailing dot'],
    ['x.y.wild.sni.test',  'default.sni.test',  'default', 'a wildcard stands for one label only'],
    ['wild.sni.test',      '*.wild.sni.test',   'wild',    'the wildcard vhost\'s own ServerName'],
    ['g1.glob.sni.test',   'glob.sni.test',     'glob',    'a glob ServerAlias'],
    ['G2.GLOB.sni.test.',  'glob.sni.test',     'glob',    'a glob, capitals and a trailing dot'],
    ['g12.glob.sni.test',  'default.sni.test',  'default', 'a glob ? is one character'],
    ['nope.sni.test',      'default.sni.test',  'default', 'an unknown name'],
    ['a.sni.test..',       'default.sni.test',  'default', 'two trailing dots'],
    ['127.0.0.1',          'default.sni.test',  'default', 'an IPv4 literal'],
    ['bad_name.sni.test',  'default.sni.test',  'default', 'a malformed name'],
    [undef,                'default.sni.test',  'default', 'no name'],
);

plan tests => @cases * @versions * 3;

for my $v (@versions) {
    my ($version, $vname) = @$v;
    for my $case (@cases) {
        my ($sni, $cn, $label, $what) = @$case;
        my $host = defined $sni ? $sni =~ s/\.+$//r : 'default.sni.test';
        $host = 'default.sni.test' if $label eq 'default';
        my $r = TkTest::connect_tls(port => $port, host => $sni, version => $version,
                                    host_header => $host);
        my $name = defined $sni ? "'$sni'" : 'no server name';
        is $r->{cn}, $cn, "$vname $name ($what): certificate $cn" or diag($r->{error});
        is $r->{status}, 200, "$vname $name: Host $host accepted on the connection";
        is $r->{body}, "sni-$label\n", "$vname $name: served by vhost $label";
    }
}
