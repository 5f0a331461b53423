# hv86 build. `make` builds the images; `make run`, `make test`, `make check`, `make bench`,
# `make layers`.
# Sources are found by folder, so adding a file needs no edit here.

CC      ?= gcc
BUILD   := build
PYTHON  ?= python3

# --- the hypervisor image (freestanding, x86-64) ---------------------------------
HV_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin \
	-fno-stack-protector -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-mcmodel=small -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
	-mno-sse -mno-mmx -m64 -I. -DHV86_FREESTANDING
HV_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 --no-warn-rwx-segments \
	-T boot/linker.ld

HV_C   := $(wildcard kernel/*.c lib/*.c vmm/*.c vmm/*/*.c dev/*.c loader/*.c)
HV_S   := $(wildcard boot/*.S kernel/*.S vmm/*/*.S)
HV_OBJ := $(patsubst %,$(BUILD)/hv/%.o,$(HV_S) $(HV_C))

# Pure logic: built for the host too, unit-tested and fuzzed. These files include
# only <stdint.h>-level headers, arch/ (the header-only facts) and their own
# folder's headers.
PURE_C := $(wildcard lib/*.c vmm/emulate/*.c loader/*.c) $(wildcard dev/*.c) \
	$(wildcard vmm/*_pure.c vmm/*/*_pure.c vmm/*/*_check.c vmm/gpt_walk.c vmm/policy/*.c)

all: $(BUILD)/hv86.elf $(BUILD)/hv86.iso guests

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/hv/%.c.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/hv/%.S.o: %.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/hv86.elf: $(HV_OBJ) boot/linker.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)ld $(HV_LDFLAGS) -o $@ $(HV_OBJ)

$(BUILD)/hv86.iso: $(BUILD)/hv86.elf scripts/mkiso
	scripts/mkiso $@ $(BUILD)/hv86.elf

# --- test guests (ELF32 multiboot v1, so QEMU -kernel runs them directly too) -----
include guests/guests.mk

# --- the Linux test guest: Debian's kernel and a busybox initramfs (docs/linux.md) ---
# Downloaded once (apt-get download, nothing installed); present files are kept.
# Each kernel comes with the modules it needs for disks (modules/, named here by its
# load-order file) and gets its own initramfs holding them.
LINUX := $(BUILD)/linux
DISK  := $(BUILD)/disk

# $(call linux-image,OUT,METAPACKAGE,EXTRA OUTPUTS): scripts/linux-image skips what
# is present, so a changed script must start from fresh modules (the kernel comes
# again with them), and the outputs are touched so make then leaves them alone.
define linux-image
	rm -rf $(1)/modules
	scripts/linux-image $(1) $(2)
	touch $(1)/vmlinuz $(1)/modules/load-order $(3)
endef

$(LINUX)/vmlinuz $(LINUX)/modules/load-order $(LINUX)/busybox &: scripts/linux-image
	$(call linux-image,$(LINUX),,$(LINUX)/busybox)

# The second kernel series (issue 19): Debian 12's 6.12, generic and cloud flavours.
$(BUILD)/linux-6.12/vmlinuz $(BUILD)/linux-6.12/modules/load-order &: scripts/linux-image
	$(call linux-image,$(BUILD)/linux-6.12,linux-image-6.12-amd64)

$(BUILD)/linux-6.12-cloud/vmlinuz $(BUILD)/linux-6.12-cloud/modules/load-order &: \
		scripts/linux-image
	$(call linux-image,$(BUILD)/linux-6.12-cloud,linux-image-6.12-cloud-amd64)

# build/linux, build/linux-6.12, build/linux-6.12-cloud: one busybox, each kernel's
# own modules.
$(BUILD)/%/initramfs.cpio.gz: guests/linux/init $(LINUX)/busybox \
		$(BUILD)/%/modules/load-order scripts/mkinitramfs $(BUILD)/rio
	scripts/mkinitramfs --modules $(BUILD)/$*/modules --program $(BUILD)/rio \
		guests/linux/init $(LINUX)/busybox $@

# The disk benchmark's random I/O (guests/linux/rio.c): static, for any of them.
$(BUILD)/rio: guests/linux/rio.c
	$(CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

# The disks of hv86.disk=check: one to read and write, a small read-only one.
$(DISK)/test.ext4: scripts/mkdiskimage
	scripts/mkdiskimage $@ 32

$(DISK)/ro.ext4: scripts/mkdiskimage
	scripts/mkdiskimage $@ 4

# The benchmark's raw disk (bench/run.py "Disk"): 64 MiB of zeros, no file system.
$(DISK)/bench.img:
	@mkdir -p $(dir $@)
	truncate -s 64M $@

linux: $(foreach k,linux linux-6.12 linux-6.12-cloud,$(BUILD)/$(k)/vmlinuz \
	$(BUILD)/$(k)/initramfs.cpio.gz) $(DISK)/test.ext4 $(DISK)/ro.ext4 $(DISK)/bench.img

# --- kvm-unit-tests: the public x86 suite, built from its release tarball ----------
# (../shared/outside/, or KUT_TARBALL); without one the runner skips its runs.
kvm-unit-tests:
	@scripts/kvm-unit-tests $(BUILD)/kvm-unit-tests

# --- host unit tests (cmocka) ---------------------------------------------------
include tests/unit/unit.mk

# --- fuzzing (libFuzzer) ----------------------------------------------------------
include tests/fuzz/fuzz.mk

# --- the commands ---------------------------------------------------------------
# The commands install what is missing first, then build (a sub-make, so that
# nothing is compiled before the tools exist, even with make -j).
deps:
	@scripts/deps

build-all: deps
	@$(MAKE) --no-print-directory all unit-build linux kvm-unit-tests

# The demo VMs' own statuses are not make's business: the console shows them.
run: build-all
	@tools/hv86-run --config guests/demo.cfg; \
	echo "make run: hv86-run exited with status $$? (docs/result-protocol.md)"

# The layering check (docs/architecture.md) and its own test; the runner of
# `make check` and `make test` runs both too, first, and counts them.
layers:
	$(PYTHON) scripts/check-layers
	$(PYTHON) -m unittest discover -s tests/layers

check: build-all
	$(PYTHON) tests/system/runner.py --tier fast

test: build-all
	$(PYTHON) tests/system/runner.py --tier all

bench: build-all
	$(PYTHON) bench/run.py
	@$(MAKE) --no-print-directory fuzz-run

clean:
	rm -rf $(BUILD)

.PHONY: all deps build-all run check test bench clean guests unit-build linux layers \
        kvm-unit-tests
-include $(HV_OBJ:.o=.d)
