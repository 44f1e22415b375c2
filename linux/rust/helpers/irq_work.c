// SPDX-License-Identifier: GPL-2.0

#include <linux/irq_work.h>

__rust_helper void
rust_helper_init_irq_work_hard(struct irq_work *work,
			       void (*func)(struct irq_work *))
{
	*work = IRQ_WORK_INIT_HARD(func);
}
