# SPDX-License-Identifier: Apache-2.0
# Helpers for the Apache::Test suite, gathered in one name space (TkTest::connect_tls,
# $TkTest::TOP_DIR, ...) from the modules that hold them, one per job:
#   TkTest::Paths   the test tree, the build, documents the servers' children read, files
#   TkTest::Keys    ticket keys and key files
#   TkTest::Client  a TLS client that keeps its sessions, tickets inside sessions, s_client
#   TkTest::Server  httpd instances, restarts, `httpd -t`, logs, server-status
package TkTest;

use strict;
use warnings FATAL => 'all';

use TkTest::Paths;
use TkTest::Keys;
use TkTest::Client;
use TkTest::Server;

1;
