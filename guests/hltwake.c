/* hltwake: HLT and interrupts (Intel SDM Vol. 3A 11.8, Vol. 2 HLT). With no
 * argument: STI;HLT woken by the APIC timer, STI;HLT with an interrupt already
 * pending returning at once, HLT sleeping through an interrupt the TPR holds
 * back, and a run of HLTs woken by a periodic timer. Argument "cli": HLT with
 * interrupts off and the timer armed, which nothing can end, so hv86 stops the
 * VM. Argument "idle": STI;HLT with nothing armed, which hv86 stops too. */
#include "guests/rt/pc.h"
#include "guests/rt/rt.h"

RT_GUEST("hltwake");

#define VEC_TIMER    0x40
#define VEC_IPI      0x45
#define VEC_HIGHER   0x60           /* a class above the TPR of tpr_holds() */
#define VEC_SPURIOUS 0xFF
#define ONE_MS       1000000u       /* counts at divide-by-1: the bus runs at 1 GHz */
#define WAKES        20

static volatile unsigned hits[256];

static void on_irq(uint32_t v)
{
	hits[v]++;
	rt_apic_eoi();
}

static void oneshot(uint32_t count)
{
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_ONESHOT | VEC_TIMER);
	rt_apic_write(RT_APIC_TIMER_ICR, count);
}

static void self_ipi(uint8_t vector)
{
	rt_apic_ipi(0, RT_APIC_ICR_SELF | RT_APIC_ICR_ASSERT | vector);
}

static void woken_by_timer(void)
{
	oneshot(ONE_MS);
	rt_cli();
	rt_hlt();
	rt_cli();
	rt_check(hits[VEC_TIMER] == 1, "sti;hlt woken by the APIC timer (vector 0x%x)", VEC_TIMER);
}

static void pending_before(void)
{
	self_ipi(VEC_IPI);                       /* interrupts are off: it waits */
	rt_hlt();
	rt_cli();
	rt_check(hits[VEC_IPI] == 1, "sti;hlt with an interrupt pending returns at once");
}

static void tpr_holds(void)
{
	rt_apic_write(RT_APIC_TPR, 0x50);
	self_ipi(VEC_IPI);                       /* class 4: held back */
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_ONESHOT | VEC_HIGHER);
	rt_apic_write(RT_APIC_TIMER_ICR, ONE_MS);
	rt_hlt();
	rt_cli();
	rt_check(hits[VEC_HIGHER] == 1 && hits[VEC_IPI] == 1,
		 "hlt sleeps through an interrupt the TPR holds back, wakes on a higher one");
	rt_apic_write(RT_APIC_TPR, 0);
	rt_sti();
	__asm__ volatile("nop");
	rt_cli();
	rt_check(hits[VEC_IPI] == 2, "the held-back interrupt comes once the TPR drops");
}

static void many(void)
{
	rt_apic_write(RT_APIC_LVT_TIMER, RT_APIC_TIMER_PERIODIC | VEC_TIMER);
	rt_apic_write(RT_APIC_TIMER_ICR, ONE_MS / 2);
	unsigned start = hits[VEC_TIMER], n = 0;
	while (hits[VEC_TIMER] - start < WAKES) {
		rt_hlt();
		rt_cli();
		n++;
	}
	rt_apic_write(RT_APIC_TIMER_ICR, 0);
	/* n itself depends on timing (two ticks may end one HLT on a busy host), so it
	 * is printed only when the check fails: the output stays deterministic. */
	if (!rt_check(n <= WAKES, "%u periodic ticks, never a HLT without a tick", WAKES))
		rt_printf("  %u HLTs were woken\n", n);
}

void guest_main(void)
{
	/* Firmware may leave the 8259s unmasked with the PIT running (SeaBIOS does,
	 * under QEMU alone): mask them, so only the local APIC interrupts. */
	pc_pic_unmask(0);
	rt_set_irq_handler(VEC_TIMER, on_irq);
	rt_set_irq_handler(VEC_IPI, on_irq);
	rt_set_irq_handler(VEC_HIGHER, on_irq);
	rt_apic_enable(false, VEC_SPURIOUS);
	if (rt_arg("cli")) {
		oneshot(ONE_MS);
		rt_printf("hlt with interrupts off and the timer armed\n");
		rt_flush();
		__asm__ volatile("cli; hlt");
		rt_fail("hlt with interrupts off returned");
	}
	if (rt_arg("idle")) {
		rt_printf("hlt with interrupts on and nothing armed\n");
		rt_flush();
		rt_hlt();
		rt_fail("hlt returned without an interrupt");
	}
	woken_by_timer();
	pending_before();
	tpr_holds();
	many();
}
