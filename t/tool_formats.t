# SPDX-License-Identifier: Apache-2.0
# tls-ticket-keys on nginx and HAProxy key files: `rotate --format` keeps the format
# SSLTicketKeyFile names (or refuses, exit 1, with the reason), the server accepts what
# it wrote and seals with the key meant; without --format it never converts such a file.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use MIME::Base64 ();
use TkTest;

my $tool = "$TkTest::TOP_DIR/build/tls-ticket-keys";
my $dir = TkTest::t_path('tmp', 'tool_formats');
File::Path::remove_tree($dir);
File::Path::make_path($dir);

my $printed = ''; # everything the tool printed, to look for key bytes in

# Runs the tool; returns (exit status, stdout, stderr).
sub run {
    my $out = `$tool @_ 2>$dir/stderr`;
    my $status = $? >> 8;
    my $err = TkTest::read_file("$dir/stderr");
    $printed .= $out . $err;
    return ($status, $out, $err);
}

# Whether `httpd -t` passes with SSLTicketKeyFile $file $format.
sub accepted_as {
    my ($file, $format) = @_;
    my ($status, $out) = TkTest::httpd_t(TkTest::minimal_conf($dir, "SSLTicketKeyFile $file $format"));
    diag($out) if $status != 0;
    return $status == 0 && $out =~ /Syntax OK/;
}

# The key in an nginx file, read with nginx's layout (name|AES|HMAC for 48 bytes,
# name|HMAC|AES for 80), independently of the module.
sub nginx_key {
    my $data = shift;
    my $s = (length($data) - 16) / 2;
    my ($first, $second) = (substr($data, 16, $s), substr($data, 16 + $s, $s));
    return { name => substr($data, 0, 16), size => length $data,
             length($data) == 48 ? (aes => $first, hmac => $second) : (hmac => $first, aes => $second) };
}

# The keys of a HAProxy file: base64 name|AES|HMAC, one a line.
sub haproxy_keys {
    return map {
        my $b = MIME::Base64::decode_base64($_);
        my $s = (length($b) - 16) / 2;
        { name => substr($b, 0, 16), aes => substr($b, 16, $s), hmac => substr($b, 16 + $s, $s),
          size => length $b }
    } split /\n/, shift;
}

sub fp { TkTest::fingerprint(shift) }

sub mode_of { (stat shift)[2] & 07777 }

plan tests => 60;

my @all_keys; # every key the test knows, to look for in what the tool printed

# --- nginx, 48 bytes ---------------------------------------------------------------------
my $ng48 = "$dir/nginx48.key";
my $k48 = TkTest::new_key(48);
TkTest::write_key_file($ng48, 'nginx', $k48);
my $before = TkTest::read_file($ng48);

my ($rc, $out, $err) = run('rotate', $ng48);
is $rc, 1, 'rotate without --format refuses one 48-byte binary key (raw or nginx?)';
like $err, qr/one binary key may be in mod_ssl's layout \(raw\) or in nginx's.*--format raw or --format nginx/,
    '... saying to name the format';
ok TkTest::read_file($ng48) eq $before, '... and leaves the file as it was (not 96 bytes)';

($rc, $out, $err) = run('rotate --format nginx', $ng48);
is $rc, 1, 'rotate --format nginx refuses to drop the only key without --keep 1';
like $err, qr/an nginx file holds one key, so a rotation cannot keep the current key.*--keep 1 replaces it.*--to text/,
    '... and says what to do instead';
ok TkTest::read_file($ng48) eq $before, '... leaving the file as it was';

($rc, $out, $err) = run('rotate --format nginx --keep 1', $ng48);
my $data = TkTest::read_file($ng48);
my $n48 = nginx_key($data);
is $rc, 0, 'rotate --format nginx --keep 1 replaces the key' or diag($err);
is length($data), 48, '... keeping one 48-byte nginx key';
is mode_of($ng48), 0600, '... mode 0600';
isnt $n48->{name}, $k48->{name}, '... a new key';
like $out, qr/^1\s+${\ fp($n48)}\s+AES-128\s+-\s+-\s+seals$/m, '... which seals';
ok accepted_as($ng48, 'nginx'), '... and httpd -t accepts the file as SSLTicketKeyFile ... nginx';
push @all_keys, $k48, $n48;

# --- nginx, 80 bytes ---------------------------------------------------------------------
my $ng80 = "$dir/nginx80.key";
my $k80 = TkTest::new_key(80);
TkTest::write_key_file($ng80, 'nginx', $k80);
$before = TkTest::read_file($ng80);
($rc, $out, $err) = run('rotate', $ng80);
is $rc, 1, 'rotate without --format refuses one 80-byte binary key too';
ok TkTest::read_file($ng80) eq $before, '... leaving it as it was';

