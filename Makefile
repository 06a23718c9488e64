# Builds the modules with apxs, runs the tests, starts the demo.
# `make test` and `make demo` first install the Debian packages they need (scripts/).

APXS     ?= apxs
HTTPD    ?= /usr/sbin/apache2
CC       ?= cc
WARN      = -Wall -Wextra -Werror
BUILD     = build

TK_CORE   = tk_ring.c tk_keyfile.c tk_ticket.c tk_store.c tk_watch.c
TK_HDRS   = $(TK_CORE:.c=.h) ssl_hooks.h

APR_CFLAGS = $(shell apr-1-config --includes --cppflags 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apr-1-config --link-ld 2>/dev/null) $(shell apu-1-config --link-ld 2>/dev/null)
UNIT_CFLAGS = -g -O1 $(WARN) -I. $(APR_CFLAGS)

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
TOOL      = $(BUILD)/tls-ticket-keys

.PHONY: all deps install test unit-test httpd-test demo clean format

all: mod_tls_tickets.la $(TOOL)

deps:
	@scripts/install-deps.sh

# apxs echoes every libtool command; its log is shown only when the build fails.
mod_tls_tickets.la: mod_tls_tickets.c $(TK_CORE) $(TK_HDRS) | $(BUILD)
	@echo "  APXS    $@"
	@$(APXS) -c $(addprefix -Wc$(,),$(WARN)) -o $@ mod_tls_tickets.c $(TK_CORE) -lssl -lcrypto \
	    > $(BUILD)/apxs-$@.log 2>&1 || { cat $(BUILD)/apxs-$@.log; exit 1; }

, := ,

install: all
	$(APXS) -i -n tls_tickets mod_tls_tickets.la
	install -D -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/tls-ticket-keys

$(TOOL): tools/tls_ticket_keys.c $(TK_CORE) $(TK_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -O2 -o $@ tools/tls_ticket_keys.c $(TK_CORE) $(APR_LIBS) -lssl -lcrypto

UNIT_SRC  = tests/unit_main.c tests/test_keyfile.c tests/test_ring.c tests/test_store.c \
            tests/test_watch.c tests/test_ticket.c

$(BUILD)/unit-tests: $(UNIT_SRC) tests/unit.h tests/keys.h $(TK_CORE) $(TK_HDRS) | $(BUILD)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(TK_CORE) $(APR_LIBS) -lssl -lcrypto

$(BUILD):
	mkdir -p $@

unit-test: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# Ports chosen free at run time: another test server may hold Apache::Test's default.
httpd-test: all
	APACHE_TEST_PORT=$${APACHE_TEST_PORT:-select} t/TEST -apxs $(APXS) -httpd $(HTTPD)

test: deps
	$(MAKE) unit-test httpd-test

demo: deps
	$(MAKE) all
	scripts/demo.sh

format:
	clang-format -i *.c *.h tests/*.c tests/*.h tools/*.c

clean:
	rm -rf $(BUILD) .libs *.la *.lo *.slo *.o
	-[ -x t/TEST ] && t/TEST -clean >/dev/null 2>&1 || true
