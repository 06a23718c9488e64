# SPDX-License-Identifier: Apache-2.0
# mod_ssl's own SSLSessionTicketKeyFile with mod_sni_vhost and without mod_tls_tickets:
# the key of the vhost that SNI selected both seals and opens its tickets, so a session
# resumes on every vhost (the default one and the others) in TLS 1.2 and 1.3, and a
# ticket of one vhost never resumes on another.  mod_ssl takes the key from its own
# per-connection state, which it moves to the SNI vhost only after OpenSSL has opened the
# ticket; mod_sni_vhost serves the vhosts' key files itself.  The directive is found
# wherever mod_ssl would take it: in the vhost (also inside <IfModule> and in an Included
# file, with a ServerRoot-relative path or a Define'd one), or inherited from the server
# config.  A vhost without a key file keeps random keys made at startup, as OpenSSL
# alone; with mod_tls_tickets loaded, mod_tls_tickets seals every ticket.  The files are
# read again at a graceful restart.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my @versions = ([TkTest::TLS12, 'TLSv1.2', 'tls1_2'], [TkTest::TLS13, 'TLSv1.3', 'tls1_3']);

# Key files outside the servers' own directories (start_server() empties those).
my %keys = map { $_ => TkTest::new_key(48) } qw(a b c main t);
my %key_file = map { $_ => TkTest::t_path('tmp', "sni-stk-$_.key") } keys %keys;
TkTest::write_key_file($key_file{$_}, 'raw', $keys{$_}) for keys %keys;

# A vhost in a file of its own, Included; its port and key file come from Defines.
my $included = TkTest::t_path('tmp', 'sni-stk-included.conf');
(my $c_vhost = TkTest::ssl_vhost('c.tk.test', 'SSLSessionTicketKeyFile ${STK_C_KEY}'))
    =~ s/\@PORT\@/\${STK_PORT}/;
TkTest::write_file($included, $c_vhost, 0644);

# What each setup checks, per TLS version: [host, label, key that seals (undef: a key of
# no file)], and the pairs [from, to] whose ticket must not resume across.
my @setups = (
    {
        name => 'sni-stk-own',
        what => 'own key files',
        body => "Define STK_PORT \@PORT\@\nDefine STK_C_KEY $key_file{c}\n"
            . TkTest::ssl_vhost('a.tk.test', qq{SSLSessionTicketKeyFile "$key_file{a}"})
            # relative to the ServerRoot, t/tmp/sni-stk-own
            . TkTest::ssl_vhost('b.tk.test',
                "<IfModule ssl_module>\nSSLSessionTicketKeyFile ../sni-stk-b.key\n</IfModule>")
            . "Include $included\n"
            . TkTest::ssl_vhost('d.tk.test'),
        vhosts => [['a.tk.test', 'a', 'a'], ['b.tk.test', 'b', 'b'], ['c.tk.test', 'c', 'c'],
                   ['d.tk.test', 'd', undef]],
        cross => [['a.tk.test', 'b.tk.test'], ['b.tk.test', 'a.tk.test'],
                  ['c.tk.test', 'b.tk.test'], ['d.tk.test', 'a.tk.test']],
    },
    {
        name => 'sni-stk-shared',
        what => "the server config's key file",
        body => "SSLSessionTicketKeyFile $key_file{main}\n"
            . TkTest::ssl_vhost('a.tk.test') . TkTest::ssl_vhost('b.tk.test'),
        vhosts => [['a.tk.test', 'a', 'main'], ['b.tk.test', 'b', 'main']],
        # the same key opens both: the session-id context keeps each ticket on its vhost
        cross => [['a.tk.test', 'b.tk.test'], ['b.tk.test', 'a.tk.test']],
    },
    {
        name => 'sni-stk-keyless-default',
        what => 'a key file on a non-default vhost only',
        body => TkTest::ssl_vhost('a.tk.test')
            . TkTest::ssl_vhost('b.tk.test', "SSLSessionTicketKeyFile $key_file{b}"),
        vhosts => [['a.tk.test', 'a', undef], ['b.tk.test', 'b', 'b']],
        cross => [['a.tk.test', 'b.tk.test'], ['b.tk.test', 'a.tk.test']],
    },
    {
        name => 'sni-stk-tls-tickets',
        what => 'mod_tls_tickets loaded',
        modules => { tickets => 1 },
        body => "SSLTicketKeyFile $key_file{t}\n"
            . TkTest::ssl_vhost('a.tk.test')
            . TkTest::ssl_vhost('b.tk.test', "SSLSessionTicketKeyFile $key_file{b}"),
        vhosts => [['a.tk.test', 'a', 't'], ['b.tk.test', 'b', 't']],
        cross => [['a.tk.test', 'b.tk.test']],
    },
);