($rc, $out, $err) = run('rotate --format nginx --keep 1', $ng80);
$data = TkTest::read_file($ng80);
my $n80 = nginx_key($data);
is $rc, 0, 'rotate --format nginx --keep 1 replaces an 80-byte key' or diag($err);
ok length($data) == 80 && $n80->{name} ne $k80->{name}, '... with a new 80-byte key';
like $out, qr/^1\s+${\ fp($n80)}\s+AES-256\s+-\s+-\s+seals$/m, '... which seals';
ok accepted_as($ng80, 'nginx'), '... accepted by httpd -t as nginx';
push @all_keys, $k80, $n80;

($rc, $out, $err) = run('rotate --format nginx --keep 1 --aes128', $ng80);
is length(TkTest::read_file($ng80)), 48, 'rotate --format nginx --keep 1 --aes128 writes a 48-byte key';
ok accepted_as($ng80, 'nginx'), '... accepted by httpd -t as nginx';
push @all_keys, nginx_key(TkTest::read_file($ng80));

# --- nginx into text ---------------------------------------------------------------------
my $conv = "$dir/nginx-to-text.key";
my $kc = TkTest::new_key(48);
TkTest::write_key_file($conv, 'nginx', $kc);
($rc, $out, $err) = run('rotate --format nginx --to text', $conv);
my @text = TkTest::read_key_file($conv);
is $rc, 0, 'rotate --format nginx --to text converts the file' or diag($err);
like $err, qr/now in the text format: give SSLTicketKeyFile the format text/, '... saying the directive must change';
ok @text == 2 && $text[1]{name} eq $kc->{name} && $text[1]{hmac} eq $kc->{hmac} && $text[1]{aes} eq $kc->{aes},
    '... keeping the nginx key, its HMAC and AES parts in place, after the new one';
ok accepted_as($conv, 'text'), '... accepted by httpd -t as text';
push @all_keys, $kc, @text;

# --- HAProxy -----------------------------------------------------------------------------
my $ha = "$dir/haproxy.key";
my @hk = map { TkTest::new_key(48) } 1 .. 3;
TkTest::write_key_file($ha, 'haproxy', @hk);
$before = TkTest::read_file($ha);
my @before_lines = split /\n/, $before;

($rc, $out, $err) = run('rotate', $ha);
is $rc, 1, 'rotate without --format refuses base64 keys without windows (text or haproxy?)';
like $err, qr/may be a text file \(the first key seals\) or a HAProxy file \(the penultimate seals\).*--format text or --format haproxy/,
    '... saying to name the format';
ok TkTest::read_file($ha) eq $before, '... and leaves the file as it was (no not-before=)';

($rc, $out, $err) = run('rotate --format haproxy', $ha);
$data = TkTest::read_file($ha);
my @lines = split /\n/, $data;
my @after = haproxy_keys($data);
is $rc, 0, 'rotate --format haproxy succeeds' or diag($err);
is scalar(@lines), 3, '... keeping 3 keys';
unlike $data, qr/not-before|not-after|#/, '... with no window nor anything HAProxy does not read';
ok $lines[0] eq $before_lines[1] && $lines[1] eq $before_lines[2],
    '... dropping the oldest key and keeping the others, in order and unchanged';
ok !grep({ $_->{name} eq $after[2]{name} } @hk), '... appending a new key last';
like $out, qr/^2\s+${\ fp($hk[2])}\s+AES-128\s+-\s+-\s+seals$/m,
    '... so that the former last key seals (the penultimate)';
is mode_of($ha), 0600, '... mode 0600';
ok accepted_as($ha, 'haproxy'), '... and httpd -t accepts the file as SSLTicketKeyFile ... haproxy';
push @all_keys, @hk, @after;

($rc, $out, $err) = run('rotate --format haproxy --keep 4', $ha);
my @four = haproxy_keys(TkTest::read_file($ha));
is $rc, 0, 'rotate --format haproxy --keep 4 succeeds';
ok @four == 4 && join('', map { $_->{name} } @four[0 .. 2]) eq join('', map { $_->{name} } @after),
    '... appending a fourth key after the three';
like $out, qr/^3\s+${\ fp($after[2])}\s+AES-128\s+-\s+-\s+seals$/m, '... and the former last key seals';
push @all_keys, @four;

$before = TkTest::read_file($ha);
($rc, $out, $err) = run('rotate --format haproxy --keep 1', $ha);
is $rc, 1, 'rotate --format haproxy --keep 1 is refused';
like $err, qr/haproxy.key: a HAProxy rotation appends the new key after the last one, which then seals.*--keep 2 or more/,
    '... with the reason on stderr';
($rc, $out, $err) = run('rotate --format haproxy --not-before +1h', $ha);
is $rc, 1, 'rotate --format haproxy --not-before is refused';
like $err, qr/a HAProxy file holds no validity windows/, '... with the reason';
ok TkTest::read_file($ha) eq $before, '... and neither refusal touched the file';

