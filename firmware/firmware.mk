# Firmware test guests: multiboot v1 ELF32 images built with the host
# toolchain.  `make firmware` puts one $(BUILD)/firmware/<name>.elf per
# program; tests/firmware/run.sh runs them.
FW_PROGS   := io strio paging tlb ptmod smc modes osi trace hostile hostile_mmio hostile_idle bench
FW_DIR     := $(BUILD)/firmware
FW_CC      ?= gcc
FW_CFLAGS  := -m32 -march=i686 -ffreestanding -nostdlib -fno-pic -fno-pie \
              -fno-stack-protector -fno-builtin -fno-asynchronous-unwind-tables \
              -mno-sse -mno-mmx -mgeneral-regs-only -O2 -g -std=gnu11 \
              -Wall -Wextra -Werror -Wno-unused-parameter -Ifirmware/common
FW_LDFLAGS := -m elf_i386 -nostdlib --build-id=none -z max-page-size=0x1000 \
              -z noexecstack -T firmware/link.ld
FW_COMMON  := $(FW_DIR)/common/head.o $(FW_DIR)/common/lib.o $(FW_DIR)/common/desc32.o \
              $(FW_DIR)/common/pt.o

$(FW_DIR)/%.o: firmware/%.c firmware/common/fw.h firmware/common/pt.h $(wildcard firmware/*.h)
	@mkdir -p $(dir $@)
	$(FW_CC) $(FW_CFLAGS) -c -o $@ $<

$(FW_DIR)/%.o: firmware/%.S
	@mkdir -p $(dir $@)
	$(FW_CC) $(FW_CFLAGS) -c -o $@ $<

# A program is <name>.c plus an optional <name>_asm.S.
define fw_prog
$(FW_DIR)/$(1).elf: $(FW_DIR)/$(1).o $(if $(wildcard firmware/$(1)_asm.S),$(FW_DIR)/$(1)_asm.o) $(FW_COMMON) firmware/link.ld
	ld $(FW_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach p,$(FW_PROGS),$(eval $(call fw_prog,$(p))))
.SECONDARY: $(FW_COMMON) $(FW_PROGS:%=$(FW_DIR)/%.o) $(FW_PROGS:%=$(FW_DIR)/%_asm.o)

# 64-bit programs: ELF64 with the a.out-kludge fields, long mode from entry.
FW64_PROGS   := paging64 io64 bench64
FW64_CFLAGS  := $(filter-out -m32 -march=i686,$(FW_CFLAGS)) -m64 -mcmodel=small -mno-red-zone
FW64_LDFLAGS := -m elf_x86_64 -nostdlib --build-id=none -z max-page-size=0x1000 \
                -z noexecstack -T firmware/link64.ld \
                $(shell ld --help 2>/dev/null | grep -q no-warn-rwx-segments && echo --no-warn-rwx-segments)
FW64_COMMON  := $(FW_DIR)/64/common/head64.o $(FW_DIR)/64/common/lib.o \
                $(FW_DIR)/64/common/desc64.o

$(FW_DIR)/64/%.o: firmware/%.c firmware/common/fw.h
	@mkdir -p $(dir $@)
	$(FW_CC) $(FW64_CFLAGS) -c -o $@ $<

$(FW_DIR)/64/%.o: firmware/%.S
	@mkdir -p $(dir $@)
	$(FW_CC) $(FW64_CFLAGS) -c -o $@ $<

define fw64_prog
$(FW_DIR)/$(1).elf: $(FW_DIR)/64/$(1).o $(FW64_COMMON) firmware/link64.ld
	ld $(FW64_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach p,$(FW64_PROGS),$(eval $(call fw64_prog,$(p))))
$(FW_DIR)/64/bench64.o: firmware/bench.c
.SECONDARY: $(FW64_COMMON) $(FW64_PROGS:%=$(FW_DIR)/64/%.o)

firmware: $(FW_PROGS:%=$(FW_DIR)/%.elf) $(FW64_PROGS:%=$(FW_DIR)/%.elf)

.PHONY: firmware
