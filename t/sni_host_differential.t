# SPDX-License-Identifier: Apache-2.0
# Differential test of Host routing: random configurations of 1 to 60 name-based vhosts on
# one or two addresses (exact names, aliases, "*.domain" and other globs, ServerPath, names
# with ports, vhosts without ServerName, an IP address as <VirtualHost>), and random
# requests (Host with and without port, in any case, with a trailing dot, absent, an IP
# address, malformed; HTTP/1.0 and 1.1; ServerPath URIs; absolute URIs, http or not).  Each configuration runs in two
# httpd: one with httpd core alone, one with mod_sni_vhost routing by its index; every
# vhost answers 404 and 400 with its own name (ErrorDocument), so a response tells which
# vhost served it.  Each request must get the same status and vhost from both, except for
# the README's deliberate difference, asserted as such: an HTTP/1.1 request without a Host
# header, which core refuses (400) after routing it (by its ServerPath, or by the host of
# an absolute URI), is answered by the default vhost of the address.
#
# SNI_HOST_SEED=N replays a run; SNI_HOST_CONFIGS and SNI_HOST_REQUESTS change its size
# (40 configurations x 60 requests by default).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;
use HostRoute;

my $seed = $ENV{SNI_HOST_SEED} // 20261201;
my $configs = $ENV{SNI_HOST_CONFIGS} // 40;
my $per_config = $ENV{SNI_HOST_REQUESTS} // 60;
# A generator of its own: httpd starts in between, and helpers may use Perl's rand().
my $state = $seed % 4294967296;
sub rnd {
    $state = ($state * 69069 + 1) % 4294967296; # exact in a double
    return $state / 4294967296;
}

plan tests => 4;
diag("seed $seed (SNI_HOST_SEED=$seed t/TEST ... t/sni_host_differential.t replays it), "
     . "$configs configurations x $per_config requests");

sub pick { $_[int(rnd() * @_)] }
sub chance { rnd() < $_[0] }

# Random case, as a client may send it.
sub mixed_case {
    join '', map { chance(0.3) ? uc : $_ } split //, shift;
}

# A configuration: vhosts (label, address keys, lines), the addresses used, and the names
# and patterns that requests then draw their Host from.
sub generate {
    my $n = 1 + int(rnd() * 60);
    my $layout = pick(qw(one two ip_and_wild wild_and_ip2));
    my @addr = $layout eq 'one' ? ('*:P1')
             : $layout eq 'two' ? ('*:P1', '*:P2')
             : $layout eq 'ip_and_wild' ? ('127.0.0.1:P1', '*:P1')
             : ('*:P1', '127.0.0.1:P2');
    my (@vhosts, @names, @wild, @globs, @paths);
    for my $i (1 .. $n) {
        my @on = chance(0.15) && @addr > 1 ? @addr : (pick(@addr));
        my @lines;
        if (!chance(0.08)) { # else the main server's name, localhost
            my $name = "n$i." . pick(qw(a.test b.test c.example));
            push @names, $name;
            $name = mixed_case($name) if chance(0.2);
            $name .= ':' . pick(qw(80 8080 443)) if chance(0.15);
            push @lines, "ServerName $name";
        }
        my @aliases;
        for (1 .. int(rnd() * 4)) {
            my $j = int(rnd() * 6);
            my $kind = rnd();
            if ($kind < 0.3) {
                my $a = "a$i-" . int(rnd() * 100) . ".a.test";
                push @names, $a;
                push @aliases, $a;
            } elsif ($kind < 0.4) {
                push @names, "shared$j.test"; # several vhosts may claim it
                push @aliases, "shared$j.test";
            } elsif ($kind < 0.55) {
                push @wild, "w$j.test";
                push @aliases, "*.w$j.test";
            } elsif ($kind < 0.62) {
                push @globs, "g?$j.test";
                push @aliases, "g?$j.test";
            } elsif ($kind < 0.67) {
                push @globs, "*x$j*";
                push @aliases, "*x$j*";
            } elsif ($kind < 0.7) {
                push @aliases, pick('*.test', '*', '*.a.test');
            } elsif ($kind < 0.78) {
                push @names, "p$i.test";
                push @aliases, "p$i.test:8080"; # a port in an alias: core never matches it
            } elsif ($kind < 0.85) {
                push @names, "u_$j.test";
                push @aliases, "u_$j.test";
            } elsif ($kind < 0.9) {
                push @names, "dot$j.test";
                push @aliases, "dot$j.test."; # core never matches a trailing dot either
            } else {
                my $a = "Case$j.Test";
                push @names, lc $a;
                push @aliases, $a;
            }
        }
        push @lines, "ServerAlias @aliases" if @aliases;
        if (chance(0.15)) {
            my $p = '/sp' . int(rnd() * 5) . (chance(0.3) ? '/' : '');
            push @paths, $p;
            push @lines, "ServerPath $p";
        }
        push @vhosts, { label => "v$i", on => \@on, lines => \@lines };
    }
    return { vhosts => \@vhosts, addr => \@addr, names => \@names, wild => \@wild,
             globs => \@globs, paths => \@paths };
}

