# Test guests: one per guests/*.c, each linked with the runtime guests/rt/* and
# lib/format.c into $(BUILD)/guests/NAME.elf, a multiboot v1 ELF32 image at 1 MiB
# (ELF32 so that QEMU's -kernel runs them directly too). Included by the Makefile.

GUEST_CFLAGS := -std=gnu11 -m32 -march=i686 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -mno-sse -mno-mmx -I. \
	-idirafter /usr/include/$(shell $(CC) -print-multiarch)
# (The last: Linux's UAPI headers, <linux/virtio_*.h>, reach <asm/types.h>, which
# only the 64-bit multiarch folder has; its types are the same for -m32.)
GUEST_LDFLAGS := -m elf_i386 -nostdlib -z max-page-size=0x1000 \
	--no-warn-rwx-segments -T guests/rt/guest.ld

GUEST_SRC    := $(wildcard guests/*.c)
GUEST_ELF    := $(patsubst guests/%.c,$(BUILD)/guests/%.elf,$(GUEST_SRC))
GUEST_RT_SRC := $(wildcard guests/rt/*.c guests/rt/*.S) lib/format.c
GUEST_RT_OBJ := $(patsubst %,$(BUILD)/guests/obj/%.o,$(GUEST_RT_SRC))
GUEST_OBJ    := $(patsubst %,$(BUILD)/guests/obj/%.o,$(GUEST_SRC))

# lowload.c runs where kvm-unit-tests' realmode test does: linked at 0x8000, over
# the place hv86 keeps its boot information by default.
$(BUILD)/guests/lowload.elf: GUEST_LDDEFS := --defsym=__link_base=0x8000

# sse.c checks that SSE state survives exits, so it may use SSE itself.
$(BUILD)/guests/obj/guests/sse.c.o: GUEST_CFLAGS += -msse2

guests: $(GUEST_ELF) $(BUILD)/guests/hello-ldlayout.elf $(BUILD)/guests/pattern.img

# The disk image guests/vblk.c checks: every sector's words derived from its number.
$(BUILD)/guests/pattern.img: scripts/mkpattern
	@mkdir -p $(dir $@)
	scripts/mkpattern $@

# hello-ldlayout: hello linked with ld's default layout at 1 MiB, as a kernel built
# without a linker script is: its first segment holds the ELF headers, at 0xFF000
# (the BIOS area). The multiboot header leads .text (ld's default script puts
# .text.unlikely.* first), inside the 8 KiB it must lie in.
$(BUILD)/guests/obj/entry-ldlayout.o: $(BUILD)/guests/obj/guests/rt/entry.S.o
	objcopy --rename-section .multiboot=.text.unlikely.multiboot $< $@

$(BUILD)/guests/hello-ldlayout.elf: $(BUILD)/guests/obj/entry-ldlayout.o \
		$(BUILD)/guests/obj/guests/hello.c.o $(filter-out %/entry.S.o,$(GUEST_RT_OBJ))
	ld -m elf_i386 -nostdlib -z max-page-size=0x1000 --no-warn-rwx-segments \
		-z noseparate-code -Ttext=0x100000 --defsym=__bss_end=_end \
		--defsym=__image_start=0xFF000 --defsym=__image_end=_end -o $@ $^

$(BUILD)/guests/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guests/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guests/%.elf: $(BUILD)/guests/obj/guests/%.c.o $(GUEST_RT_OBJ) guests/rt/guest.ld
	ld $(GUEST_LDDEFS) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_RT_OBJ)

.PHONY: guests
.SECONDARY: $(GUEST_OBJ) $(GUEST_RT_OBJ)
-include $(GUEST_OBJ:.o=.d) $(GUEST_RT_OBJ:.o=.d)
