# Builds the modules with apxs, runs the tests, starts the demo.
# `make test` and `make demo` first install the Debian packages they need (scripts/).

APXS     ?= apxs
HTTPD    ?= /usr/sbin/apache2
CC       ?= cc
WARN      = -Wall -Wextra -Werror
BUILD     = build

TK_CORE   = tk_ring.c tk_keyfile.c tk_ticket.c
TK_HDRS   = $(TK_CORE:.c=.h) ssl_hooks.h
SNI_CORE  = sni_name.c sni_index.c
SNI_HDRS  = $(SNI_CORE:.c=.h) ssl_hooks.h

APR_CFLAGS = $(shell apr-1-config --includes --cppflags 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apr-1-config --link-ld 2>/dev/null) $(shell apu-1-config --link-ld 2>/dev/null)
UNIT_CFLAGS = -g -O1 $(WARN) -I. $(APR_CFLAGS)

.PHONY: all deps install test unit-test httpd-test demo clean format fuzz

all: mod_tls_tickets.la mod_sni_vhost.la

deps:
	@scripts/install-deps.sh

mod_tls_tickets.la: mod_tls_tickets.c $(TK_CORE) $(TK_HDRS)
	$(APXS) -c $(addprefix -Wc$(,),$(WARN)) -o $@ mod_tls_tickets.c $(TK_CORE) -lssl -lcrypto

mod_sni_vhost.la: mod_sni_vhost.c $(SNI_CORE) $(SNI_HDRS)
	$(APXS) -c $(addprefix -Wc$(,),$(WARN)) -o $@ mod_sni_vhost.c $(SNI_CORE) -lssl -lcrypto

, := ,

install: all
	$(APXS) -i -n tls_tickets mod_tls_tickets.la
	$(APXS) -i -n sni_vhost mod_sni_vhost.la

UNIT_SRC  = tests/unit_main.c tests/test_keyfile.c tests/test_ticket.c tests/test_sni.c

$(BUILD)/unit-tests: $(UNIT_SRC) tests/unit.h $(TK_CORE) $(TK_HDRS) $(SNI_CORE) $(SNI_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(TK_CORE) $(SNI_CORE) $(APR_LIBS) -lssl -lcrypto

$(BUILD):
	mkdir -p $@

unit-test: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# libFuzzer on the SNI core (clang); FUZZ_SECONDS of it, not part of `make test`.
FUZZ_SECONDS ?= 60
$(BUILD)/fuzz-sni: tests/fuzz_sni.c $(SNI_CORE) $(SNI_HDRS) | $(BUILD)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I. $(APR_CFLAGS) -o $@ \
		tests/fuzz_sni.c $(SNI_CORE) $(APR_LIBS)

fuzz: $(BUILD)/fuzz-sni
	mkdir -p $(BUILD)/fuzz-sni-corpus
	$(BUILD)/fuzz-sni -max_total_time=$(FUZZ_SECONDS) -max_len=600 $(BUILD)/fuzz-sni-corpus

httpd-test: all
	t/TEST -apxs $(APXS) -httpd $(HTTPD)

test: deps
	$(MAKE) unit-test httpd-test

demo: deps
	$(MAKE) all
	scripts/demo.sh

format:
	clang-format -i *.c *.h tests/*.c tests/*.h

clean:
	rm -rf $(BUILD) .libs *.la *.lo *.slo *.o
	-[ -x t/TEST ] && t/TEST -clean >/dev/null 2>&1 || true
