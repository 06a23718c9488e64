# SPDX-License-Identifier: Apache-2.0
# SSLTicketKeyStore's configuration errors show in `httpd -t`, each saying what to do: a
# provider module not loaded, a bad argument, a store without a secret, a secret that is
# missing, short or readable by others, a directive inside a <VirtualHost>; a good
# configuration passes.  No secret byte appears in any message.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use TkTest;
use TkFarm;

my $dir = TkTest::t_path('tmp', 'farm-config');
File::Path::remove_tree($dir);
File::Path::make_path($dir);
my $good = "$dir/good.secret";
my $hex = TkFarm::write_secret($good);
my $exposed = "$dir/exposed.secret";
TkFarm::write_secret($exposed, undef, 0644);
my $short = "$dir/short.secret";
TkTest::write_file($short, "0123456789\n", 0600);
my $redis = TkFarm::socache_module('redis');
my $store = "SSLTicketKeyStore redis:127.0.0.1:6379\n";

my @cases = (
    ['a provider whose module is not loaded', "${store}SSLTicketKeyStoreSecret $good\n",
     qr/SSLTicketKeyStore: no socache provider 'redis' is loaded: load its module first \(e\.g\. LoadModule socache_redis_module/],
    ['an argument without a provider', "${redis}SSLTicketKeyStore 127.0.0.1\nSSLTicketKeyStoreSecret $good\n",
     qr/SSLTicketKeyStore '127\.0\.0\.1': write provider:arguments, e\.g\. redis:127\.0\.0\.1:6379/],
    ['a store without a secret', "$redis$store",
     qr/SSLTicketKeyStore redis:127\.0\.0\.1:6379 needs SSLTicketKeyStoreSecret/],
    ['a secret file that does not exist', "$redis${store}SSLTicketKeyStoreSecret $dir/none.secret\n",
     qr/SSLTicketKeyStoreSecret \Q$dir\E\/none\.secret: /],
    ['a short secret', "$redis${store}SSLTicketKeyStoreSecret $short\n",
     qr/SSLTicketKeyStoreSecret \Q$short\E: 11 bytes: a farm secret is 32 random bytes, or 64 hex digits/],
    ['a secret others can read', "$redis${store}SSLTicketKeyStoreSecret $exposed\n",
     qr/the farm secret can be read or written by its group or by others; make it owned by root with mode 0600/],
    ['a secret without a store', "${redis}SSLTicketKeyStoreSecret $good\n",
     qr/SSLTicketKeyStoreName, SSLTicketKeyStorePeriod and SSLTicketKeyStoreSecret need SSLTicketKeyStore/],
    ['a period under 8 s', "$redis${store}SSLTicketKeyStoreSecret $good\nSSLTicketKeyStorePeriod 5\n",
     qr/SSLTicketKeyStorePeriod: '5' is not a number of seconds from 8 to 604800/],
    ['a period shorter than 8 check intervals',
     "$redis${store}SSLTicketKeyStoreSecret $good\nSSLTicketKeyCheckInterval 2\nSSLTicketKeyStorePeriod 10\n",
     qr/SSLTicketKeyStore: the period \(10 s\) must be at least 8 check intervals \(SSLTicketKeyCheckInterval 2 s\)/],
    ['a name with a colon', "$redis${store}SSLTicketKeyStoreSecret $good\nSSLTicketKeyStoreName a:b\n",
     qr/SSLTicketKeyStoreName: the name space 'a:b' may hold only letters, digits/],
    ['a store in a virtual host', "$redis<VirtualHost 127.0.0.1:1>\n$store</VirtualHost>\n",
     qr/SSLTicketKeyStore is a server-wide setting, not for <VirtualHost>/],
);

plan tests => @cases * 2 + 2;

for my $case (@cases) {
    my ($what, $directives, $want) = @$case;
    my ($status, $out) = TkTest::httpd_t(TkTest::minimal_conf($dir, $directives));
    isnt $status, 0, "httpd -t fails: $what";
    like $out, $want, "... and says what to do" or diag $out;
}
my ($status, $out) = TkTest::httpd_t(TkTest::minimal_conf($dir,
    "$redis${store}SSLTicketKeyStoreSecret $good\nSSLTicketKeyStoreName www-1.example\nSSLTicketKeyStorePeriod 3600\n"));
is $status, 0, 'a store with a secret, a name and a period passes httpd -t' or diag $out;
unlike $out, qr/\Q$hex\E/i, '... and nothing shows the secret';
