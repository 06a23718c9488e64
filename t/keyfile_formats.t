# SPDX-License-Identifier: Apache-2.0
# Every key-file format, read by a real httpd: the ticket is sealed with the key the
# format says seals, with the HMAC bytes where that format puts them, and it resumes.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

# label => [format written, directive argument after the path, key sizes, index of the sealing key]
my %formats = (
    modssl   => ['raw',     '',        [48],         0], # mod_ssl's SSLSessionTicketKeyFile
    rawmany  => ['raw',     'raw',     [48, 48, 48], 0],
    raw80    => ['raw',     '',        [80],         0], # OpenSSL's and nginx's 80-byte layout
    text     => ['text',    'text',    [80, 48],     0],
    textauto => ['text',    '',        [48, 80],     0],
    nginx48  => ['nginx',   'nginx',   [48],         0], # name|AES|HMAC
    nginx80  => ['nginx',   'nginx',   [80],         0],
    haproxy  => ['haproxy', 'haproxy', [48, 48, 48], 1], # penultimate key seals
);
my @labels = sort keys %formats;
my @versions = ([TkTest::TLS12, 'TLSv1.2'], [TkTest::TLS13, 'TLSv1.3']);

plan tests => @labels * @versions * 2;

my (%sealing, $conf);
for my $label (@labels) {
    my ($format, $arg, $sizes, $seal) = @{ $formats{$label} };
    my @keys = map { TkTest::new_key($_) } @$sizes;
    my $path = TkTest::t_path('tmp', "format-$label.key");
    TkTest::write_key_file($path, $format, @keys);
    $sealing{$label} = $keys[$seal];
    $conf .= TkTest::ssl_vhost("$label.tk.test", "SSLTicketKeyFile $path $arg");
}
my $srv = TkTest::start_server('formats', $conf);

for my $label (@labels) {
    for my $v (@versions) {
        my $host = "$label.tk.test";
        my $full = TkTest::connect_tls(port => $srv->{port}, host => $host, version => $v->[0]);
        ok TkTest::sealed_by($full->{ticket}, $sealing{$label}),
            "$label ($formats{$label}[0]) $v->[1]: sealed with key " . ($formats{$label}[3] + 1)
            or diag($full->{error});
        my $again = TkTest::connect_tls(port => $srv->{port}, host => $host, version => $v->[0],
                                        session => $full->{session});
        ok $again->{reused} && $again->{body} eq "$label\n", "$label $v->[1]: resumes";
    }
}
TkTest::stop_server($srv);