my $ha80 = "$dir/haproxy80.key";
TkTest::write_key_file($ha80, 'haproxy', map { TkTest::new_key(80) } 1 .. 3);
($rc, $out, $err) = run('rotate --format haproxy --aes128', $ha80);
is $rc, 1, 'a 48-byte key is not added to a HAProxy file of 80-byte keys';
like $err, qr/a HAProxy file holds keys of one size only/, '... since HAProxy refuses mixed sizes';
push @all_keys, haproxy_keys(TkTest::read_file($ha80));

# --- list and check with --format --------------------------------------------------------
($rc, $out, $err) = run('list --format haproxy', $ha);
like $out, qr/haproxy format, 4 key\(s\)/, 'list --format haproxy reads the file as HAProxy does';
like $out, qr/^3\s+${\ fp($four[2])}\s+AES-128\s+-\s+-\s+seals$/m, '... the penultimate key sealing';
($rc, $out, $err) = run('check --format nginx', $ng48);
like $out, qr/ok: 1 key\(s\), nginx format, sealing with key ${\ fp($n48)}/, 'check --format nginx';
TkTest::write_file("$dir/two.key", TkTest::key_bytes(TkTest::new_key(48)) x 2, 0600);
($rc, $out, $err) = run('check --format nginx', "$dir/two.key");
is $rc, 1, 'check --format nginx fails a 96-byte file';
like $err, qr/96 bytes; an nginx key file holds one key of 48 or 80 bytes/, '... with the reason';

# --- auto keeps what the content settles -------------------------------------------------
my $raw = "$dir/raw2.key";
TkTest::write_key_file($raw, 'raw', map { TkTest::new_key(48) } 1 .. 2);
($rc, $out, $err) = run('rotate', $raw);
is length(TkTest::read_file($raw)), 144, 'rotate (auto) keeps several raw keys raw: 3 keys, 144 bytes';
ok accepted_as($raw, ''), '... accepted by httpd -t (auto)';
my $windowed = "$dir/windowed.key";
TkTest::write_key_file($windowed, 'text', { %{ TkTest::new_key(80) }, not_before => 1000000000 });
($rc, $out, $err) = run('rotate', $windowed);
my @w = TkTest::read_key_file($windowed);
ok $rc == 0 && @w == 2 && TkTest::read_file($windowed) =~ /\A\S+ not-before=\S+\n\S+ not-before=2001-09-09T01:46:40Z\n\z/,
    'rotate (auto) keeps a text file with windows text';
push @all_keys, TkTest::read_key_file($raw), @w;

# --- the server seals with the key meant -------------------------------------------------
my $live_ng = "$dir/live-nginx.key";
my $live_ha = "$dir/live-haproxy.key";
my $lk = TkTest::new_key(48);
my @lh = map { TkTest::new_key(48) } 1 .. 3;
TkTest::write_key_file($live_ng, 'nginx', $lk);
TkTest::write_key_file($live_ha, 'haproxy', @lh);
my $srv = TkTest::start_server('tool_formats_server',
    "SSLTicketKeyReload live\nSSLTicketKeyCheckInterval 1\n"
    . TkTest::ssl_vhost('alpha.tk.test', "SSLTicketKeyFile $live_ng nginx")
    . TkTest::ssl_vhost('beta.tk.test', "SSLTicketKeyFile $live_ha haproxy"));
my $ticket = sub { TkTest::connect_tls(port => $srv->{port}, host => shift)->{ticket} };
ok TkTest::sealed_by($ticket->('beta.tk.test'), $lh[1]), 'before: the HAProxy vhost seals with key 2 of 3';
($rc) = run('rotate --format nginx --keep 1', $live_ng);
my $lk2 = nginx_key(TkTest::read_file($live_ng));
($rc) = run('rotate --format haproxy', $live_ha);
ok $lk2->{name} ne $lk->{name}
    && defined TkTest::wait_until(3, sub { TkTest::sealed_by($ticket->('alpha.tk.test'), $lk2) }),
    'the nginx vhost seals with the key `rotate --format nginx --keep 1` wrote, HMAC where nginx puts it';
ok defined TkTest::wait_until(3, sub { TkTest::sealed_by($ticket->('beta.tk.test'), $lh[2]) }),
    'the HAProxy vhost seals with the former last key after `rotate --format haproxy`';
is TkTest::log_count($srv->{error_log}, qr/changed but is refused|cannot be read/), 0,
    '... and neither file was refused';
TkTest::stop_server($srv);
push @all_keys, $lk, $lk2, @lh, haproxy_keys(TkTest::read_file($live_ha));

# --- usage, and no key byte printed ------------------------------------------------------
($rc, $out) = run('--help');
is $rc, 0, '--help exits 0';
like $out, qr/rotate FILE \[--format FORMAT\].*FORMAT: auto \(default\), raw, text, nginx or haproxy/s,
    '... and names the formats rotate takes';

my @forms = map { my $h = unpack 'H*', $_; ($_, $h, uc $h, MIME::Base64::encode_base64($_, '')) }
            map { ($_->{hmac}, $_->{aes}) } @all_keys;
ok !grep({ index($printed, $_) >= 0 } @forms), 'no key byte in anything the tool printed';
