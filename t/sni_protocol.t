# SPDX-License-Identifier: Apache-2.0
# A vhost's protocol range applies once the server name has selected it, although OpenSSL
# picks the version right after the ClientHello callback, on the connection that started
# on the default vhost.  The module always applies the selected vhost's own range, where
# mod_ssl alone applies it only if that vhost sets SSLProtocol and otherwise keeps the
# default vhost's: with a TLS 1.3-only default vhost, another vhost without SSLProtocol
# speaks TLS 1.2 with the module and not without it.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

my $port = Apache::Test::vars('sni_ssl_port');

plan tests => 6 + 2 * 3;

{
    my $v13 = TkTest::connect_tls(port => $port, host => 'tls12.sni.test', version => TkTest::TLS13);
    ok !$v13->{ok}, 'tls12.sni.test (SSLProtocol -all +TLSv1.2): a TLS 1.3-only client is refused';
    my $trace = TkTest::s_client(port => $port, host => 'tls12.sni.test', version => 'tls1_3');
    like $trace->{alert} // '', qr/protocol version/, '... with a protocol_version alert';
    my $v12 = TkTest::connect_tls(port => $port, host => 'tls12.sni.test', version => TkTest::TLS12);
    is $v12->{version}, 'TLSv1.2', 'tls12.sni.test: a TLS 1.2 client gets TLS 1.2' or diag($v12->{error});
    is $v12->{body}, "sni-tls12\n", '... from the tls12 vhost';
    my $default = TkTest::connect_tls(port => $port, host => 'a.sni.test', version => TkTest::TLS13);
    is $default->{version}, 'TLSv1.3', 'a.sni.test, on the same address: TLS 1.3' or diag($default->{error});
    my $unknown = TkTest::connect_tls(port => $port, host => 'nope.sni.test', version => TkTest::TLS13);
    is $unknown->{body}, "sni-default\n", 'an unknown name: TLS 1.3 on the default vhost';
}

# [base_modules() options, whether the vhost without SSLProtocol speaks TLS 1.2, what]
my @servers = (
    [{}, 1, 'with mod_sni_vhost'],
    [{sni => 0}, 0, 'without mod_sni_vhost'],
);
for my $server (@servers) {
    my ($modules, $tls12, $what) = @$server;
    my $name = $modules->{sni} // 1 ? 'protocol-sni' : 'protocol-ssl';
    my $srv = TkTest::start_server($name,
        TkTest::ssl_vhost('strict.tk.test', 'SSLProtocol TLSv1.3')
        . TkTest::ssl_vhost('plain.tk.test'), %$modules);
    my $plain = TkTest::connect_tls(port => $srv->{port}, host => 'plain.tk.test',
                                    version => TkTest::TLS12);
    my $strict = TkTest::connect_tls(port => $srv->{port}, host => 'strict.tk.test',
                                     version => TkTest::TLS12);
    my $v13 = TkTest::connect_tls(port => $srv->{port}, host => 'plain.tk.test',
                                  version => TkTest::TLS13);
    TkTest::stop_server($srv);
    if ($tls12) {
        is $plain->{body}, "plain\n",
            "$what: a vhost without SSLProtocol behind a TLS 1.3-only default vhost speaks TLS 1.2"
            or diag($plain->{error});
    } else {
        ok !$plain->{ok},
            "$what: a vhost without SSLProtocol keeps the TLS 1.3-only default vhost's range";
    }
    ok !$strict->{ok}, "$what: the TLS 1.3-only default vhost refuses TLS 1.2";
    is $v13->{body}, "plain\n", "$what: the vhost without SSLProtocol speaks TLS 1.3"
        or diag($v13->{error});
}
