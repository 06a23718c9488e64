# SPDX-License-Identifier: Apache-2.0
# Ticket keys and key files: random keys, files in every format, the main server's key
# files, reading a file's keys back.
package TkTest::Keys;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Digest::SHA ();
use File::Basename qw(dirname);
use File::Path ();
use MIME::Base64 ();

use TkTest::Paths;

our @EXPORT = qw(
    %KEY_FILES @MAIN_VHOSTS @SNI_VHOSTS random_bytes new_key key_bytes fingerprint
    write_key_file write_file key_file_path write_test_key_files read_key_file
);

sub random_bytes {
    my $n = shift;
    open my $fh, '<:raw', '/dev/urandom' or die "urandom: $!";
    read($fh, my $b, $n) == $n or die "urandom: short read";
    return $b;
}

# A key: name (16 bytes), hmac and aes (16 bytes each for 48-byte keys, 32 for 80).
sub new_key {
    my $size = shift || 48;
    my $secret = ($size - 16) / 2;
    return { name => random_bytes(16), hmac => random_bytes($secret),
             aes => random_bytes($secret), size => $size };
}

# The bytes of a key in a file: name|HMAC|AES, or name|AES|HMAC (nginx 48, haproxy).
sub key_bytes {
    my ($key, $aes_first) = @_;
    return $aes_first ? "$key->{name}$key->{aes}$key->{hmac}"
                      : "$key->{name}$key->{hmac}$key->{aes}";
}

sub fingerprint { substr(Digest::SHA::sha256_hex($_[0]->{name}), 0, 8) }

# Writes a key file, atomically (the server may read it at any time), mode 0600.
sub write_key_file {
    my ($path, $format, @keys) = @_;
    my $data;
    if ($format eq 'raw') {
        $data = join '', map { key_bytes($_) } @keys;
    } elsif ($format eq 'nginx') {
        $data = key_bytes($keys[0], $keys[0]->{size} == 48);
    } elsif ($format eq 'text' || $format eq 'haproxy') {
        # text keys may carry validity windows: not_before / not_after (Unix seconds)
        $data = join '', map {
            my $k = $_;
            MIME::Base64::encode_base64(key_bytes($k, $format eq 'haproxy'), '')
                . join('', map { defined $k->{$_} ? " \L${\ ($_ =~ tr/_/-/r)}=$k->{$_}" : '' }
                               qw(not_before not_after))
                . "\n"
        } @keys;
    } else {
        die "unknown format $format";
    }
    write_file($path, $data, 0600);
}

sub write_file {
    my ($path, $data, $mode) = @_;
    File::Path::make_path(dirname($path));
    my $tmp = "$path.tmp$$";
    open my $fh, '>:raw', $tmp or die "$tmp: $!";
    print $fh $data;
    close $fh or die "$tmp: $!";
    chmod $mode // 0600, $tmp;
    rename $tmp, $path or die "rename $tmp: $!";
}

# The key files the main test configuration names, with the keys in them.  Each is
# written once (a server may be running with them); tests that change one put its
# original content back.
our %KEY_FILES = (
    'server.key' => { format => 'raw',  sizes => [48, 48] }, # mod_ssl's layout, 2 keys
    'own.key'    => { format => 'text', sizes => [80, 48] },
    'rotate.key' => { format => 'raw',  sizes => [48] },
);

sub key_file_path { t_path('keys', $_[0]) }

# Vhost labels of t/conf/extra.conf.in and t/conf/sni.conf.in.
our @MAIN_VHOSTS = qw(default own inherit rotate off);
our @SNI_VHOSTS = map { "sni-$_" } qw(default a wild www b glob tls12 client);

sub write_test_key_files {
    for my $file (sort keys %KEY_FILES) {
        my $path = key_file_path($file);
        next if -e $path;
        my $spec = $KEY_FILES{$file};
        write_key_file($path, $spec->{format}, map { new_key($_) } @{ $spec->{sizes} });
    }
}

# Reads back the keys of a file written by write_key_file (formats raw and text).
sub read_key_file {
    my $path = shift;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    my $data = <$fh>;
    my @blobs;
    if ($data !~ /[^\x20-\x7e\t\r\n]/) {
        # text: the first word of each line that is not a comment
        @blobs = map { MIME::Base64::decode_base64((split ' ', $_)[0]) }
                 grep { /\S/ && !/^\s*#/ } split /\n/, $data;
    } else {
        my $len = length($data) == 80 ? 80 : 48;
        @blobs = map { substr($data, $_ * $len, $len) } 0 .. length($data) / $len - 1;
    }
    return map {
        my $s = (length($_) - 16) / 2;
        { name => substr($_, 0, 16), hmac => substr($_, 16, $s), aes => substr($_, 16 + $s, $s),
          size => length($_) }
    } grep { length } @blobs;
}

1;
