# SPDX-License-Identifier: Apache-2.0
# A key file that is missing, unreadable or malformed fails `httpd -t` and startup, with
# a message naming the file and what is wrong; an exposed key file gets a warning.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use MIME::Base64 ();
use TkTest;

my $dir = TkTest::t_path('tmp', 'config_errors');
File::Path::make_path($dir);
chmod 0755, $dir;

sub conf_with { TkTest::minimal_conf($dir, @_) }

sub key_file {
    my ($name, $data, $mode) = @_;
    my $path = "$dir/$name";
    TkTest::write_file($path, $data, $mode // 0600);
    return $path;
}

sub key48 { TkTest::key_bytes(TkTest::new_key(48)) }
sub b64 { MIME::Base64::encode_base64(shift, '') }

# Whether $text holds 12 characters in a row of $b64.
sub quotes_any {
    my ($text, $b64) = @_;
    for my $i (0 .. length($b64) - 12) {
        return 1 if index($text, substr($b64, $i, 12)) >= 0;
    }
    return 0;
}

my $good = key_file('good.key', key48());
# A line holding two keys: the second one's base64 was quoted as an "unknown attribute".
my $second = b64(TkTest::key_bytes(TkTest::new_key(80)));
my $two_keys = key_file('two.key', b64(key48()) . " $second\n");
# [what, path, extra arguments, reason]
my @bad = (
    ['missing file', "$dir/missing.key", '', 'No such file or directory'],
    # 46 printable bytes and one binary byte: detected as raw
    ['47 bytes', key_file('short.key', ('k' x 46) . "\x80"), '',
     '47 bytes is not a whole number of 48-byte keys, nor one 80-byte key'],
    ['trailing garbage', key_file('trailing.key', key48() . "\x00\x01"), '',
     '50 bytes is not a whole number of 48-byte keys, nor one 80-byte key'],
    ['empty file', key_file('empty.key', ''), '', 'the file is empty'],
    ['bad base64', key_file('b64.key', "# keys\nAA*A" . ('A' x 60) . "\n"), '',
     'line 2: character 3 is not base64'],
    ['directory', $dir, '',
     'the path is a directory; a key file must be a regular file (or a symbolic link to one)'],
    ['two keys on one line', $two_keys, '',
     'line 1: unknown attribute after the key (a line holds one key, then only not-before=TIME and not-after=TIME)'],
    ['an impossible date', key_file('feb30.key', b64(key48()) . " not-before=2026-02-30T00:00:00Z\n"), '',
     'line 1: not-before is not a time: that day does not exist in that month (write 2026-11-26T20:00:00Z, UTC, or Unix seconds)'],
    ['wrong size for nginx', key_file('nginx.key', key48() x 2), 'nginx',
     '96 bytes; an nginx key file holds one key of 48 or 80 bytes'],
);

plan tests => 2 * @bad + 1 + 2 + 2 + 3 + 2 + 2 + 2;

for my $case (@bad) {
    my ($what, $path, $args, $reason) = @$case;
    my ($status, $out) = TkTest::httpd_t(conf_with("SSLTicketKeyFile $path $args"));
    isnt $status, 0, "httpd -t fails on a key file: $what";
    like $out, qr/SSLTicketKeyFile \Q$path\E: \Q$reason\E/, "... naming the file and saying: $reason"
        or diag($out);
}

{
    my ($status, $out) = TkTest::httpd_t(conf_with("SSLTicketKeyFile $two_keys"));
    ok !quotes_any($out, $second), 'httpd -t quotes no part of the second key on a line'
        or diag($out);
}

{
    my ($status, $out) = TkTest::httpd_t(conf_with(
        "<VirtualHost 127.0.0.1:443>\nServerName v.tk.test\nSSLTicketKeyFile $dir/missing.key\n</VirtualHost>"));
    isnt $status, 0, 'httpd -t fails on a missing key file in a <VirtualHost>';
    like $out, qr/Syntax error on line \d+ of .*\n.*SSLTicketKeyFile \Q$dir\E\/missing.key: No such file/,
        '... with the configuration line and the file' or diag($out);
}

{
    my ($status, $out) = TkTest::httpd_t(conf_with("SSLTicketKeyFile $good pem"));
    isnt $status, 0, 'httpd -t fails on an unknown format name';
    like $out, qr/SSLTicketKeyFile: unknown key file format 'pem'; use auto, raw, text, nginx or haproxy/,
        '... and lists the formats' or diag($out);
}

# An unreadable file.  Root reads any file, so as root httpd -t runs as nobody, who cannot
# read a root-owned 0600 file; otherwise the file gets mode 0000.  When nobody cannot reach
# the clone (and so neither this configuration nor the modules: TkTest::served_root), root
# runs it without the capabilities that override file modes, and the file gets mode 0000.
{
    my $unreadable = key_file('unreadable.key', key48(), 0600);
    my $conf = "$dir/unreadable.conf";
    TkTest::write_file($conf, conf_with("SSLTicketKeyFile $unreadable"), 0644);
    my $httpd = TkTest::httpd();
    my $cmd = $> != 0 ? do { chmod 0000, $unreadable; "$httpd -t -f $conf" }
            : TkTest::served_root() eq $TkTest::T_DIR ? "su -s /bin/sh nobody -c '$httpd -t -f $conf'"
            : do { chmod 0000, $unreadable;
                   "setpriv --bounding-set -dac_override,-dac_read_search $httpd -t -f $conf" };
    my $out = `$cmd 2>&1`;
    isnt $? >> 8, 0, 'httpd -t fails on an unreadable key file';
    like $out, qr/SSLTicketKeyFile \Q$unreadable\E: Permission denied/, '... saying so' or diag($out);
    unlike $out, qr/Syntax OK/, '... and does not report the syntax as OK';
}

{
    my ($status, $out) = TkTest::httpd_t(conf_with("SSLTicketKeyFile $good"));
    is $status, 0, 'httpd -t passes with a good key file';
    unlike $out, qr/tls_tickets:warn/, '... with no warning for a 0600 file' or diag($out);
}

{
    my $exposed = key_file('exposed.key', key48(), 0644);
    my ($status, $out) = TkTest::httpd_t(conf_with("SSLTicketKeyFile $exposed"));
    is $status, 0, 'a key file readable by others is accepted';
    like $out, qr/SSLTicketKeyFile \Q$exposed\E: the key file can be read or written by its group or by others/,
        '... with a warning naming it' or diag($out);
}

{
    my $conf = "$dir/start.conf";
    TkTest::write_file($conf, conf_with("PidFile $dir/httpd.pid\nSSLTicketKeyFile $dir/missing.key"), 0644);
    my $out = `${\ TkTest::httpd()} -f $conf -k start 2>&1`;
    isnt $? >> 8, 0, 'httpd does not start with a missing key file';
    like $out, qr/SSLTicketKeyFile \Q$dir\E\/missing.key: No such file or directory/, '... and says why'
        or diag($out);
}