sub config_text {
    my ($cfg) = @_;
    my $text = qq{ErrorDocument 404 "main"\nErrorDocument 400 "main-400"\n};
    # the second port is listened on even when no vhost took it: the main server answers
    $text .= "Listen 127.0.0.1:\@PORT2\@\n" if grep { /:P2$/ } @{ $cfg->{addr} };
    for my $v (@{ $cfg->{vhosts} }) {
        my $on = join ' ', @{ $v->{on} };
        $text .= "<VirtualHost $on>\n"
            . join('', map { "    $_\n" } @{ $v->{lines} })
            . qq{    ErrorDocument 404 "$v->{label}"\n}
            . qq{    ErrorDocument 400 "$v->{label}-400"\n}
            . "</VirtualHost>\n";
    }
    $text =~ s/:P1\b/:\@PORT\@/g;
    $text =~ s/:P2\b/:\@PORT2\@/g;
    return $text;
}

# A request: which port (P1 or P2), the head's parts.
sub random_request {
    my ($cfg) = @_;
    my $port = chance(0.5) && grep({ /P2/ } @{ $cfg->{addr} }) ? 'P2' : 'P1';
    my $version = chance(0.5) ? '1.0' : '1.1';
    my $kind = rnd();
    my $host;
    if ($kind < 0.4 && @{ $cfg->{names} }) {
        $host = pick(@{ $cfg->{names} });
    } elsif ($kind < 0.55 && @{ $cfg->{wild} }) {
        $host = pick("q" . int(rnd() * 9), "a.b", "x-1") . '.' . pick(@{ $cfg->{wild} });
    } elsif ($kind < 0.62 && @{ $cfg->{globs} }) {
        ($host = pick(@{ $cfg->{globs} })) =~ s/\?/int(rnd() * 10)/ge;
        $host =~ s/\*/pick('', 'box', 'a.b')/ge;
        $host .= '.test' unless $host =~ /\.[a-z]+$/;
    } elsif ($kind < 0.7) {
        $host = pick('nobody.test', 'n1.unknown', 'localhost', '127.0.0.1', 'x', 'shared9.test');
    } elsif ($kind < 0.73) {
        $host = pick('a..b.test', 'bad/host', '123');
    } elsif ($kind < 0.88) {
        $host = undef;
    } else {
        $host = "n" . (1 + int(rnd() * 60)) . '.' . pick(qw(a.test b.test c.example));
    }
    if (defined $host) {
        $host = mixed_case($host) if chance(0.3);
        $host .= '.' if chance(0.15) && $host !~ /\.$/;
        $host .= ':' . pick('PORT', '8080', '80') if chance(0.3);
    }
    my $uri = @{ $cfg->{paths} } && chance(0.5)
        ? pick(@{ $cfg->{paths} }) . pick('', '/', '/x', 'y/z') : '/nx' . int(rnd() * 1000);
    $uri =~ s{//}{/}g;
    # an absolute URI names the host instead of Host; another scheme than http(s) is refused
    # (400) after the post_read_request hooks, by the vhost routed to
    if (defined $host && chance(0.12)) {
        (my $in_uri = $host) =~ s/\.$//;
        $uri = pick('http', 'ftp', 'HTTP') . "://$in_uri$uri";
        $host = chance(0.5) ? undef : 'other.test';
    }
    return { port => $port, version => $version, host => $host, uri => $uri };
}

sub head_for {
    my ($req, $port) = @_;
    my $host = $req->{host};
    $host =~ s/PORT/$port/ if defined $host;
    return HostRoute::get(version => $req->{version}, host => $host, uri => $req->{uri});
}

# The label a response shows: the vhost that answered, and the status.
sub outcome {
    my ($r, $ports) = @_;
    return 'no response' unless $r;
    my $body = $r->{body};
    # a redirection names the server's own port, which differs between the two servers
    $body =~ s/:$ports->{$_}\b/:$_/g for keys %$ports;
    return "$r->{status} $body";
}

# The default vhost of the address that 127.0.0.1:Pn reaches.
sub default_vhost {
    my ($cfg, $port) = @_;
    for my $want ("127.0.0.1:$port", "*:$port") {
        for my $v (@{ $cfg->{vhosts} }) {
            return $v->{label} if grep { $_ eq $want } @{ $v->{on} };
        }
    }
    return 'main';
}

my ($pairs, $same, $deliberate, @mismatch) = (0, 0, 0);
my ($indexed, $unindexed, @not_indexed) = (0, 0);
my %seen_kind;
for my $c (1 .. $configs) {
    my $cfg = generate();
    my $text = config_text($cfg);
    my @reqs = map { random_request($cfg) } 1 .. $per_config;
    my %got;
    for my $with (0, 1) {
        my $srv = TkTest::start_server("host-diff-$with", $text, tickets => 0, sni => $with);
        my %ports = (P1 => $srv->{port}, P2 => $srv->{port2});
        for my $p (qw(P1 P2)) {
            my @mine = grep { $reqs[$_]{port} eq $p } 0 .. $#reqs;
            next unless @mine;
            my @resp = HostRoute::exchange($ports{$p}, [map { head_for($reqs[$_], $ports{$p}) } @mine]);
            $got{$with}[$mine[$_]] = outcome($resp[$_], \%ports) for 0 .. $#mine;
        }
        if ($with) {
            # an address with one vhost has no name-based vhosts: core does not scan it
            my %count;
            $count{$_}++ for map { @{ $_->{on} } } @{ $cfg->{vhosts} };
            my $expect = grep { $_ > 1 } values %count;
            my $logged = TkTest::read_file($srv->{error_log}) =~ /requests are routed by Host through an index/;
            $expect ? $indexed++ : $unindexed++;
            push @not_indexed, $c if $expect && !$logged;
        }
        TkTest::stop_server($srv);
    }
    for my $i (0 .. $#reqs) {
        my $req = $reqs[$i];
        my ($core, $mod) = ($got{0}[$i], $got{1}[$i]);
        $pairs++;
        $seen_kind{$core =~ /^(\d+)/ ? $1 : 'none'}++;
        if ($core eq $mod) {
            $same++;
            next;
        }
        my $what = sprintf "configuration %d request %d (%s, HTTP/%s, Host %s, %s): core %s, module %s",
            $c, $i + 1, $req->{port}, $req->{version}, $req->{host} // '(none)', $req->{uri}, $core, $mod;
        my $default = default_vhost($cfg, $req->{port});
        if (!defined $req->{host} && $req->{version} eq '1.1' && $core =~ /^400 /
            && $mod eq "400 $default-400") {
            $deliberate++;
            note("deliberate: $what") if $ENV{SNI_HOST_SHOW};
            next;
        }
        push @mismatch, $what;
    }
    if ($c == 1 || $ENV{SNI_HOST_SHOW}) {
        note("configuration $c:\n$text");
    }
}

ok $indexed && !@not_indexed, "the module routes by its index in the $indexed configurations with "
    . "name-based vhosts ($unindexed without)" or diag("not in configurations @not_indexed");
ok $pairs >= 2000 || $configs * $per_config < 2000, "$pairs configuration/request pairs compared";
is scalar(@mismatch), 0, "the module chose core's vhost for $same of $pairs requests, "
    . "$deliberate deliberate difference(s)"
    or diag(join "\n", @mismatch[0 .. ($#mismatch < 20 ? $#mismatch : 19)]);
ok $seen_kind{404} && $seen_kind{400}, 'requests were routed (404 from a vhost) and refused (400): '
    . join(', ', map { "$_: $seen_kind{$_}" } sort keys %seen_kind);
