# SPDX-License-Identifier: Apache-2.0
# Builds the modules, the tool and the tests under build/, runs the tests, starts the demo.
# `make test` and `make demo` first install the Debian packages they need (scripts/).
# Sources are in src/ (README, "Source layout"); every file the build makes is in build/.

APXS     ?= apxs
HTTPD    ?= /usr/sbin/apache2
CC       ?= cc
WARN      = -Wall -Wextra -Werror
BUILD     = build
VERSION   = $(shell sed -n 's/^\#define TK_VERSION "\(.*\)"/\1/p' src/version.h)

# The cores (APR and OpenSSL only, no httpd) and the httpd glue of each module.
TK_CORE   = $(addprefix src/,tk_ring.c tk_keyfile.c tk_ticket.c tk_store.c tk_watch.c)
TK_HDRS   = $(TK_CORE:.c=.h) src/ssl_hooks.h src/version.h
TT_GLUE   = $(addprefix src/,mod_tls_tickets.c tt_config.c tt_keys.c tt_watcher.c tt_status.c tt_farm.c)
TT_HDRS   = src/tt_private.h src/tt_farm.h
# The farm's key store: only mod_tls_tickets (and the unit tests) need it.
TK_FARM   = src/tk_farm.c
SNI_CORE  = $(addprefix src/,sni_name.c sni_index.c sni_route.c)
SNI_HDRS  = $(SNI_CORE:.c=.h) src/ssl_hooks.h src/version.h
# mod_sni_vhost serves mod_ssl's SSLSessionTicketKeyFile with the tk_* core
SV_GLUE   = src/mod_sni_vhost.c src/sv_tickets.c src/sv_route.c src/sv_address.c
SV_HDRS   = src/sv_tickets.h src/sv_route.h src/sv_address.h

APR_CFLAGS = $(shell apr-1-config --includes --cppflags 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apr-1-config --link-ld 2>/dev/null) $(shell apu-1-config --link-ld 2>/dev/null)
UNIT_CFLAGS = -g -O1 $(WARN) -Isrc $(APR_CFLAGS)

# httpd's own compiler flags, as apxs reports them, for the modules (shared objects
# that httpd loads; no libtool, so nothing is written beside the sources).
MOD_CFLAGS = $(subst ;, ,$(shell $(APXS) -q CFLAGS CPPFLAGS EXTRA_CPPFLAGS)) \
             -I$(shell $(APXS) -q INCLUDEDIR) $(APR_CFLAGS) -fPIC $(WARN)
MOD_LINK   = $(CC) $(MOD_CFLAGS) $(MOD_EXTRA) -shared -Wl,-z,relro -Wl,-z,now -o $@ \
             $(filter %.c,$^) $(MOD_LDFLAGS) -lssl -lcrypto
LIBEXECDIR ?= $(shell $(APXS) -q LIBEXECDIR)

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
TOOL      = $(BUILD)/tls-ticket-keys
MODULES   = $(BUILD)/mod_tls_tickets.so $(BUILD)/mod_sni_vhost.so

.PHONY: all deps install test unit-test httpd-test demo bench clean format fuzz test-asan \
        asan-build rotation-load farm-load deb test-deb

all: $(MODULES) $(TOOL) $(BUILD)/tls-bench $(BUILD)/http-bench

deps:
	@scripts/install-deps.sh redis-server memcached

# The rules of both modules in a build directory: $(BUILD), and $(ASAN_DIR) below.
# mod_sni_vhost's own copy of the tk_* core stays its own (see the map).
define module_rules
$(1)/mod_tls_tickets.so: $$(TT_GLUE) $$(TT_HDRS) $$(TK_CORE) $$(TK_FARM) $$(TK_FARM:.c=.h) $$(TK_HDRS) | $(1)
	@echo "  CC      $$@"; $$(MOD_LINK)
$(1)/mod_sni_vhost.so: MOD_LDFLAGS += -Wl,--version-script=src/mod_sni_vhost.map
$(1)/mod_sni_vhost.so: src/mod_sni_vhost.map $$(SV_GLUE) $$(SV_HDRS) $$(SNI_CORE) $$(SNI_HDRS) \
                       $$(TK_CORE) $$(TK_HDRS) | $(1)
	@echo "  CC      $$@"; $$(MOD_LINK)
endef
$(eval $(call module_rules,$(BUILD)))

# DESTDIR: a staging root (packages); the modules go where this httpd loads modules from.
install: all
	install -D -m 644 $(BUILD)/mod_tls_tickets.so $(DESTDIR)$(LIBEXECDIR)/mod_tls_tickets.so
	install -D -m 644 $(BUILD)/mod_sni_vhost.so $(DESTDIR)$(LIBEXECDIR)/mod_sni_vhost.so
	install -D -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/tls-ticket-keys

