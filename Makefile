# TAP: top-level build. `make` builds the kernel module, the xtables plugin
# and the userspace tools; `make check` runs every test; `make demo` shows it.

KVER ?= $(shell scripts/kver.sh)
KDIR ?= /lib/modules/$(KVER)/build
B := build

CC ?= gcc
AR ?= ar
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror
override CPPFLAGS += -Ilib -Ixt_tap -D_GNU_SOURCE
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
	install clean dkms-install dkms-check lint

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

unit-check: $(TESTS)
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

install: all
	install -D -m 0644 xt_tap/xt_tap.ko $(DESTDIR)/lib/modules/$(KVER)/extra/xt_tap.ko
	install -D -m 0755 $(B)/libxt_tap.so $(DESTDIR)$(XTABLES_LIBDIR)/libxt_tap.so
	install -D -m 0755 $(B)/tap-keytool $(DESTDIR)/usr/sbin/tap-keytool
	install -D -m 0644 keytool/tap-keytool.8 $(DESTDIR)/usr/share/man/man8/tap-keytool.8
	install -D -m 0644 keytool/tap-keys.service $(DESTDIR)/lib/systemd/system/tap-keys.service
	install -d -m 0700 $(DESTDIR)/etc/tap/keys
	install -D -m 0644 xt_tap/xt_tap.8 $(DESTDIR)/usr/share/man/man8/xt_tap.8
	install -D -m 0755 $(B)/tap-nft $(DESTDIR)/usr/sbin/tap-nft
	install -D -m 0644 nft/tap-nft.8 $(DESTDIR)/usr/share/man/man8/tap-nft.8
	install -D -m 0755 $(B)/tap-clientd $(DESTDIR)/usr/sbin/tap-clientd
	install -D -m 0644 userspace-client/tap-clientd.8 $(DESTDIR)/usr/share/man/man8/tap-clientd.8
	install -D -m 0644 userspace-client/tap-clientd.service $(DESTDIR)/lib/systemd/system/tap-clientd.service
	install -D -m 0644 userspace-client/tap-clientd.conf.example $(DESTDIR)/usr/share/doc/tap/clientd.conf.example
# tap-clientd runs as its own user, its key files in /etc/tap/clientd
	[ -n "$(DESTDIR)" ] || id -u tap-clientd >/dev/null 2>&1 || \
		adduser --system --group --no-create-home tap-clientd
	install -d -m 0750 $(DESTDIR)/etc/tap/clientd
	[ -n "$(DESTDIR)" ] || chgrp tap-clientd /etc/tap/clientd
	[ -n "$(DESTDIR)" ] || depmod -a $(KVER)

# DKMS: install the module source so it is rebuilt for every new kernel.
DKMS_VER := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC := /usr/src/xt_tap-$(DKMS_VER)
dkms-install:
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)/xt_tap
	install -m 0644 dkms.conf Kbuild $(DKMS_SRC)/
	install -m 0644 xt_tap/Kbuild xt_tap/tap_core.[ch] xt_tap/tap_vectors.h \
		xt_tap/xt_tap.h xt_tap/xt_tap_*.[ch] $(DKMS_SRC)/xt_tap/
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

# ---- check-debug (issue 12): the guest tests on a debug kernel (KASAN,
# kmemleak, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, debug objects, UBSAN)
# that scripts/build-debug-kernel.sh builds from Debian's linux-source-6.1
# into build/debug-kernel/ (cold: minutes; with its ccache: about one).
# xt_tap.ko is built against that tree into build/kmod/KVER. The guest's
# dmesg and kmemleak decide: any report fails the test. DEBUG_TESTS picks
# the tests (default: every one); they run 4-9 times slower than on 6.1.
DEBUG_DIR := $(B)/debug-kernel
DEBUG_TESTS ?=
# Proposed for CI (make check-debug DEBUG_TESTS="$(DEBUG_CI_TESTS)"): module
# load/self-test/unload, keys added, replaced and deleted under RCU, the
# packet path, per-netns tables made and freed under a memory cgroup.
DEBUG_CI_TESTS = kmod_selftest keytool_sync e2e_token kmod_memcg
DEBUG_QEMU_TIMEOUT ?= 3600
.PHONY: debug-kernel debug-module check-debug
debug-kernel:
	scripts/build-debug-kernel.sh

debug-module: debug-kernel
	@k=$$(cat $(DEBUG_DIR)/kver); echo "== xt_tap.ko against $$k"; \
	$(MAKE) -C $(DEBUG_DIR)/obj M=$(CURDIR) clean >/dev/null && \
	$(MAKE) -C $(DEBUG_DIR)/obj M=$(CURDIR) modules && \
	mkdir -p $(B)/kmod/$$k && cp xt_tap/xt_tap.ko $(B)/kmod/$$k/xt_tap.bin && \
	$(MAKE) -C $(DEBUG_DIR)/obj M=$(CURDIR) clean >/dev/null
	$(MAKE) modules

check-debug: deps
	$(MAKE) all
	$(MAKE) debug-module
	TAP_KVER=$$(cat $(DEBUG_DIR)/kver) TAP_KIMAGE=$(CURDIR)/$(DEBUG_DIR)/vmlinuz \
	TAP_KMODROOT=$(CURDIR)/$(DEBUG_DIR)/modroot TAP_KAPPEND=acpi=noirq \
	TAP_QEMU_TIMEOUT=$(DEBUG_QEMU_TIMEOUT) tests/run-guest-tests.sh $(DEBUG_TESTS)
