# SPDX-License-Identifier: Apache-2.0
# A vhost with mod_ssl's `SSLSessionTickets off` gets no ticket sealed with any key: none
# at all in TLS 1.2; in TLS 1.3 only OpenSSL's stateful session ID, which without
# SSLSessionCache cannot resume.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my @keys = map { TkTest::read_key_file(TkTest::key_file_path($_)) } sort keys %TkTest::KEY_FILES;

plan tests => 2 * 3;

for my $v ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']) {
    my $full = TkTest::connect_tls(port => $port, host => 'off.tk.test', version => $v->[0]);
    is $full->{body}, "off\n", "$v->[1] off.tk.test: served";
    if ($v->[1] eq 'TLSv1.2') {
        is $full->{ticket}, '', "$v->[1]: no ticket";
    } else {
        ok !grep({ TkTest::sealed_by($full->{ticket}, $_) } @keys), "$v->[1]: no ticket sealed with a key";
    }
    my $again = TkTest::connect_tls(port => $port, host => 'off.tk.test', version => $v->[0],
                                    session => $full->{session});
    ok !$again->{reused}, "$v->[1]: no resumption";
}
