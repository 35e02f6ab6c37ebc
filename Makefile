# postie — plain Makefile (see docs/architecture.md for the layout).
#
#   make            build build/postie
#   make unit       build and run the C unit tests (src/*/*_test.c)
#   make e2e        run the end-to-end suite (pytest) against build/postie
#   make lint       house rules: layers, prefixes, banned calls, parameters
#   make test       everything: lint, unit + e2e, then both again under ASan+UBSan
#   make fuzz       build the libFuzzer targets in fuzz/ (clang)
#   make fuzz-smoke run each of them FUZZ_SECS (30) seconds, two at a time
#   make SAN=1      build into build-san/ with -fsanitize=address,undefined
#   make valgrind   the unit tests under valgrind (memory errors and leaks)
#   make install    binary, links, man pages, systemd unit (PREFIX, DESTDIR;
#                   docs/install.md); make uninstall removes them
#   make deb        the Debian package (dpkg-buildpackage), in ..
#
# Layers: src/util (generic) <- src/global (mail) <- one directory per
# component.  The lower never includes the higher.

CC      ?= cc
SAN     ?=
ifeq ($(SAN),1)
  BUILD   := build-san
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  BUILD   := build
  SANFLAGS :=
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual \
           -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
           -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE $(WARN) $(SANFLAGS) -Isrc
LDLIBS  := -lcrypt -lssl -lcrypto -lz -lm -lcares  # c-ares: the smtp client's resolver (global/dns_lookup)
LDFLAGS += $(SANFLAGS)

