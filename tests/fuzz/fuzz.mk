# Fuzzing with libFuzzer (clang). Included by the top Makefile.
#
#   make fuzz            builds $(BUILD)/fuzz/fuzz_NAME for every tests/fuzz/fuzz_NAME.c
#   make fuzz-run        runs each for FUZZ_SECONDS (default 30) on a copy of its seed
#                        corpus tests/fuzz/corpus/NAME (if any), so the tree stays clean
#   make fuzz-long       every target towards 10 million executions or 2 hours, resumable
#                        across sessions (scripts/fuzz-long: progress in tests/fuzz/long.tsv,
#                        new coverage merged into tests/fuzz/corpus/NAME, figures in
#                        bench/RESULTS.md); FUZZ_LONG_SECONDS caps one invocation per target
#
# Each target links only the pure modules it exercises (FUZZ_SRC_NAME).

FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -Wall -Wextra -Werror -I. \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

FUZZ_SRC_config  := lib/config.c lib/format.c lib/mac.c
FUZZ_SRC_decode  := vmm/emulate/decode.c
FUZZ_SRC_emulate := vmm/emulate/emulate.c vmm/emulate/decode.c
FUZZ_SRC_gpt_walk := vmm/gpt_walk.c
FUZZ_SRC_bus := dev/bus.c
FUZZ_SRC_devices := dev/bus.c dev/uart16550.c dev/pit.c dev/rtc.c dev/pic8259.c dev/ioapic.c \
	dev/lapic.c dev/fw_cfg.c dev/pci.c dev/acpi_pm.c
FUZZ_SRC_linux_boot := loader/linux_boot.c
FUZZ_SRC_multiboot_guest := loader/multiboot_guest.c
FUZZ_ARGS_config := -max_len=4096 -dict=tests/fuzz/config.dict
FUZZ_ARGS_decode := -max_len=20
FUZZ_ARGS_gpt_walk := -max_len=24640
FUZZ_ARGS_bus := -max_len=4096
FUZZ_ARGS_devices := -max_len=2048
FUZZ_ARGS_linux_boot := -max_len=8192
FUZZ_ARGS_multiboot_guest := -max_len=8192
FUZZ_SRC_virtio_net := dev/virtio_net.c lib/mac.c dev/virtio_ring.c
FUZZ_ARGS_virtio_net := -max_len=8192
FUZZ_SRC_net_switch := dev/net_switch.c
FUZZ_ARGS_net_switch := -max_len=4096
FUZZ_SRC_virtio_blk := dev/virtio_blk.c dev/blk_cow.c dev/virtio_ring.c
FUZZ_ARGS_virtio_blk := -max_len=4096
FUZZ_SRC_virtio_ring := dev/virtio_ring.c
FUZZ_ARGS_virtio_ring := -max_len=10240

FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))

fuzz: $(FUZZ_BINS)

.SECONDEXPANSION:
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $^ -o $@

fuzz-run: fuzz
	@for n in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_DIR)/corpus-$$n; \
		cp -n tests/fuzz/corpus/$$n/* $(FUZZ_DIR)/corpus-$$n/ 2>/dev/null || true; \
		echo "== fuzz_$$n for $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) $(FUZZ_ARGS_$$n) \
			$(FUZZ_DIR)/corpus-$$n 2>&1 | tail -n 3 || exit 1; \
	done

FUZZ_LONG_SECONDS ?= 7200
fuzz-long: fuzz
	scripts/fuzz-long --seconds $(FUZZ_LONG_SECONDS) --build $(BUILD)

.PHONY: fuzz fuzz-run fuzz-long