my $tests = @versions; # over a graceful restart
$tests += @versions * (@{ $_->{vhosts} } * 4 + @{ $_->{cross} } * 3) for @setups;
plan tests => $tests;

for my $setup (@setups) {
    my $srv = TkTest::start_server($setup->{name}, $setup->{body}, tickets => 0,
                                   %{ $setup->{modules} || {} });
    my $port = $srv->{port};
    my $what = $setup->{what};

    for my $v (@versions) {
        my ($version, $vname, $s_client_version) = @$v;

        for my $vhost (@{ $setup->{vhosts} }) {
            my ($host, $label, $sealer) = @$vhost;
            my $full = TkTest::connect_tls(port => $port, host => $host, version => $version);
            is $full->{body}, "$label\n", "$what, $vname: $host serves $label"
                or diag($full->{error});
            if (defined $sealer) {
                ok TkTest::sealed_by($full->{ticket}, $keys{$sealer}),
                    "$what, $vname: ${host}'s ticket is sealed with key file $sealer";
            } else {
                ok length($full->{ticket} // '')
                       && !grep({ TkTest::sealed_by($full->{ticket}, $_) } values %keys),
                    "$what, $vname: $host, without a key file, gets a ticket under no file's key";
            }
            my $again = TkTest::connect_tls(port => $port, host => $host, version => $version,
                                            session => $full->{session});
            ok $again->{reused}, "$what, $vname: the session resumes on $host";
            is $again->{body}, "$label\n", "$what, $vname: ... served by $label";
        }

        for my $pair (@{ $setup->{cross} }) {
            my ($from, $to) = @$pair;
            my $first = TkTest::s_client(port => $port, host => $from,
                                         version => $s_client_version);
            my $other = TkTest::s_client(port => $port, host => $to,
                                         version => $s_client_version,
                                         session => $first->{session});
            ok $other->{offered}, "$what, $vname: the client offers ${from}'s ticket to $to";
            ok !$other->{reused}, "$what, $vname: ${from}'s ticket does not resume on $to";
            my $back = TkTest::s_client(port => $port, host => $from,
                                        version => $s_client_version,
                                        session => $first->{session});
            ok $back->{reused}, "$what, $vname: the same ticket resumes on $from";
        }
    }
    if ($setup->{name} eq 'sni-stk-own') {
        # The key files are read again, and the same keys open the tickets of before.
        my @before = map {
            TkTest::connect_tls(port => $port, host => 'b.tk.test', version => $_->[0])
        } @versions;
        TkTest::graceful_restart(pid_file => $srv->{pid_file}, error_log => $srv->{error_log});
        for my $i (0 .. $#versions) {
            my $again = TkTest::connect_tls(port => $port, host => 'b.tk.test',
                                            version => $versions[$i][0],
                                            session => $before[$i]{session});
            ok $again->{reused},
                "$what, $versions[$i][1]: a session of b.tk.test resumes after a graceful restart";
        }
    }
    TkTest::stop_server($srv);
}
