# SPDX-License-Identifier: Apache-2.0
# The directives: a bad name or policy fails `httpd -t` with the file, the line and what
# is wrong; SNIVhost belongs in a <VirtualHost>; a name that two vhosts of an address
# claim stays with the first, for TLS and HTTP, with a warning; SNIVhost in a vhost without
# SSL is reported.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use TkTest;

my $dir = TkTest::t_path('tmp', 'sni_config');
File::Path::make_path($dir);
chmod 0755, $dir;

sub vhost_with { "<VirtualHost 127.0.0.1:443>\nServerName v.sni.test\n$_[0]\n</VirtualHost>" }

# [directives, message]
my @bad = (
    [vhost_with('SNIVhost www*.example.com'),
     q{SNIVhost: 'www*.example.com' is not a server name: a star may only stand for the whole first label, as in *.example.com; give host names such as www.example.com or *.example.com}],
    [vhost_with('SNIVhost ok.example.com *.*.example.com'),
     q{SNIVhost: '*.*.example.com' is not a server name: a star may only stand}],
    [vhost_with('SNIVhost 10.0.0.1'),
     q{SNIVhost: '10.0.0.1' is not a server name: it is an IPv4 address}],
    [vhost_with('SNIVhost [::1]'),
     q{SNIVhost: '[::1]' is not a server name: it is an IPv6 address}],
    [vhost_with('SNIVhost bad_name.example.com'),
     q{SNIVhost: 'bad_name.example.com' is not a server name: it holds a character other than a letter, a digit, a hyphen or a dot}],
    [vhost_with('SNIVhost ' . ('x' x 64) . '.example.com'),
     "SNIVhost: '" . ('x' x 64) . ".example.com' is not a server name: it has a label longer than 63 octets"],
    [vhost_with('SNIVhost www..example.com'),
     q{SNIVhost: 'www..example.com' is not a server name: it has an empty label}],
    ['SNIVhost www.example.com',
     q{SNIVhost belongs in a <VirtualHost>: it names the TLS server names that select that vhost}],
    ['SNIVhostUnknown refuse',
     q{SNIVhostUnknown: 'refuse' is neither default nor reject}],
    [vhost_with('SNIVhostMissing'),
     q{SNIVhostMissing takes one argument}],
);

plan tests => 2 * @bad + 1 + 4;

for my $case (@bad) {
    my ($directives, $message) = @$case;
    my ($status, $out) = TkTest::httpd_t(TkTest::minimal_conf($dir, $directives));
    my ($directive) = $directives =~ /^(SNI.*)$/m;
    isnt $status, 0, "httpd -t fails: $directive";
    like $out, qr/Syntax error on line \d+ of \S+:\n\Q$message\E/, "... saying: $message" or diag($out);
}

{
    my ($status, $out) = TkTest::httpd_t(TkTest::minimal_conf($dir,
        "SNIVhostUnknown reject\nSNIVhostMissing Default\n"
        . vhost_with("SNIVhost Www.Example.com. *.example.org\nSNIVhostUnknown default")));
    is $status, 0, 'httpd -t passes good names and policies' or diag($out);
}

{
    my $srv = TkTest::start_server('sni-config',
        TkTest::ssl_vhost('a.sni.test', 'SNIVhost dup.sni.test', 'sni_a_server')
        . TkTest::ssl_vhost('b.sni.test', 'SNIVhost dup.sni.test', 'sni_b_server')
        . "<VirtualHost 127.0.0.1:\@PORT\@>\nServerName plain.sni.test\nSNIVhost www.plain.sni.test\n</VirtualHost>\n");
    my $r = TkTest::connect_tls(port => $srv->{port}, host => 'dup.sni.test', version => TkTest::TLS13);
    is $r->{cn}, 'a.sni.test', 'a name of two vhosts selects the first by TLS' or diag($r->{error});
    is $r->{body}, "a\n", '... and by Host';
    TkTest::stop_server($srv);
    my $log = TkTest::read_file($srv->{error_log});
    like $log, qr/\[sni_vhost:warn\] .*address 127\.0\.0\.1:\d+: the name dup\.sni\.test of vhost b\.sni\.test \(\S+:\d+\) is also a name of a\.sni\.test \(\S+:\d+\), which comes first and keeps it for TLS and HTTP/,
        'the duplicate name is reported with both vhosts';
    like $log, qr/\[sni_vhost:warn\] .*SNIVhost in vhost plain\.sni\.test \(\S+:\d+\): the vhost has no SSLEngine on, so its names only route HTTP requests by Host/,
        'SNIVhost in a vhost without SSL is reported';
}
