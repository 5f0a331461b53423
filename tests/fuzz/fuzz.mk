# Fuzzing (libFuzzer, clang). Not included by the top Makefile; use it as
#   make -f Makefile -f tests/fuzz/fuzz.mk fuzz-config      (or include it)
# or on its own:  make -f tests/fuzz/fuzz.mk fuzz-config
#
#   fuzz-config        builds $(BUILD)/fuzz/fuzz_config
#   fuzz-config-run    runs it for FUZZ_SECONDS (default 60) on a copy of the seed
#                      corpus tests/fuzz/corpus/config, so the tree stays clean
#
# The target links only what it needs (lib/config.c and lib/format.c), so other
# pure modules cannot break it.

BUILD        ?= build
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -Wall -Wextra -Werror -I. \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

FUZZ_CONFIG_SRC := tests/fuzz/fuzz_config.c lib/config.c lib/format.c

fuzz-config: $(FUZZ_DIR)/fuzz_config

$(FUZZ_DIR)/fuzz_config: $(FUZZ_CONFIG_SRC) lib/config.h lib/format.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CONFIG_SRC) -o $@

fuzz-config-run: $(FUZZ_DIR)/fuzz_config
	@mkdir -p $(FUZZ_DIR)/corpus-config
	cp -n tests/fuzz/corpus/config/* $(FUZZ_DIR)/corpus-config/ 2>/dev/null || true
	$(FUZZ_DIR)/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-dict=tests/fuzz/config.dict $(FUZZ_DIR)/corpus-config

.PHONY: fuzz-config fuzz-config-run
