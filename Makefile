# TAP: top-level build. `make` builds the kernel module, the xtables plugin
# and the userspace tools; `make check` runs every test; `make demo` shows it.

KVER ?= $(shell scripts/kver.sh)
KDIR ?= /lib/modules/$(KVER)/build
B := build

CC ?= gcc
AR ?= ar
CFLAGS ?= -O2 -g
# WERROR= (the packages' build) keeps the warnings but does not fail on them
WERROR ?= -Werror
override CFLAGS += -std=gnu11 -Wall -Wextra $(WERROR)
TAP_VERSION := $(shell cat VERSION)
override CPPFLAGS += -Ilib -Ixt_tap -D_GNU_SOURCE -DTAP_VERSION='"$(TAP_VERSION)"'

SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

pc = $(shell pkg-config --cflags --libs $(1))
XTABLES_LIBDIR ?= $(shell pkg-config --variable=xtlibdir xtables)
# The include paths of every library a userspace file may use.
PKG_CPPFLAGS := $(shell pkg-config --cflags libmnl libnftnl libsodium xtables \
	libnetfilter_queue libcap-ng)

PROGS := $(B)/tap-keytool $(B)/tap-send $(B)/libxt_tap.so $(B)/tap-nft $(B)/tap-clientd
TESTS := $(B)/test_core $(B)/test_keyfile $(B)/test_packet $(B)/test_clientd_config \
	$(B)/test_clientd_logic $(B)/test_nft_rule $(B)/test_num
BENCH := $(B)/bench_core $(B)/bench_load $(B)/connect_latency

.PHONY: deps all modules modules-all userspace check unit-check guest-check guest-run check-kernels bench demo \
	clean dkms-install dkms-check lint

all: modules userspace

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Build against every installed kernel's headers (6.1 and 6.12); each
# kernel's module is kept in build/kmod/KVER for the guest tests (as
# xt_tap.bin: the clean step deletes every *.ko and *.ko.* in the tree, and
# the userspace objects too, which the next build then makes again).
HEADER_KVERS = $(shell ls /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$$/\1/p')
modules-all:
	@for k in $(HEADER_KVERS); do \
		echo "== xt_tap.ko against $$k"; \
		$(MAKE) -C /lib/modules/$$k/build M=$(CURDIR) clean >/dev/null && \
		$(MAKE) -C /lib/modules/$$k/build M=$(CURDIR) modules || exit 1; \
		mkdir -p $(B)/kmod/$$k && cp xt_tap/xt_tap.ko $(B)/kmod/$$k/xt_tap.bin || exit 1; \
	done; $(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null; $(MAKE) modules

userspace: $(PROGS) $(TESTS) $(BENCH)

# ---- objects: build/obj/DIR/FILE.o, and build/san/... with the sanitizers
# for the unit tests; -MMD -MP writes each object's header dependencies.
DEPFLAGS = -MMD -MP
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<
$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CPPFLAGS) $(CFLAGS) $(SAN) $(DEPFLAGS) -c -o $@ $<
# The benchmarks measure the core at -O2 whatever CFLAGS says.
$(B)/bench/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CPPFLAGS) $(CFLAGS) -O2 $(DEPFLAGS) -c -o $@ $<

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
san = $(patsubst %.c,$(B)/san/%.o,$(1))
LINK = $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

