# Host unit tests (cmocka). Included by the top Makefile, which defines PURE_C and BUILD.
#
#   make unit-build   builds every tests/unit/test_X.c into $(BUILD)/unit/test_X
#   make unit         builds them and runs them all (each prints cmocka's own output);
#                     it runs every binary even after a failure, then fails if any did.
#
# The pure sources ($(PURE_C)) are compiled once and put in one static archive that
# every test links against. An archive (rather than a list of objects) means a test
# pulls in only the modules it uses, so a half-finished module elsewhere in the tree
# that still has an unresolved symbol cannot break the link of unrelated tests. Both
# lists are globs, so new tests and new pure sources need no edit here.

UNIT_DIR     := $(BUILD)/unit
UNIT_CC      ?= gcc
UNIT_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
UNIT_CFLAGS  := -std=gnu11 -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer \
	$(UNIT_SAN) -I.
UNIT_LDLIBS  := -lcmocka

UNIT_SRCS    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS    := $(patsubst tests/unit/%.c,$(UNIT_DIR)/%,$(UNIT_SRCS))
UNIT_PURE_O  := $(patsubst %.c,$(UNIT_DIR)/pure/%.o,$(sort $(PURE_C)))
UNIT_LIB     := $(UNIT_DIR)/libpure.a

unit-build: $(UNIT_BINS)

# Runs every binary even after one fails, then fails if any did.
unit: unit-build
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; \
		$$t || { echo "FAILED: $$t"; fail=1; }; \
	done; \
	if [ $$fail -ne 0 ]; then echo "unit: some tests FAILED"; exit 1; fi; \
	echo "unit: all $(words $(UNIT_BINS)) test programs passed"

$(UNIT_DIR)/pure/%.o: %.c
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -MMD -MP -c $< -o $@

# The list of pure objects, rewritten only when it changes: a source added or
# deleted then rebuilds the archive, which is made from scratch so the object of a
# deleted source does not linger in it. With no pure sources at all, ar still makes
# a valid empty archive.
$(UNIT_DIR)/pure.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(UNIT_PURE_O)' | cmp -s - $@ || echo '$(UNIT_PURE_O)' > $@

$(UNIT_LIB): $(UNIT_PURE_O) $(UNIT_DIR)/pure.list
	@rm -f $@
	ar rcs $@ $(UNIT_PURE_O)

$(UNIT_DIR)/test_%: tests/unit/test_%.c $(UNIT_LIB)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -MMD -MP -MF $@.d $< $(UNIT_LIB) $(UNIT_LDLIBS) -o $@

.PHONY: unit unit-build FORCE
FORCE:
-include $(UNIT_PURE_O:.o=.d) $(UNIT_BINS:=.d)
