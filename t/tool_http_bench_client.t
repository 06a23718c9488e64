# SPDX-License-Identifier: Apache-2.0
# The plain-HTTP benchmark client (build/http-bench) counts right: it keeps a connection
# alive across requests, sends the Host it is given (the vhost's own file is found, the
# other vhost's is not), opens a new connection when the server says "Connection: close"
# or after --per-conn requests, and counts a response other than 200 as a failure.
# Correctness only: no speed is asserted.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use TkTest;

my $client = "$TkTest::TOP_DIR/build/http-bench";
my $count = 20;

plan skip_all => "$client is missing (make builds it)" unless -x $client;
plan tests => 9;

my %root;
for my $name (qw(a b)) {
    $root{$name} = TkTest::served_path('tmp', "http-bench-$name");
    TkTest::write_file("$root{$name}/only-$name.html", "$name\n", 0644);
    chmod 0755, $root{$name};
}
# b closes every connection after 5 requests; a keeps it open.
my $srv = TkTest::start_server('http-bench-client', <<"CONF", tickets => 0);
MaxKeepAliveRequests 0
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName a.tk.test
    DocumentRoot $root{a}
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName b.tk.test
    DocumentRoot $root{b}
    MaxKeepAliveRequests 5
</VirtualHost>
CONF

# One client run of $count requests, one connection at a time; returns its JSON result.
sub bench {
    my @cmd = ($client, '--connect', "127.0.0.1:$srv->{port}", '--count', $count,
               '--conns', 1, '--warmup', 0, @_);
    my $out = `@cmd`;
    my ($json) = $out =~ /^(\{.*\})$/m or return { error => "no result from: @cmd" };
    return JSON::PP::decode_json($json);
}

my $r = bench(qw(--host a.tk.test --path /only-a.html));
is $r->{requests}, $count, "a: $count requests answered";
is $r->{failures}, 0, 'a: none failed';
is $r->{connections}, 0, "a: all on the warm-up's connection, kept alive";

$r = bench(qw(--host b.tk.test --path /only-b.html));
ok $r->{requests} == $count && $r->{failures} == 0, "b: $count requests, none failed";
ok $r->{connections} >= 3,
    "b: a new connection after each 'Connection: close' (every 5 requests): $r->{connections}";

$r = bench(qw(--host a.tk.test --path /only-a.html --per-conn 4));
ok $r->{requests} == $count && $r->{connections} >= 4,
    "--per-conn 4: a new connection every 4 requests: $r->{connections}";

$r = bench(qw(--host a.tk.test --path /only-b.html));
is $r->{requests}, 0, "a's Host does not reach b's file";
is $r->{failures}, $count, 'each 404 is a failure';
like $r->{first_error} // '', qr/not HTTP\/1\.1 200/, 'the failure says why';

TkTest::stop_server($srv);
