# SPDX-License-Identifier: Apache-2.0
# One version for the whole project (src/version.h): `tls-ticket-keys --version` prints
# it, and each module names it in a notice line at every start and restart, so that an
# operator reads in the error log which release is running.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use TkTest;

plan tests => 5;

my ($version) = TkTest::read_file("$TkTest::TOP_DIR/src/version.h") =~ /TK_VERSION "([^"]+)"/;
like($version // '', qr/^\d+\.\d+\.\d+$/, "src/version.h holds a version ($version)");

my $out = `$TkTest::TOP_DIR/build/tls-ticket-keys --version 2>&1`;
is($? >> 8, 0, 'tls-ticket-keys --version exits 0');
is($out, "tls-ticket-keys $version\n", 'and prints the version');

my $log = TkTest::read_file(TkTest::error_log());
like($log, qr/\[tls_tickets:notice\].* mod_tls_tickets \Q$version\E: \d+ key file/,
     'mod_tls_tickets names its version at startup');
like($log, qr/\[sni_vhost:notice\].* mod_sni_vhost \Q$version\E: \d+ SSL vhost/,
     'mod_sni_vhost names its version at startup');
