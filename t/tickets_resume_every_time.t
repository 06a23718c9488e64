# SPDX-License-Identifier: Apache-2.0
# Twenty fresh sessions in a row all resume: resumption does not depend on luck (mod_ssl's
# own key file MACs with stray bytes, and resumes only sometimes).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('tk_ssl_port');
my $rounds = 20;

plan tests => 2 * 2;

for my $v ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']) {
    for my $label (qw(own inherit)) {
        my $resumed = 0;
        for (1 .. $rounds) {
            my $full = TkTest::connect_tls(port => $port, host => "$label.tk.test",
                                           version => $v->[0]);
            my $again = TkTest::connect_tls(port => $port, host => "$label.tk.test",
                                            version => $v->[0], session => $full->{session});
            $resumed++ if $again->{reused} && $again->{body} eq "$label\n";
        }
        is $resumed, $rounds, "$v->[1] $label.tk.test: $rounds of $rounds fresh sessions resume";
    }
}
