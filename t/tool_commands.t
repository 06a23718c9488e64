# SPDX-License-Identifier: Apache-2.0
# The key tool, tls-ticket-keys: generate, rotate, list, check; files written atomically
# with mode 0600; no key byte ever printed; a rotation by the tool reaches a live server.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use MIME::Base64 ();
use POSIX ();
use TkTest;

my $tool = "$TkTest::TOP_DIR/build/tls-ticket-keys";
my $dir = TkTest::t_path('tmp', 'tool');
File::Path::remove_tree($dir);
File::Path::make_path($dir);

sub run {
    my $out = `$tool @_ 2>&1`;
    return ($? >> 8, $out);
}

# Every encoding of every secret byte string of the keys in $file.
sub secret_forms {
    map { my $h = unpack 'H*', $_; ($_, $h, uc $h, MIME::Base64::encode_base64($_, '')) }
    map { ($_->{hmac}, $_->{aes}) } TkTest::read_key_file(shift);
}

plan tests => 29;

my $file = "$dir/ticket.keys";
my ($rc, $out) = run('generate', $file);
is $rc, 0, 'generate makes a key file';
is((stat $file)[2] & 07777, 0600, '... with mode 0600');
my @keys = TkTest::read_key_file($file);
is scalar(@keys), 1, '... of one key';
is $keys[0]{size}, 80, '... AES-256 by default';
like $out, qr/^1\s+${\ TkTest::fingerprint($keys[0])}\s+AES-256\s+-\s+-\s+seals$/m,
    '... and lists it by fingerprint';

($rc, $out) = run('generate', $file);
is $rc, 1, 'generate does not overwrite a file';
like $out, qr/exists already/, '... and says so';

($rc, $out) = run('generate --aes128 --format raw --keys 2', "$dir/raw.keys");
is -s "$dir/raw.keys", 96, 'generate --aes128 --format raw --keys 2 writes two raw 48-byte keys';

($rc, $out) = run('check', $file);
is $rc, 0, 'check passes a good file';
like $out, qr/ok: 1 key\(s\), text format, sealing with key ${\ TkTest::fingerprint($keys[0])}/, '... and says what it holds';

TkTest::write_file("$dir/bad.keys", 'x' x 47, 0600);
($rc, $out) = run('check', "$dir/bad.keys");
is $rc, 1, 'check fails a bad file';
like $out, qr{bad.keys: line 1: 47 base64 characters is not a multiple of 4}, '... with the reason';

# Two keys on one line: the second one's base64 was quoted as an attribute name.
{
    my $second = MIME::Base64::encode_base64(TkTest::key_bytes(TkTest::new_key(80)), '');
    my $first = MIME::Base64::encode_base64(TkTest::key_bytes(TkTest::new_key(48)), '');
    TkTest::write_file("$dir/two.keys", "$first $second\n", 0600);
    my $err = `$tool check '$dir/two.keys' 2>&1 >/dev/null`;
    is $? >> 8, 1, 'check fails a line of two keys';
    like $err, qr{two.keys: line 1: unknown attribute after the key}, '... on stderr, naming the line';
    ok !grep({ index($err, substr($second, $_, 12)) >= 0 } 0 .. length($second) - 12),
        '... and quoting no part of the second key' or diag($err);
}

# rotate: the new key first, the old ones after, at most --keep.  A generated file has no
# window yet, so it could as well be a HAProxy file: the first rotation names the format.
my $generated = TkTest::read_file($file);
($rc, $out) = run('rotate', $file);
ok $rc == 1 && $out =~ /--format text or --format haproxy/ && TkTest::read_file($file) eq $generated,
    'rotate without --format does not guess the format of a file without windows';
my $ino = (stat $file)[1];
($rc, $out) = run('rotate --format text', $file);
my @after = TkTest::read_key_file($file);
is $rc, 0, 'rotate succeeds';
ok @after == 2 && $after[1]{name} eq $keys[0]{name}, '... adds a new key before the old one';
like $out, qr/^1\s+${\ TkTest::fingerprint($after[0])}\s+AES-256\s+\S+Z\s+-\s+seals$/m,
    '... which seals from now';
isnt((stat $file)[1], $ino, '... by replacing the file (rename)');
run('rotate', $file) for 1 .. 3;
is scalar(TkTest::read_key_file($file)), 3, 'rotate keeps 3 keys by default';
run('rotate --keep 2', $file);
is scalar(TkTest::read_key_file($file)), 2, 'rotate --keep 2 keeps 2';

($rc, $out) = run('rotate --not-before +1h', $file);
like $out, qr/^1\s+\S+\s+AES-256\s+\S+Z\s+-\s+opens; seals from its not-before$/m,
    'rotate --not-before +1h pre-publishes a key that opens now and seals in an hour';
like $out, qr/^2\s+\S+\s+AES-256\s+\S+Z\s+-\s+seals$/m, '... while the previous key still seals';

($rc, $out) = run('list', $file);
my @forms = secret_forms($file);
ok !grep({ index($out, $_) >= 0 } @forms), 'list never prints a key byte';

# Atomic writes: a reader that reads the file in a loop while it is rotated 100 times
# always sees a whole, valid file.
my $pid = fork // die;
if ($pid == 0) {
    run('rotate', $file) for 1 .. 100;
    POSIX::_exit(0);
}
my ($reads, $partial) = (0, 0);
while (waitpid($pid, POSIX::WNOHANG()) == 0) {
    my $data = TkTest::read_file($file);
    $reads++;
    my @lines = split /\n/, $data;
    $partial++ unless @lines >= 1 && $data =~ /\n\z/
        && !grep { !/^[A-Za-z0-9+\/]{106}==? not-before=\S+Z$|^[A-Za-z0-9+\/]{107}= not-before=\S+Z$/ } @lines;
}
ok $reads > 10, "a reader read the file $reads times during 100 rotations";
is $partial, 0, '... and never saw a partial file';
opendir my $dh, $dir or die;
is scalar(grep { /^\.ticket\.keys\./ } readdir $dh), 0, 'no temporary file is left behind';

# A rotation by the tool reaches the live main server (SSLTicketKeyReload live).
my $live = TkTest::key_file_path('rotate.key');
my $original = TkTest::read_file($live);
TkTest::write_file("$dir/live.keys", $original, 0600);
system("cp -p '$dir/live.keys' '$live'");
run('rotate --format raw', $live);
my ($new) = TkTest::read_key_file($live);
my $port = Apache::Test::vars('tk_ssl_port');
ok defined TkTest::wait_until(3, sub {
    TkTest::sealed_by(TkTest::connect_tls(port => $port, host => 'rotate.tk.test')->{ticket}, $new)
}), 'a key made by `rotate` seals on the live server within two check intervals';
TkTest::write_file($live, $original, 0600);
