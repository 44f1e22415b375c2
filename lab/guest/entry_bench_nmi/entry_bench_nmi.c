// SPDX-License-Identifier: GPL-2.0
/*
 * The NMI figure of `entry-lab bench`: NMIs a user program cannot raise and
 * time on one TCG CPU, raised and timed here.
 *
 * Writing N to /sys/kernel/debug/entry_bench_nmi sends N self-NMIs through
 * the local APIC, one at a time, with interrupts disabled, and waits for
 * each to be handled by this module's NMI_LOCAL handler; reading the file
 * gives "<ticks> <rounds>" of the last write (TSC ticks between the first
 * send and the last handled NMI). Under `-icount shift=0` a tick is one
 * guest instruction, so the figure is instruction-exact: the path is
 * exc_nmi() -> irqentry_nmi_enter() -> default_do_nmi() -> this handler ->
 * irqentry_nmi_exit() -> iret, plus the APIC write and the wait loop, which
 * are the same code in both kernels.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/msr.h>
#include <asm/nmi.h>

/* Spins of the wait loop before an NMI that never came is an error. */
#define ENTRY_BENCH_NMI_SPINS 1000000

static bool expecting;
static u64 last_ticks;
static unsigned long last_rounds;
static struct dentry *file;

static int entry_bench_nmi_handler(unsigned int cmd, struct pt_regs *regs)
{
	if (!READ_ONCE(expecting))
		return NMI_DONE;
	WRITE_ONCE(expecting, false);
	return NMI_HANDLED;
}

/* One self-NMI, waited for; false if it did not arrive. */
static bool one_nmi(void)
{
	int spins = ENTRY_BENCH_NMI_SPINS;

	WRITE_ONCE(expecting, true);
	__apic_send_IPI_self(NMI_VECTOR);
	while (READ_ONCE(expecting) && --spins)
		cpu_relax();
	return spins != 0;
}

static ssize_t entry_bench_nmi_write(struct file *f, const char __user *buf,
				     size_t len, loff_t *pos)
{
	unsigned long rounds, flags, i;
	u64 t0, t1;
	int err;

	err = kstrtoul_from_user(buf, len, 0, &rounds);
	if (err)
		return err;
	if (!rounds || rounds > 1000000)
		return -EINVAL;
	local_irq_save(flags);
	t0 = rdtsc_ordered();
	for (i = 0; i < rounds; i++)
		if (!one_nmi())
			break;
	t1 = rdtsc_ordered();
	local_irq_restore(flags);
	if (i < rounds) {
		WRITE_ONCE(expecting, false);
		return -ETIMEDOUT;
	}
	last_ticks = t1 - t0;
	last_rounds = rounds;
	return len;
}

static ssize_t entry_bench_nmi_read(struct file *f, char __user *buf,
				    size_t len, loff_t *pos)
{
	char text[48];
	int n = scnprintf(text, sizeof(text), "%llu %lu\n", last_ticks, last_rounds);

	return simple_read_from_buffer(buf, len, pos, text, n);
}

static const struct file_operations entry_bench_nmi_fops = {
	.owner = THIS_MODULE,
	.read = entry_bench_nmi_read,
	.write = entry_bench_nmi_write,
};

static int __init entry_bench_nmi_init(void)
{
	int err = register_nmi_handler(NMI_LOCAL, entry_bench_nmi_handler, 0,
				       "entry_bench");

	if (err)
		return err;
	file = debugfs_create_file("entry_bench_nmi", 0600, NULL, NULL,
				   &entry_bench_nmi_fops);
	return 0;
}

static void __exit entry_bench_nmi_exit(void)
{
	debugfs_remove(file);
	unregister_nmi_handler(NMI_LOCAL, "entry_bench");
}

module_init(entry_bench_nmi_init);
module_exit(entry_bench_nmi_exit);
MODULE_DESCRIPTION("entry-lab benchmark: self-NMIs timed in the kernel");
MODULE_LICENSE("GPL");
