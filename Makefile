# Builds the modules with apxs, runs the tests, starts the demo.
# `make test` and `make demo` first install the Debian packages they need (scripts/).

APXS     ?= apxs
HTTPD    ?= /usr/sbin/apache2
CC       ?= cc
WARN      = -Wall -Wextra -Werror
BUILD     = build

TK_CORE   = tk_ring.c tk_keyfile.c tk_ticket.c
TK_HDRS   = $(TK_CORE:.c=.h) ssl_hooks.h

APR_CFLAGS = $(shell apr-1-config --includes --cppflags 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apr-1-config --link-ld 2>/dev/null) $(shell apu-1-config --link-ld 2>/dev/null)
UNIT_CFLAGS = -g -O1 $(WARN) -I. $(APR_CFLAGS)

.PHONY: all deps install test unit-test httpd-test demo bench clean format

all: mod_tls_tickets.la $(BUILD)/tls-bench

deps:
	@scripts/install-deps.sh

mod_tls_tickets.la: mod_tls_tickets.c $(TK_CORE) $(TK_HDRS)
	$(APXS) -c $(addprefix -Wc$(,),$(WARN)) -o $@ mod_tls_tickets.c $(TK_CORE) -lssl -lcrypto

, := ,

install: all
	$(APXS) -i -n tls_tickets mod_tls_tickets.la

UNIT_SRC  = tests/unit_main.c tests/test_keyfile.c tests/test_ticket.c

$(BUILD)/unit-tests: $(UNIT_SRC) tests/unit.h $(TK_CORE) $(TK_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(TK_CORE) $(APR_LIBS) -lssl -lcrypto

BENCH_SRC = bench/tls-bench.c bench/tb_run.c bench/tb_stats.c
BENCH_HDRS = bench/tb_run.h bench/tb_stats.h

# The load client: optimised, since it shares the machine's cores with the servers.
$(BUILD)/tls-bench: $(BENCH_SRC) $(BENCH_HDRS) | $(BUILD)
	$(CC) -O2 -g $(WARN) -o $@ $(BENCH_SRC) -lssl -lcrypto -lpthread -lm

$(BUILD):
	mkdir -p $@

unit-test: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

httpd-test: all
	t/TEST -apxs $(APXS) -httpd $(HTTPD)

test: deps
	$(MAKE) unit-test httpd-test

# `make bench QUICK=1`: the short run (under 5 minutes); `make bench`: the full one.
# They need nginx (a contender), python3 (the harness), valgrind and strace (instruction
# and system-call counts);
# results go to bench/results/, BENCHMARKS.md explains them.
bench:
	@scripts/install-deps.sh nginx python3 valgrind strace
	$(MAKE) all
	bench/run.py $(if $(filter-out 0,$(QUICK)),--quick)

demo: deps
	$(MAKE) all
	scripts/demo.sh

format:
	clang-format -i *.c *.h tests/*.c tests/*.h bench/*.c bench/*.h

clean:
	rm -rf $(BUILD) .libs *.la *.lo *.slo *.o
	-[ -x t/TEST ] && t/TEST -clean >/dev/null 2>&1 || true
