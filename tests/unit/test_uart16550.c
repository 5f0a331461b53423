/* dev/uart16550: output lines reach the sink, and the THRE interrupt behaves as
 * Linux's 8250 driver expects (raised on enabling ETBEI with THR empty, cleared by
 * reading IIR or writing THR, raised again when THR empties; gated by OUT2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dev/uart16550.h"

enum { DATA, IER, IIR, LCR, MCR, LSR };
#define IER_ETBEI 0x02
#define MCR_OUT2  0x08
#define IIR_NONE  0x01
#define IIR_THRE  0x02

static char last[UART_LINE_MAX + 1];
static void sink(void *ctx, const char *line, unsigned len)
{
    (void)ctx;
    memcpy(last, line, len);
    last[len] = 0;
}

static void test_lines(void **state)
{
    (void)state;
    struct uart16550 u;
    uart16550_init(&u, sink, 0);
    for (const char *s = "hello\r\n"; *s; s++)
        uart16550_write(&u, DATA, (uint8_t)*s);
    assert_string_equal(last, "hello");
    assert_int_equal(uart16550_read(&u, LSR) & 0x60, 0x60);
}

static void test_thre_interrupt(void **state)
{
    (void)state;
    struct uart16550 u;
    uart16550_init(&u, sink, 0);
    assert_false(uart16550_irq(&u));
    assert_int_equal(uart16550_read(&u, IIR) & 0x0F, IIR_NONE);
    uart16550_write(&u, MCR, MCR_OUT2);
    uart16550_write(&u, IER, IER_ETBEI);         /* THR empty: raised at once */
    assert_true(uart16550_irq(&u));
    assert_int_equal(uart16550_read(&u, IIR) & 0x0F, IIR_THRE);
    assert_false(uart16550_irq(&u));             /* the IIR read cleared it */
    assert_int_equal(uart16550_read(&u, IIR) & 0x0F, IIR_NONE);
    uart16550_write(&u, DATA, 'x');              /* sent at once: THR empty again */
    assert_true(uart16550_irq(&u));
    uart16550_write(&u, IER, 0);                 /* disabled: line low, IIR quiet */
    assert_false(uart16550_irq(&u));
    assert_int_equal(uart16550_read(&u, IIR) & 0x0F, IIR_NONE);
    /* Linux's startup probe: enable, read IIR, disable, enable, read IIR again:
     * a working UART reports THRE both times. */
    uart16550_write(&u, IER, IER_ETBEI);
    assert_int_equal(uart16550_read(&u, IIR) & 0x0F, IIR_THRE);
    uart16550_write(&u, IER, 0);
    uart16550_write(&u, IER, IER_ETBEI);
    assert_int_equal(uart16550_read(&u, IIR) & 0x0F, IIR_THRE);
    /* OUT2 clear: the source is pending but the PC's IRQ line stays low. */
    uart16550_write(&u, DATA, 'y');
    uart16550_write(&u, MCR, 0);
    assert_false(uart16550_irq(&u));
    uart16550_write(&u, MCR, MCR_OUT2);
    assert_true(uart16550_irq(&u));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_thre_interrupt),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
