# Runs last (tests run in name order): after every other test, no byte of any secret key
# (HMAC or AES part) appears in any log of any server of the suite, in any common encoding.
# Key names are public (they travel in every ticket) and may appear as fingerprints.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Find ();
use MIME::Base64 ();
use TkTest;

my (@key_files, @logs);
File::Find::find(sub {
    push @key_files, $File::Find::name if -f && /\.key$/;
    push @logs, $File::Find::name if -f && /(error_log|access_log)$/;
}, TkTest::t_path('keys'), TkTest::t_path('tmp'), TkTest::t_path('logs'));

my @secrets = map { ($_->{hmac}, $_->{aes}) }
              map { eval { TkTest::read_key_file($_) } } @key_files;
my $logs = join '', map { TkTest::read_file($_) } @logs;

plan tests => 3;

cmp_ok scalar(@secrets), '>=', 10, 'secrets of the suite found (' . @secrets . ')';
cmp_ok length($logs), '>', 10_000, 'logs of the suite read (' . @logs . ' files)';

my @found;
for my $secret (@secrets) {
    my $hex = unpack 'H*', $secret;
    my @forms = ($secret, $hex, uc $hex, join(':', $hex =~ /../g), join(' ', $hex =~ /../g),
                 MIME::Base64::encode_base64($secret, ''), substr($hex, 0, 16));
    push @found, grep { index($logs, $_) >= 0 } @forms;
}
is scalar(@found), 0, 'no key byte in any log';
