# SPDX-License-Identifier: Apache-2.0
# Key-file churn: with live reload at a 1-second interval, 100 successive bad key files
# (random bytes, truncated keys, empty, base64 garbage, wrong sizes), each seen by the
# watcher, while clients keep resuming: no crash, no failed handshake, every good
# session resumes, and the last good keys keep sealing.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use MIME::Base64 ();
use POSIX ();
use Time::HiRes ();
use TkTest;

my $k1 = TkTest::new_key(80);
my ($srv, $file) = TkTest::start_keyed_server('churn', reload => 'live', format => 'text',
                                              keys => [$k1]);
my $parent = TkTest::server_pid($srv->{pid_file});
my $results = "$srv->{dir}/client-results";

plan tests => 9;

# Bad contents, all different from one another; none is a valid key file (no length
# of 48 or 80 bytes, nor a whole number of 48-byte keys, slips in).
sub bad_size { my $n = shift; ($n % 48 == 0 || $n == 80) ? $n + 1 : $n }
sub bad_file {
    my $i = shift;
    my $key = TkTest::key_bytes(TkTest::new_key($i % 2 ? 48 : 80));
    my @kinds = (
        sub { "\x00" . TkTest::random_bytes(bad_size(2 + $i) - 1) },          # random bytes
        sub { substr(MIME::Base64::encode_base64($key, ''), 0, 20 + $i % 40) . "\n" }, # truncated
        sub { "!!$i garbage, not base64 at all\n" },                           # base64 garbage
        sub { "\x80" . substr($key, 0, bad_size(40 + $i % 30) - 1) },          # wrong size, raw
        sub { MIME::Base64::encode_base64("\x01" x bad_size(50 + $i), '') . "\n" }, # wrong size, text
    );
    return $i == 0 ? '' : $kinds[$i % @kinds]->();                            # empty, once
}

# The client: resumes its session over and over, TLS 1.2 and 1.3 in turn, until the stop
# file appears (a signal would cut a connection short and count as a failure); counts
# handshakes, failures and resumptions.
my $stop = "$srv->{dir}/stop-client";
my $client = fork // die;
if ($client == 0) {
    my ($n, $failed, $resumed) = (0, 0, 0);
    my %session;
    for my $v (TkTest::TLS12, TkTest::TLS13) {
        $session{$v} = TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test',
                                           version => $v)->{session};
    }
    until (-e $stop) {
        my $v = $n % 2 ? TkTest::TLS13 : TkTest::TLS12;
        my $r = TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test', version => $v,
                                    session => $session{$v});
        $n++;
        if (!$r->{ok}) {
            $failed++;
        } else {
            $resumed++ if $r->{reused};
            $session{$v} = $r->{session};
        }
        Time::HiRes::sleep(0.02);
    }
    TkTest::write_file($results, "$n $failed $resumed\n", 0644);
    POSIX::_exit(0);
}

my $log_from = length TkTest::read_file($srv->{error_log});
my $refused_re = qr/SSLTicketKeyFile \Q$file\E changed but is refused: /;
for my $i (0 .. 99) {
    TkTest::write_file($file, bad_file($i), 0600);
    # the next file only once the watcher has seen this one (a second on an idle machine;
    # on a loaded one a fixed pause could let a file go by unseen)
    TkTest::wait_until(10, sub { TkTest::log_count($srv->{error_log}, $refused_re, $log_from) > $i });
}
TkTest::write_file($stop, '', 0644);
waitpid $client, 0;
my ($n, $failed, $resumed) = split ' ', TkTest::read_file($results);
my $log = substr TkTest::read_file($srv->{error_log}), $log_from;

my $refused = () = $log =~ /$refused_re/g;
is $refused, 100, 'each of the 100 bad files was seen and refused, once';
unlike $log, qr/exit signal|Segmentation|AddressSanitizer|runtime error:/, 'no process crashed';
unlike $log, qr/key-file watcher .* ended/, 'the watcher ran throughout';
ok kill(0, $parent), 'the parent runs';
cmp_ok $n, '>', 500, "the client kept connecting ($n handshakes)";
is $failed, 0, 'no handshake failed';
is $resumed, $n, 'every good session resumed';
ok TkTest::sealed_by(TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test')->{ticket}, $k1),
    'the last good key still seals';

my $k2 = TkTest::new_key(48);
TkTest::write_key_file($file, 'raw', $k2);
ok defined TkTest::wait_until(3, sub {
    TkTest::sealed_by(TkTest::connect_tls(port => $srv->{port}, host => 'alpha.tk.test')->{ticket}, $k2)
}), 'a good file after the churn is taken';
TkTest::stop_server($srv);