ALL_C    := $(sort $(wildcard src/*/*.c))
TEST_C   := $(filter %_test.c,$(ALL_C))
MAIN_C   := src/postie/main.c
LIB_C    := $(filter-out $(TEST_C) $(MAIN_C),$(ALL_C))
LIB_O    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_C))
TEST_BIN := $(patsubst src/%.c,$(BUILD)/test/%,$(TEST_C))

.PHONY: all unit e2e test san lint fuzz fuzz-smoke clean valgrind install uninstall deb
all: $(BUILD)/postie

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libpostie.a: $(LIB_O)
	rm -f $@ && ar rcs $@ $^

# main.c refers to the services' entries weakly, so a component that is
# not written yet is absent (master does not start it) instead of a link
# error.  A weak reference alone does not pull a member out of the archive;
# -u does, so the entries the archive defines (nm, at link time) are named
# with -u.  The archive itself keeps half-written files of other components
# out of the binary until something uses them.
SERVICE_LDFLAGS = $(shell nm --defined-only $(BUILD)/libpostie.a 2>/dev/null | \
    awk '$$2 == "T" && $$3 ~ /^[a-z0-9]+_service_main$$/ { print "-Wl,-u," $$3 }')
$(BUILD)/postie: $(BUILD)/obj/postie/main.o $(BUILD)/libpostie.a
	$(CC) $(LDFLAGS) $(SERVICE_LDFLAGS) -o $@ $^ $(LDLIBS)
	@for n in sendmail mailq newaliases; do ln -sf postie $(BUILD)/$$n; done

$(BUILD)/test/%: src/%.c $(BUILD)/libpostie.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libpostie.a $(LDLIBS)

unit: $(TEST_BIN)
	@sh tests/run-unit.sh $(TEST_BIN)

valgrind: $(TEST_BIN)
	@fail=0; for t in $(TEST_BIN); do \
	    if ! valgrind -q --error-exitcode=9 --leak-check=full $$t >$$t.vg 2>&1; then \
	        cat $$t.vg; echo "FAILED under valgrind: $$t"; fail=1; fi; \
	done; echo "valgrind: $(words $(TEST_BIN)) unit tests"; exit $$fail

PYTEST ?= /usr/bin/python3 -m pytest
# The e2e files run on as many workers as the machine has cores when
# pytest-xdist is installed (every test instance has its own ports and
# directory, so they do not meet); XDIST=0 runs them in one process.
XDIST ?= $(shell $(PYTEST) --version >/dev/null 2>&1 && /usr/bin/python3 -c 'import xdist' 2>/dev/null && nproc)
PYTEST_XDIST = $(if $(filter-out 0 1,$(XDIST)),-n $(XDIST))
# Leak reports are off for the e2e run: processes that end by msg_fatal or
# SIGTERM keep their memory by design (the unit tests do check for leaks).
e2e: $(BUILD)/postie
	ASAN_OPTIONS=$${ASAN_OPTIONS:-detect_leaks=0} UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1} \
	POSTIE_BIN=$(abspath $(BUILD)/postie) $(PYTEST) -q -p no:cacheprovider $(PYTEST_XDIST) tests/e2e $(PYTEST_ARGS)

san:
	$(MAKE) SAN=1 CC=clang unit e2e

# The house rules a compiler does not check (tests/lint/lint.py says which):
# layers, function prefixes, banned calls, the parameter table.  Violations
# older than the rule are listed in tests/lint/known.txt, a list that only
# shrinks; the checker's own tests plant one violation of each rule.
lint: $(BUILD)/postie
	/usr/bin/python3 tests/lint/lint.py --obj $(BUILD)/obj --known tests/lint/known.txt
	$(PYTEST) -q -p no:cacheprovider tests/lint

# The README's test command.  gcc build first, then clang with sanitizers.
# Both halves run even when the first fails, so that one run shows every
# failure; the target fails if either did.
test:
	@rc=0; $(MAKE) lint || rc=1; $(MAKE) unit e2e || rc=1; $(MAKE) san || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (see above)"; fi; exit $$rc

fuzz:
	$(MAKE) -C fuzz

# Every fuzz target for FUZZ_SECS seconds (CI runs it: .ci/run).
FUZZ_SECS ?= 30
fuzz-smoke:
	$(MAKE) -C fuzz -j2 smoke SECS=$(FUZZ_SECS)

clean:
	rm -rf build build-san fuzz/build

# ---- system install (docs/install.md) ----
# As Postfix: the binary and sendmail in sbin, mailq and newaliases in bin;
# with PREFIX=/usr (a package) that is /usr/sbin/sendmail, /usr/bin/mailq
# and /usr/bin/newaliases, the names programs look for.  postdrop is a copy
# of the binary that must be group setgid_group (postdrop), mode 2755: a
# package sets that in its postinst (dpkg-statoverride); make install sets
# it only when run by root without DESTDIR and the group exists.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MAN1       := $(sort $(wildcard man/*.1))
MAN5       := $(sort $(wildcard man/*.5))
INSTALL    ?= install
# mailq and newaliases: relative links when bin and sbin are siblings, so
# that they hold inside DESTDIR and in a package.
BIN_TO_POSTIE = $(if $(and $(filter $(SBINDIR),$(PREFIX)/sbin),$(filter $(BINDIR),$(PREFIX)/bin)),../sbin/postie,$(SBINDIR)/postie)

install: $(BUILD)/postie
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR)/postie
	$(INSTALL) -m 0755 $(BUILD)/postie $(DESTDIR)$(SBINDIR)/postie
	$(INSTALL) -m 0755 $(BUILD)/postie $(DESTDIR)$(SBINDIR)/postdrop
	ln -sf postie $(DESTDIR)$(SBINDIR)/sendmail
	ln -sf $(BIN_TO_POSTIE) $(DESTDIR)$(BINDIR)/mailq
	ln -sf $(BIN_TO_POSTIE) $(DESTDIR)$(BINDIR)/newaliases
	$(INSTALL) -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 contrib/systemd/postie.service $(DESTDIR)$(UNITDIR)/postie.service
	$(INSTALL) -m 0644 contrib/system/postie.conf $(DESTDIR)$(DATADIR)/postie/postie.conf.system
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && getent group postdrop >/dev/null; then \
	    chgrp postdrop $(SBINDIR)/postdrop && chmod 2755 $(SBINDIR)/postdrop; \
	else echo "note: $(SBINDIR)/postdrop must be group postdrop, mode 2755 (docs/install.md)"; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/postie $(DESTDIR)$(SBINDIR)/postdrop $(DESTDIR)$(SBINDIR)/sendmail \
	    $(DESTDIR)$(BINDIR)/mailq $(DESTDIR)$(BINDIR)/newaliases \
	    $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	    $(DESTDIR)$(UNITDIR)/postie.service $(DESTDIR)$(DATADIR)/postie/postie.conf.system
	-rmdir $(DESTDIR)$(DATADIR)/postie 2>/dev/null

deb:
	dpkg-buildpackage -us -uc -b

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
