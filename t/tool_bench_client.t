# SPDX-License-Identifier: Apache-2.0
# The benchmark client (build/tls-bench) counts right: against an httpd with
# mod_tls_tickets it reports every handshake resumed in resume mode and none in full
# mode, reads the TLS 1.3 tickets sent after the handshake, keeps a session per SNI name,
# checks GET responses, and fails on a certificate it must not trust.  Correctness only:
# no speed is asserted.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TkTest;

my $client = "$TkTest::TOP_DIR/build/tls-bench";
my $count = 20;

plan skip_all => "$client is missing (make builds it)" unless -x $client;
plan tests => 2 * 13;

my $key = TkTest::new_key(48);
my $key_path = TkTest::t_path('tmp', 'bench-client.key');
TkTest::write_key_file($key_path, 'raw', $key);
my $key_name = unpack 'H*', $key->{name};
my $srv = TkTest::start_server('bench-client',
    "SSLTicketKeyFile $key_path\n" . join '', map { TkTest::ssl_vhost("$_.tk.test") } qw(alpha beta));

# One client run; returns its JSON result.
sub bench {
    my ($version, @args) = @_;
    my @cmd = ($client, '--connect', "127.0.0.1:$srv->{port}", '--cafile', TkTest::ca_file(),
               '--tls', $version, '--count', $count, '--conns', 2, '--warmup', 0, @args);
    my $out = `@cmd`;
    my ($json) = $out =~ /^(\{.*\})$/m or return { error => "no result from: @cmd" };
    return JSON::PP::decode_json($json);
}

for my $version ('1.2', '1.3') {
    my $tag = "TLS $version";

    my $r = bench($version, qw(--mode resume --sni alpha.tk.test --ticket-names));
    is $r->{handshakes}, $count, "$tag resume: $count handshakes";
    is $r->{resumed_share}, 1, "$tag resume: every one resumed";
    is_deeply $r->{ticket_names}, { $key_name => $count },
        "$tag resume: each ended holding a ticket sealed with the key file's key";
    is $r->{tickets_per_hs}, $version eq '1.3' ? 1 : 0,
        "$tag resume: tickets counted (TLS 1.3: the fresh one after each resumption)";

    $r = bench($version, qw(--mode resume --single-use --sni alpha.tk.test));
    ok $r->{handshakes} == $count && $r->{resumed_share} == 1,
        "$tag resume, each TLS 1.3 ticket offered once: every one resumed (fresh tickets)";

    $r = bench($version, qw(--mode full --sni alpha.tk.test));
    is $r->{handshakes}, $count, "$tag full: $count handshakes";
    is $r->{resumed}, 0, "$tag full: none resumed";
    is $r->{tickets_per_hs}, $version eq '1.3' ? 2 : 1, "$tag full: the tickets a full handshake brings";

    $r = bench($version, '--mode', 'resume', '--sni', 'alpha.tk.test,beta.tk.test');
    ok $r->{handshakes} == $count && $r->{resumed_share} == 1,
        "$tag resume, names round robin: every one resumed (a session per name)";

    $r = bench($version, qw(--mode resume --sni beta.tk.test --get /index.html));
    ok $r->{handshakes} == $count && $r->{failures} == 0 && $r->{resumed_share} == 1,
        "$tag resume with GET: every response a 200";

    $r = bench($version, qw(--mode resume --sni beta.tk.test --get /missing.html));
    like $r->{first_error} // '', qr/HTTP response starts "HTTP\/1\.1 404"/,
        "$tag GET: a response other than 200 is a failure";

    $r = bench($version, qw(--mode full --sni www.example.org));
    like $r->{first_error} // '', qr/certificate: hostname mismatch/,
        "$tag: a certificate that does not name the SNI host fails";

    $r = bench($version, '--mode', 'full', '--sni', 'alpha.tk.test', '--cafile',
               TkTest::t_path('conf/ssl/ca/asf/certs/tk_server.crt'));
    ok $r->{handshakes} == 0 && $r->{failures} == $count,
        "$tag: a certificate that does not chain to the CA file fails";
}

TkTest::stop_server($srv);