# CPPFLAGS, CFLAGS and LDFLAGS from the environment: a package build's hardening flags.
$(TOOL): tools/tls_ticket_keys.c $(TK_CORE) $(TK_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -O2 $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ tools/tls_ticket_keys.c $(TK_CORE) $(APR_LIBS) -lssl -lcrypto

UNIT_SRC  = tests/unit_main.c tests/test_keyfile.c tests/test_ring.c tests/test_store.c \
            tests/test_watch.c tests/test_ticket.c tests/test_sni.c \
            tests/test_route.c tests/test_farm.c

$(BUILD)/unit-tests: $(UNIT_SRC) tests/unit.h tests/keys.h tests/route_model.h $(TK_CORE) $(TK_FARM) $(TK_HDRS) $(SNI_CORE) \
                     $(SNI_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(TK_CORE) $(SNI_CORE) $(TK_FARM) $(APR_LIBS) -lssl -lcrypto

BENCH_SRC = bench/tls-bench.c bench/tb_run.c bench/tb_stats.c
BENCH_HDRS = bench/tb_run.h bench/tb_stats.h

# The load client: optimised, since it shares the machine's cores with the servers.
$(BUILD)/tls-bench: $(BENCH_SRC) $(BENCH_HDRS) | $(BUILD)
	$(CC) -O2 -g $(WARN) -o $@ $(BENCH_SRC) -lssl -lcrypto -lpthread -lm

# Plain-HTTP keep-alive requests (Host routing, issue 13); shares tls-bench's counters.
$(BUILD)/http-bench: bench/http-bench.c bench/tb_stats.c bench/tb_stats.h | $(BUILD)
	$(CC) -O2 -g $(WARN) -o $@ bench/http-bench.c bench/tb_stats.c -lpthread -lm

$(BUILD):
	mkdir -p $@

unit-test: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# Ports chosen free at run time: another test server may hold Apache::Test's default.
# HTTPD and TK_MODULE_DIR (where the modules are) reach the tests' own httpd instances;
# -configure first, so that a module or httpd other than last time's is taken.
HTTPD_TEST = APACHE_TEST_PORT=$${APACHE_TEST_PORT:-select} HTTPD=$(HTTPD) \
             t/TEST -apxs $(APXS) -httpd $(HTTPD)

httpd-test: all
	@$(MAKE) -s httpd-test-configure
	$(HTTPD_TEST)

test: deps
	$(MAKE) unit-test httpd-test

# `make bench QUICK=1`: the short run (under 5 minutes); `make bench`: the full one.
# They need nginx (a contender), python3 (the harness), redis-server (the farm part),
# valgrind and strace (instruction and system-call counts);
# results go to bench/results/, BENCHMARKS.md explains them.
bench:
	@scripts/install-deps.sh nginx python3 valgrind strace redis-server
	$(MAKE) all
	bench/run.py $(if $(filter-out 0,$(QUICK)),--quick)

demo: deps
	$(MAKE) all
	scripts/demo.sh

# Three instances share keys through Redis, then through one key file, under client load
# that moves every session to another instance (BENCHMARKS.md).
farm-load: deps
	$(MAKE) all
	bench/farm_load.pl

# Clients resume without pause while the key file is rotated 20 times (BENCHMARKS.md).
rotation-load: deps
	$(MAKE) all
	bench/rotation_load.pl

# --- Debian packages (debian/) ----------------------------------------------------------

# What dpkg-buildpackage, the packages' Build-Depends and lintian need; ssl-cert: the
# snakeoil certificate of test-deb's default-ssl site.
DEB_DEPS = build-essential dpkg-dev debhelper apache2-dev libssl-dev lintian ssl-cert

# build/deb/*.deb, built from a copy of the tree in build/deb/src/ and checked by lintian.
deb:
	@scripts/install-deps.sh $(DEB_DEPS)
	scripts/build-deb.sh

# Builds the packages, installs them into this machine's Debian apache2, serves with them,
# purges them, and puts /etc/apache2 back as it was (scripts/test-deb.sh says what).
test-deb:
	@scripts/install-deps.sh $(DEB_DEPS)
	scripts/test-deb.sh

# --- fuzzing (clang's libFuzzer, with ASan and UBSan) -----------------------------------

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS  = keyfile sni_name sni_index sni_route

$(BUILD)/fuzz-keyfile: tests/fuzz/fuzz_keyfile.c src/tk_keyfile.c src/tk_ring.c $(TK_HDRS) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc $(APR_CFLAGS) -o $@ $(filter %.c,$^) $(APR_LIBS) -lssl -lcrypto

$(BUILD)/fuzz-sni_%: tests/fuzz/fuzz_sni_%.c tests/route_model.h $(SNI_CORE) $(SNI_HDRS) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc $(APR_CFLAGS) -o $@ $(filter %.c,$^) $(APR_LIBS)

# Each target runs FUZZ_SECONDS from the committed seeds; any finding fails the run.
fuzz:
	@scripts/install-deps.sh clang libclang-rt-14-dev
	$(MAKE) $(FUZZ_TARGETS:%=$(BUILD)/fuzz-%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz-corpus/$$t && \
	    echo "fuzz-$$t: $(FUZZ_SECONDS) s" && \
	    $(BUILD)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz-$$t- $(BUILD)/fuzz-corpus/$$t tests/fuzz/corpus/$$t \
	        > $(BUILD)/fuzz-$$t.log 2>&1 || { tail -40 $(BUILD)/fuzz-$$t.log; exit 1; }; \
	    grep -E "^Done|number_of_executed_units" $(BUILD)/fuzz-$$t.log; \
	done

# --- the whole suite against modules built with ASan and UBSan ---------------------------

ASAN_DIR     = $(BUILD)/asan
ASAN_CFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_RUNTIME = $(shell $(CC) -print-file-name=libasan.so)
ASAN_REPORTS = $(CURDIR)/$(ASAN_DIR)/reports

# The modules are built apart from the normal build; httpd is not instrumented, so a
# wrapper preloads the ASan runtime.
$(ASAN_DIR)/mod_tls_tickets.so $(ASAN_DIR)/mod_sni_vhost.so: MOD_EXTRA = $(ASAN_CFLAGS)
$(ASAN_DIR)/mod_tls_tickets.so $(ASAN_DIR)/mod_sni_vhost.so: MOD_LDFLAGS += -lasan -lubsan
$(eval $(call module_rules,$(ASAN_DIR)))
$(ASAN_DIR)/unit-tests: $(UNIT_SRC) tests/unit.h tests/keys.h tests/route_model.h $(TK_CORE) $(TK_FARM) $(TK_HDRS) $(SNI_CORE) \
                        $(SNI_HDRS) | $(ASAN_DIR)
	$(CC) $(UNIT_CFLAGS) $(ASAN_CFLAGS) -o $@ $(UNIT_SRC) $(TK_CORE) $(SNI_CORE) $(TK_FARM) $(APR_LIBS) \
	    -lssl -lcrypto
$(ASAN_DIR):
	mkdir -p $@

asan-build: $(ASAN_DIR)/mod_tls_tickets.so $(ASAN_DIR)/mod_sni_vhost.so $(ASAN_DIR)/unit-tests
	printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$$@"\n' "$(ASAN_RUNTIME)" "$(HTTPD)" > $(ASAN_DIR)/httpd
	chmod 755 $(ASAN_DIR)/httpd

# Zero reports: the sanitizers write each report to a file in ASAN_REPORTS.
test-asan: deps
	$(MAKE) all asan-build
	rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS) && chmod 777 $(ASAN_REPORTS)
	ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN_REPORTS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN_REPORTS)/ubsan \
	    $(ASAN_DIR)/unit-tests
	ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN_REPORTS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN_REPORTS)/ubsan \
	TK_MODULE_DIR=$(CURDIR)/$(ASAN_DIR) \
	    $(MAKE) httpd-test HTTPD=$(CURDIR)/$(ASAN_DIR)/httpd
	@if ls $(ASAN_REPORTS) | grep -q . || \
	    grep -l -E "AddressSanitizer|runtime error:" t/logs/error_log t/tmp/*/error_log; then \
	    echo "sanitizer reports:"; cat $(ASAN_REPORTS)/* 2>/dev/null; exit 1; \
	else echo "test-asan: no sanitizer report"; fi
	@$(MAKE) -s httpd-test-configure

# Puts the normal build back into the Apache::Test configuration.
httpd-test-configure:
	@$(HTTPD_TEST) -configure > $(BUILD)/configure.log 2>&1 || { cat $(BUILD)/configure.log; exit 1; }

format:
	clang-format -i src/*.c src/*.h tests/*.c tests/*.h tests/fuzz/*.c tools/*.c bench/*.c bench/*.h

clean:
	rm -rf $(BUILD)
	-[ -x t/TEST ] && t/TEST -clean >/dev/null 2>&1 || true
