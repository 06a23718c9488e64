# Builds the modules with apxs, runs the tests, starts the demo.
# `make test` and `make demo` first install the Debian packages they need (scripts/).

APXS     ?= apxs
HTTPD    ?= /usr/sbin/apache2
CC       ?= cc
WARN      = -Wall -Wextra -Werror
BUILD     = build

TK_CORE   = tk_ring.c tk_keyfile.c tk_ticket.c tk_store.c tk_watch.c tk_farm.c
TK_HDRS   = $(TK_CORE:.c=.h) ssl_hooks.h
SNI_CORE  = sni_name.c sni_index.c
SNI_HDRS  = $(SNI_CORE:.c=.h) ssl_hooks.h
# mod_tls_tickets' glue beside mod_tls_tickets.c: the farm's shared key store
TT_GLUE   = tt_farm.c
# mod_sni_vhost serves mod_ssl's SSLSessionTicketKeyFile with the tk_* core
SNI_GLUE  = sv_tickets.c

APR_CFLAGS = $(shell apr-1-config --includes --cppflags 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apr-1-config --link-ld 2>/dev/null) $(shell apu-1-config --link-ld 2>/dev/null)
UNIT_CFLAGS = -g -O1 $(WARN) -I. $(APR_CFLAGS)

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
TOOL      = $(BUILD)/tls-ticket-keys

.PHONY: all deps install test unit-test httpd-test demo bench clean format fuzz test-asan \
        asan-build rotation-load farm-load

all: mod_tls_tickets.la mod_sni_vhost.la $(TOOL) $(BUILD)/tls-bench

deps:
	@scripts/install-deps.sh redis-server memcached

# apxs echoes every libtool command; its log is shown only when the build fails.
APXS_BUILD = @echo "  APXS    $@"; $(APXS) -c $(addprefix -Wc$(,),$(WARN)) -o $@ $(filter %.c,$^) \
             $(APXS_LDFLAGS) -lssl -lcrypto \
             > $(BUILD)/apxs-$@.log 2>&1 || { cat $(BUILD)/apxs-$@.log; exit 1; }

mod_tls_tickets.la: mod_tls_tickets.c $(TT_GLUE) $(TT_GLUE:.c=.h) $(TK_CORE) $(TK_HDRS) | $(BUILD)
	$(APXS_BUILD)

# Its own copy of the tk_* core stays its own (see the map).
mod_sni_vhost.la: APXS_LDFLAGS = -Wl,--version-script=$(CURDIR)/mod_sni_vhost.map
mod_sni_vhost.la: mod_sni_vhost.map mod_sni_vhost.c $(SNI_GLUE) $(SNI_GLUE:.c=.h) $(SNI_CORE) $(SNI_HDRS) $(TK_CORE) \
                  $(TK_HDRS) | $(BUILD)
	$(APXS_BUILD)

, := ,

install: all
	$(APXS) -i -n tls_tickets mod_tls_tickets.la
	$(APXS) -i -n sni_vhost mod_sni_vhost.la
	install -D -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/tls-ticket-keys

$(TOOL): tools/tls_ticket_keys.c $(TK_CORE) $(TK_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -O2 -o $@ tools/tls_ticket_keys.c $(TK_CORE) $(APR_LIBS) -lssl -lcrypto

UNIT_SRC  = tests/unit_main.c tests/test_keyfile.c tests/test_ring.c tests/test_store.c \
            tests/test_watch.c tests/test_ticket.c tests/test_sni.c tests/test_farm.c

$(BUILD)/unit-tests: $(UNIT_SRC) tests/unit.h tests/keys.h $(TK_CORE) $(TK_HDRS) $(SNI_CORE) \
                     $(SNI_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(TK_CORE) $(SNI_CORE) $(APR_LIBS) -lssl -lcrypto

BENCH_SRC = bench/tls-bench.c bench/tb_run.c bench/tb_stats.c
BENCH_HDRS = bench/tb_run.h bench/tb_stats.h

# The load client: optimised, since it shares the machine's cores with the servers.
$(BUILD)/tls-bench: $(BENCH_SRC) $(BENCH_HDRS) | $(BUILD)
	$(CC) -O2 -g $(WARN) -o $@ $(BENCH_SRC) -lssl -lcrypto -lpthread -lm

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
# They need nginx (a contender), python3 (the harness), redis-server (the farm part), valgrind and strace (instruction
# and system-call counts);
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

# --- fuzzing (clang's libFuzzer, with ASan and UBSan) -----------------------------------

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS  = keyfile sni_name sni_index

$(BUILD)/fuzz-keyfile: tests/fuzz/fuzz_keyfile.c tk_keyfile.c tk_ring.c $(TK_HDRS) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I. $(APR_CFLAGS) -o $@ $(filter %.c,$^) $(APR_LIBS) -lssl -lcrypto

$(BUILD)/fuzz-sni_%: tests/fuzz/fuzz_sni_%.c $(SNI_CORE) $(SNI_HDRS) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I. $(APR_CFLAGS) -o $@ $(filter %.c,$^) $(APR_LIBS)

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

# The modules are built from a copy of the sources, so their objects do not mix with the
# normal build; httpd is not instrumented, so a wrapper preloads the ASan runtime.
asan-build: | $(BUILD)
	rm -rf $(ASAN_DIR)/src && mkdir -p $(ASAN_DIR)/src && cp *.c *.h $(ASAN_DIR)/src/
	cd $(ASAN_DIR)/src && $(APXS) -c $(addprefix -Wc$(,),$(WARN) $(ASAN_CFLAGS)) \
	    -o mod_tls_tickets.la mod_tls_tickets.c $(TT_GLUE) $(TK_CORE) -lasan -lubsan -lssl -lcrypto \
	    > ../apxs.log 2>&1 || { cat ../apxs.log; exit 1; }
	cd $(ASAN_DIR)/src && $(APXS) -c $(addprefix -Wc$(,),$(WARN) $(ASAN_CFLAGS)) \
	    -o mod_sni_vhost.la mod_sni_vhost.c $(SNI_GLUE) $(SNI_CORE) $(TK_CORE) \
	    -Wl,--version-script=$(CURDIR)/mod_sni_vhost.map -lasan -lubsan -lssl -lcrypto \
	    > ../apxs.log 2>&1 || { cat ../apxs.log; exit 1; }
	printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$$@"\n' "$(ASAN_RUNTIME)" "$(HTTPD)" > $(ASAN_DIR)/httpd
	chmod 755 $(ASAN_DIR)/httpd
	$(CC) $(UNIT_CFLAGS) $(ASAN_CFLAGS) -o $(ASAN_DIR)/unit-tests $(UNIT_SRC) $(TK_CORE) \
	    $(SNI_CORE) $(APR_LIBS) -lssl -lcrypto

# Zero reports: the sanitizers write each report to a file in ASAN_REPORTS.
test-asan: deps
	$(MAKE) all asan-build
	rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS) && chmod 777 $(ASAN_REPORTS)
	ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN_REPORTS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN_REPORTS)/ubsan \
	    $(ASAN_DIR)/unit-tests
	ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN_REPORTS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN_REPORTS)/ubsan \
	TK_MODULE_DIR=$(CURDIR)/$(ASAN_DIR)/src/.libs \
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
	clang-format -i *.c *.h tests/*.c tests/*.h tests/fuzz/*.c tools/*.c bench/*.c bench/*.h

clean:
	rm -rf $(BUILD) .libs *.la *.lo *.slo *.o
	-[ -x t/TEST ] && t/TEST -clean >/dev/null 2>&1 || true
