# mvm -- a minimal virtual machine monitor.  Plain GNU make.
#
#   make            build ./mvm
#   make check      install test dependencies, build, run every test
#   make demo       fetch a Debian kernel + busybox initramfs and boot it
#   make check-asan unit + firmware tests under ASan+UBSan
#   make check-kvm  nested-KVM tests (QEMU TCG guest with a real /dev/kvm)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each

VERSION := 0.1.0
CC      ?= cc
BUILD   ?= build
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
           -Wmissing-prototypes -Wstrict-prototypes -D_GNU_SOURCE \
           -DMVM_VERSION='"$(VERSION)"' -fno-strict-aliasing -pthread
override CFLAGS += $(EXTRA_CFLAGS)
LDFLAGS ?=
LDLIBS  := -lm

# Modules: one folder under src/, one name prefix.  A module joins the build
# by being listed here.
MODULES := util bus mem config vm vcpu devices loader kvm acpi fdt x86 mmu_shadow irqchip seccomp

# --- libraries: pkg-config where Debian ships a .pc file, else a probe ------
define need_lib
$(if $(shell pkg-config --exists $(1) 2>/dev/null && echo y),\
  $(eval override CFLAGS += $(shell pkg-config --cflags $(1)))$(eval LDLIBS += $(shell pkg-config --libs $(1))),\
  $(if $(shell printf '#include <$(2)>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo y),\
    $(eval LDLIBS += $(3)),\
    $(error $(2) not found: install the Debian package $(4) (or run scripts/deps.sh))))
endef
ifeq ($(filter deps clean distclean demo-deps,$(MAKECMDGOALS)),)
$(call need_lib,libfdt,libfdt.h,-lfdt,libfdt-dev)
$(call need_lib,libseccomp,seccomp.h,-lseccomp,libseccomp-dev)
$(call need_lib,libaio,libaio.h,-laio,libaio-dev)
endif

SRCS     := $(foreach m,$(MODULES),$(sort $(wildcard src/$(m)/*.c src/$(m)/*/*.c)))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
LIB      := $(BUILD)/libmvm.a

all: mvm

mvm: $(MAIN_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d) $(MAIN_OBJ:.o=.d)

# --- unit tests: tests/unit/test_<module>.c, cmocka --------------------------
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_LIBS := $(LDLIBS) $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -MMD -MP -o $@ $< $(LIB) $(UNIT_LIBS) $(UNIT_EXTRA_$*)
-include $(UNIT_BINS:=.d)

UNIT_EXTRA_test_x86_unicorn := $(shell pkg-config --libs unicorn 2>/dev/null)

unit: $(UNIT_BINS) firmware
	@MVM_FW_DIR=$(BUILD)/firmware X86_FW_DIR=$(BUILD)/firmware tests/run-unit.sh $(UNIT_BINS)

# --- firmware guests --------------------------------------------------------
-include firmware/firmware.mk

# --- test entry points ------------------------------------------------------
deps:
	@scripts/deps.sh

check: deps
	@$(MAKE) -s --no-print-directory mvm
	@$(MAKE) -s --no-print-directory check-fast
	@$(MAKE) -s --no-print-directory check-asan
	@$(MAKE) -s --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)
	@$(MAKE) -s --no-print-directory check-kvm

# Everything that runs on the host in seconds to minutes.
check-fast: mvm unit firmware
	@BUILD=$(BUILD) tests/integration/run.sh

check-asan:
	@$(MAKE) -s --no-print-directory BUILD=build-asan \
	  CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  LDFLAGS='-fsanitize=address,undefined' MVM_BIN=build-asan/mvm asan-inner

# The sanitizer runtimes make syscalls the production filters forbid, so the
# firmware guests run with --seccomp off here (the filters are tested in the
# normal build).
asan-inner: $(BUILD)/mvm unit
	@MVM=$(BUILD)/mvm tests/integration/bad_input.sh
	@MVM_EXTRA_ARGS="--seccomp off" tests/firmware/run.sh --accel shadow --mvm $(BUILD)/mvm \
	  --fw $(BUILD)/firmware --timeout 300

$(BUILD)/mvm: $(MAIN_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

NPT ?= 1
check-kvm: mvm firmware
	@BUILD=$(BUILD) tests/kvm/run.sh --npt $(NPT)

# Benchmarks print ratios against QEMU run in the same invocation.
bench: mvm firmware
	@for b in bench/boot.sh bench/interp.sh bench/blk.sh; do \
	  [ -x $$b ] && { echo "== $$b"; $$b || exit 1; }; done; true

demo: deps
	@$(MAKE) -s --no-print-directory mvm
	@scripts/demo.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz mvm

.PHONY: all unit deps check check-fast check-asan asan-inner check-kvm bench demo clean

# --- fuzzing: libFuzzer targets in tests/fuzz/fuzz_<name>.c ------------------
FUZZ_SECONDS ?= 60
# Seconds per target in make check's smoke run.
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)

fuzz-build:
	@$(MAKE) -s --no-print-directory BUILD=build-fuzz CC=clang \
	  CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined' \
	  EXTRA_CFLAGS='-Wno-gnu-variable-sized-type-not-at-end -Wno-missing-field-initializers -Wno-address-of-packed-member -Wno-atomic-alignment' \
	  $(FUZZ_NAMES:%=build-fuzz/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Isrc -o $@ $< $(LIB) $(LDLIBS)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

.PHONY: fuzz fuzz-build
