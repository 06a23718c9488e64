# SPDX-License-Identifier: Apache-2.0
# A ticket of one vhost never resumes on another, even when both have the same keys:
# mod_ssl gives each vhost its own session-id context, which OpenSSL checks after opening
# a ticket.  openssl s_client, whose -trace shows that the ticket was really offered.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my @pairs = (
    [default => 'inherit', 'same server-wide keys'],
    [inherit => 'default', 'same server-wide keys'],
    [own     => 'inherit', 'different keys'],
    [inherit => 'own',     'different keys'],
);

plan tests => 2 * @pairs * 4;

for my $version (qw(tls1_2 tls1_3)) {
    for my $pair (@pairs) {
        my ($from, $to, $why) = @$pair;
        my $first = TkTest::s_client(port => $port, host => "$from.tk.test", version => $version);
        ok $first->{ticket}, "$version: $from.tk.test issues a ticket";
        my $other = TkTest::s_client(port => $port, host => "$to.tk.test", version => $version,
                                     session => $first->{session});
        ok $other->{offered}, "$version: the client offers ${from}'s ticket to $to.tk.test";
        ok !$other->{reused}, "$version: ${from}'s ticket does not resume on $to ($why)";
        my $back = TkTest::s_client(port => $port, host => "$from.tk.test", version => $version,
                                    session => $first->{session});
        ok $back->{reused}, "$version: the same ticket still resumes on $from";
    }
}
