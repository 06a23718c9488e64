# SPDX-License-Identifier: Apache-2.0
# Every layout of key files works, each on its own httpd: keys only on a non-default vhost
# (mod_ssl ignores such a file), keys only on the default vhost (mod_ssl then fails the
# other SNI vhosts with internal_error), and no key file at all (random keys).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);

# name => [key file only on this vhost label (or none), description]
my @layouts = (
    [nondefault => 'beta',  'keys only on a non-default vhost'],
    [default    => 'alpha', 'keys only on the default vhost'],
    [none       => undef,   'no key file at all'],
);

plan tests => @layouts * @versions * 2 * 3;

for my $layout (@layouts) {
    my ($name, $keyed, $what) = @$layout;
    my $key = TkTest::new_key(80);
    my $key_path = TkTest::t_path('tmp', "layout-$name.key");
    TkTest::write_key_file($key_path, 'text', $key);
    my $conf = join '', map {
        TkTest::ssl_vhost("$_.tk.test", defined $keyed && $keyed eq $_ ? "SSLTicketKeyFile $key_path" : '')
    } qw(alpha beta);
    my $srv = TkTest::start_server("layout-$name", $conf);

    for my $v (@versions) {
        for my $label (qw(alpha beta)) {
            my $host = "$label.tk.test";
            my $full = TkTest::connect_tls(port => $srv->{port}, host => $host, version => $v->[0]);
            my $again = TkTest::connect_tls(port => $srv->{port}, host => $host, version => $v->[0],
                                            session => $full->{session});
            is $full->{body}, "$label\n", "$what, $v->[1] $host: served, no handshake failure"
                or diag($full->{error});
            ok $again->{reused}, "$what, $v->[1] $host: resumes";
            if (defined $keyed && $keyed eq $label) {
                ok TkTest::sealed_by($full->{ticket}, $key), "$what, $v->[1] $host: sealed with its key file";
            } else {
                ok length($full->{ticket}) && !TkTest::sealed_by($full->{ticket}, $key),
                    "$what, $v->[1] $host: sealed with random keys, not another vhost's file";
            }
        }
    }
    TkTest::stop_server($srv);
}