# ---- libtap: what the programs share (lib/) and the protocol core
LIB_SRC := $(wildcard lib/*.c) xt_tap/tap_core.c
$(B)/libtap.a: $(call obj,$(LIB_SRC))
	$(AR) rcs $@ $^
$(B)/libtap-san.a: $(call san,$(LIB_SRC))
	$(AR) rcs $@ $^
$(B)/libtap-bench.a: $(patsubst %.c,$(B)/bench/%.o,$(LIB_SRC))
	$(AR) rcs $@ $^

# ---- programs
$(B)/libxt_tap.so: xt_tap/libxt_tap.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) -fPIC -shared -o $@ $< $(call pc,xtables)

KEYTOOL_SRC := $(wildcard keytool/*.c)
$(B)/tap-keytool: LDLIBS = $(call pc,libmnl libsodium)
$(B)/tap-keytool: $(call obj,$(KEYTOOL_SRC)) $(B)/libtap.a
	$(LINK)

TAPSEND_SRC := tests/tools/tap-send.c
$(B)/tap-send: LDLIBS = $(call pc,libsodium)
$(B)/tap-send: $(call obj,$(TAPSEND_SRC)) $(B)/libtap.a
	$(LINK)

CLIENTD_SRC := $(wildcard userspace-client/*.c)
$(B)/tap-clientd: LDLIBS = $(call pc,libnetfilter_queue libnftnl libmnl libsodium libcap-ng)
$(B)/tap-clientd: $(call obj,$(CLIENTD_SRC)) $(B)/libtap.a
	$(LINK)

TAPNFT_SRC := $(wildcard nft/*.c)
$(B)/tap-nft: LDLIBS = $(call pc,libnftnl libmnl xtables)
$(B)/tap-nft: $(call obj,$(TAPNFT_SRC)) $(B)/libtap.a
	$(LINK)

$(B)/connect_latency: $(call obj,bench/connect_latency.c)
	$(LINK)

# ---- unit tests (sanitizers on the code they test)
$(B)/test_core: LDLIBS = $(call pc,libsodium)
$(B)/test_core: $(call san,tests/unit/test_core.c) $(B)/libtap-san.a
	$(LINK) $(SAN)

$(B)/test_packet: override CPPFLAGS += -Iuserspace-client
$(B)/test_packet: LDLIBS = $(call pc,libsodium)
$(B)/test_packet: $(call san,tests/unit/test_packet.c userspace-client/clientd_packet.c) $(B)/libtap-san.a
	$(LINK) $(SAN)

# --wrap: the test searches every block the reader frees for key bytes
$(B)/test_clientd_config: override CPPFLAGS += -Iuserspace-client
$(B)/test_clientd_config: LDLIBS = $(call pc,libsodium) -Wl,--wrap=free,--wrap=realloc
$(B)/test_clientd_config: $(call san,tests/unit/test_clientd_config.c \
		userspace-client/clientd_config.c) $(B)/libtap-san.a
	$(LINK) $(SAN)

$(B)/test_clientd_logic: override CPPFLAGS += -Iuserspace-client
$(B)/test_clientd_logic: $(call san,tests/unit/test_clientd_logic.c userspace-client/clientd_reuse.c)
	$(LINK) $(SAN)

$(B)/test_nft_rule: override CPPFLAGS += -Inft
$(B)/test_nft_rule: LDLIBS = $(call pc,libnftnl libmnl)
$(B)/test_nft_rule: $(call san,tests/unit/test_nft_rule.c nft/rule.c) $(B)/libtap-san.a
	$(LINK) $(SAN)

$(B)/test_num: $(call san,tests/unit/test_num.c) $(B)/libtap-san.a
	$(LINK) $(SAN)

$(B)/test_keyfile: LDLIBS = $(call pc,libsodium)
$(B)/test_keyfile: $(call san,tests/unit/test_keyfile.c) $(B)/libtap-san.a
	$(LINK) $(SAN)

$(B)/bench_core: LDLIBS = $(call pc,libsodium) -lpthread
$(B)/bench_core: $(B)/bench/bench/bench_core.o $(B)/libtap-bench.a
	$(LINK)

$(B)/bench_load: LDLIBS = $(call pc,libsodium)
$(B)/bench_load: $(B)/bench/bench/bench_load.o $(B)/libtap-bench.a
	$(LINK)

-include $(shell find $(B)/obj $(B)/san $(B)/bench -name '*.d' 2>/dev/null) $(B)/libxt_tap.d

# Shell scripts with shellcheck, C with the compiler flags above (-Wall
# -Wextra -Werror: `make userspace` fails on a warning). LINT_SEVERITY=warning
# shows shellcheck's warnings too (the guest tests still have some).
LINT_SEVERITY ?= error
SHELL_SCRIPTS = $(shell git ls-files '*.sh' 2>/dev/null || find . -name '*.sh' -not -path './build/*')
lint: userspace
	shellcheck -S $(LINT_SEVERITY) -x $(SHELL_SCRIPTS)

unit-check: $(TESTS) tools
	tests/unit/test_version.sh
	tests/unit/test_dkms_all_kernels.sh
	$(B)/test_core
	$(B)/test_keyfile
	$(B)/test_packet
	$(B)/test_clientd_config
	$(B)/test_clientd_logic
	$(B)/test_nft_rule
	$(B)/test_num

# Every guest test on the default kernel; on every other kernel that has an
# image to boot (bookworm-backports' 6.12) the tests of what differs between
# kernels: module load and self-test, pernet and module life cycles, memory
# accounting, defragmentation, nft_compat, the hooks, netns teardown, the
# TCP stack's retransmissions, the client's NFQUEUE and an on-path observer.
# Two guests at a time (TAP_GUEST_JOBS). Each kernel's summary is repeated at the end, where CI's short tail shows it.
# check-kernels runs every guest test on every kernel.
TAP_GUEST_JOBS ?= 2
export TAP_GUEST_JOBS
KERNEL_TESTS = smoke kmod_selftest kmod_cycles kmod_memcg frag_no_bypass \
	nft_interop e2e_hooks e2e_netns client_nat_many client_e2e observer_on_path
guest-check: all
	$(MAKE) modules-all
	$(MAKE) guest-run OTHER_KERNEL_TESTS="$(KERNEL_TESTS)"

check-kernels: all
	$(MAKE) modules-all
	$(MAKE) guest-run OTHER_KERNEL_TESTS=

guest-run:
	@rc=0; rm -f build/qemu/logs/*/summary.txt; \
	tests/run-guest-tests.sh || rc=1; \
	for k in $(HEADER_KVERS); do \
		[ "$$k" != "$(KVER)" ] && [ -e /boot/vmlinuz-$$k ] || continue; \
		TAP_KVER=$$k tests/run-guest-tests.sh $(OTHER_KERNEL_TESTS) || rc=1; \
	done; \
	echo "=== guest summary"; cat build/qemu/logs/*/summary.txt; exit $$rc

deps:
	scripts/install-deps.sh --if-missing

# The README's test command: installs what is missing, then every test.
check: deps
	$(MAKE) all
	$(MAKE) unit-check
	$(MAKE) guest-check

# The benchmarks of bench/README*.md (about 10 minutes). Not timed tests:
# their figures go into the issues' notes and the READMEs.
GUEST_FLOOD_CONFIGS = inject drop tap tap1 drop_nft tap_nft tap1_nft tap_protect \
	hashlimit hashlimit_src recent crafted
bench: deps
	$(MAKE) all
	$(B)/bench_core
	$(B)/bench_load grid
	$(B)/bench_load fair
	bench/flood_model.sh
	$(MAKE) -C bench/inject KDIR=$(KDIR)
	BENCH_NO_BUILD=1 KDIR=$(KDIR) N=20000 REPS=3 CONFIGS="$(GUEST_FLOOD_CONFIGS)" bench/run.sh

demo: deps
	$(MAKE) all
	tests/demo.sh

# DKMS for one kernel (KVER), from the files make install puts in /usr/src.
DKMS_VER := $(TAP_VERSION)
DKMS_SRC := /usr/src/xt_tap-$(DKMS_VER)
dkms-install:
	rm -rf $(DKMS_SRC)
	$(MAKE) install-dkms DESTDIR=
	dkms remove -m xt_tap -v $(DKMS_VER) --all >/dev/null 2>&1 || true
	dkms add -m xt_tap -v $(DKMS_VER)
	dkms install -m xt_tap -v $(DKMS_VER) -k $(KVER)

# Builds the DKMS package for every installed kernel, then removes it.
dkms-check: dkms-install
	@for k in $(HEADER_KVERS); do \
		dkms build -m xt_tap -v $(DKMS_VER) -k $$k || exit 1; done
	dkms remove -m xt_tap -v $(DKMS_VER) --all
	rm -rf $(DKMS_SRC)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C bench/inject KDIR=$(KDIR) clean
	rm -rf $(B)

# ---- install, uninstall and the Debian packages (issue 11) --------------
# One list per package, one line per file: MODE:SOURCE:DESTINATION.
# `make install` installs all three lists (DESTDIR and PREFIX honoured),
# debian/rules installs each into its package, so both install the same
# files (tests/deb_files.sh compares them). Adding a file is one line here.
PREFIX ?= /usr
SBINDIR = $(PREFIX)/sbin
MAN8DIR = $(PREFIX)/share/man/man8
DOCDIR = $(PREFIX)/share/doc
# systemd and DKMS look only here, and iptables only in its own directory
UNITDIR = /lib/systemd/system
DKMS_LIBDIR = /usr/libexec/xt-tap-dkms

# xt-tap-dkms: the module's source; DKMS builds it for each kernel
DKMS_FILES := 0644:dkms.conf:$(DKMS_SRC)/dkms.conf
DKMS_FILES += 0644:Kbuild:$(DKMS_SRC)/Kbuild
DKMS_FILES += 0644:VERSION:$(DKMS_SRC)/VERSION
DKMS_FILES += $(foreach f,xt_tap/Kbuild xt_tap/xt_tap.h $(wildcard xt_tap/xt_tap_*.[ch] xt_tap/tap_core.[ch]) xt_tap/tap_vectors.h,0644:$(f):$(DKMS_SRC)/$(f))
DKMS_FILES += 0755:scripts/dkms-all-kernels.sh:$(DKMS_LIBDIR)/dkms-all-kernels

# tap-server: the plugin, the key tool, tap-nft, their units and man pages
SERVER_FILES := 0644:$(B)/libxt_tap.so:$(XTABLES_LIBDIR)/libxt_tap.so
SERVER_FILES += 0755:$(B)/tap-keytool:$(SBINDIR)/tap-keytool
SERVER_FILES += 0755:$(B)/tap-nft:$(SBINDIR)/tap-nft
SERVER_FILES += 0644:keytool/tap-keys.service:$(UNITDIR)/tap-keys.service
SERVER_FILES += 0644:keytool/tap-keytool.8:$(MAN8DIR)/tap-keytool.8
SERVER_FILES += 0644:nft/tap-nft.8:$(MAN8DIR)/tap-nft.8
SERVER_FILES += 0644:xt_tap/xt_tap.8:$(MAN8DIR)/xt_tap.8
SERVER_FILES += 0644:nft/protect-iptables.rules:$(DOCDIR)/tap-server/examples/protect-iptables.rules
# (h11apply) tap-nft apply's files: one SERVER_FILES line each, e.g.
# SERVER_FILES += 0644:nft/protect.conf:/etc/tap/protect.conf

# tap-client: the client daemon
CLIENT_FILES := 0755:$(B)/tap-clientd:$(SBINDIR)/tap-clientd
CLIENT_FILES += 0644:userspace-client/tap-clientd.service:$(UNITDIR)/tap-clientd.service
CLIENT_FILES += 0644:userspace-client/tap-clientd.8:$(MAN8DIR)/tap-clientd.8
CLIENT_FILES += 0644:userspace-client/tap-clientd.conf.example:$(DOCDIR)/tap-client/examples/tap-clientd.conf

# Only the programs the packages ship (no tests, no benchmarks).
tools: $(B)/tap-keytool $(B)/tap-nft $(B)/tap-clientd $(B)/libxt_tap.so

# install_list FILES: each file to $(DESTDIR)DESTINATION; the units run
# the tools from $(SBINDIR); a file in /etc that exists is the admin's (as
# a conffile for dpkg) and stays as it is
define install_list
	@set -e; for e in $(1); do \
		m=$${e%%:*} r=$${e#*:}; src=$${r%%:*} dst=$(DESTDIR)$${r#*:}; \
		case $${r#*:} in /etc/*) [ ! -e $$dst ] || { echo "keeping $$dst"; continue; } ;; esac; \
		echo "install -m $$m $$src $$dst"; install -D -m $$m $$src $$dst; \
		case $$dst in *.service) sed -i 's|/usr/sbin/|$(SBINDIR)/|g' $$dst ;; esac; \
	done
endef
uninstall_list = @for e in $(1); do case $${e\#\#*:} in /etc/*) ;; *) rm -fv "$(DESTDIR)$${e\#\#*:}" ;; esac; done

.PHONY: tools install install-dkms install-server install-client uninstall deb
install-dkms:
	$(call install_list,$(DKMS_FILES))
install-server: tools
	$(call install_list,$(SERVER_FILES))
install-client: tools
	$(call install_list,$(CLIENT_FILES))

# What the packages' maintainer scripts do, when installing into /: the
# client's user and key directory, and the module for every kernel that has
# its headers (the running one included), through DKMS.
install: install-dkms install-server install-client
	install -d -m 0700 $(DESTDIR)/etc/tap/keys
ifeq ($(DESTDIR),)
	id -u tap-clientd >/dev/null 2>&1 || \
		adduser --system --group --no-create-home --home /nonexistent tap-clientd
	install -d -m 0750 -g tap-clientd /etc/tap/clientd
	$(DKMS_LIBDIR)/dkms-all-kernels $(TAP_VERSION)
else
	install -d -m 0750 $(DESTDIR)/etc/tap/clientd
endif

# Leaves /etc/tap (keys, configuration) and the tap-clientd user.
uninstall:
ifeq ($(DESTDIR),)
	-dkms remove -m xt_tap -v $(TAP_VERSION) --all
endif
	$(call uninstall_list,$(DKMS_FILES) $(SERVER_FILES) $(CLIENT_FILES))
	-rmdir -p --ignore-fail-on-non-empty $(DESTDIR)$(DKMS_SRC)/xt_tap $(DESTDIR)$(DKMS_LIBDIR) \
		$(DESTDIR)$(DOCDIR)/tap-server/examples $(DESTDIR)$(DOCDIR)/tap-client/examples 2>/dev/null

# The three .debs in build/deb, built from a copy of the tree (debian/rules
# clean would empty build/), then checked: lintian, and tests/deb_files.sh
# (make install's files are the packages' files).
DEB_DIR = $(B)/deb
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/tap-$(TAP_VERSION)
	tar -cf - --exclude=./.git --exclude=./$(B) --exclude='*.ko' --exclude='*.o' . | \
		tar -C $(DEB_DIR)/tap-$(TAP_VERSION) -xf -
	cd $(DEB_DIR)/tap-$(TAP_VERSION) && dpkg-buildpackage -b -us -uc
	lintian --fail-on error,warning --info $(DEB_DIR)/*.changes
	tests/deb_files.sh $(DEB_DIR)
# the programs print VERSION (-DTAP_VERSION)
$(B)/obj/keytool/tap-keytool.o $(B)/obj/nft/tap-nft.o $(B)/obj/userspace-client/tap-clientd.o: VERSION
