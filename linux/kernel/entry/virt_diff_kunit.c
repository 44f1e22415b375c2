// SPDX-License-Identifier: GPL-2.0
/*
 * Differential KUnit suite for the guest-transfer work with
 * CONFIG_RUST_GENERIC_ENTRY: the C body of kernel/entry/virt.c, compiled a
 * second time below as c_ref_xfer_to_guest_mode_handle_work(), against the
 * Rust implementation that provides the real symbol.
 *
 * Each case sets the same thread flags before each of the two calls and
 * compares the return values and, byte for byte, what each call changed in
 * the current task_struct. Only flag combinations that make the function
 * return without sleeping are driven (no work, a pending signal with or
 * without other work): those can run with interrupts disabled, so that
 * nothing else changes the task meanwhile. The reschedule and task work
 * rounds are compared by their effects in the generic_entry_virt suite.
 */

#include <kunit/test.h>
#include <linux/entry-virt.h>
#include <linux/sched.h>
#include <linux/slab.h>

/* The reference copy; the export stays with virt.o. */
#undef CONFIG_RUST_GENERIC_ENTRY
#undef EXPORT_SYMBOL_GPL
#define EXPORT_SYMBOL_GPL(sym)
#define xfer_to_guest_mode_handle_work c_ref_xfer_to_guest_mode_handle_work
__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "the c_ref_ copy is only called by this suite");
#include "virt.c"
__diag_pop();
#undef xfer_to_guest_mode_handle_work

/* The thread flags each case starts from, and the bits it puts back. */
#define XFER_TEST_BITS (_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL | \
			_TIF_NOTIFY_RESUME | _TIF_NEED_RESCHED | \
			_TIF_NEED_RESCHED_LAZY)

struct xfer_run {
	int ret;
	struct task_struct before, after;
};

static void set_test_flags(unsigned long flags)
{
	unsigned long *word = &current_thread_info()->flags;
	unsigned long old = READ_ONCE(*word);

	while (!try_cmpxchg(word, &old, (old & ~XFER_TEST_BITS) | flags))
		;
}

static void run_one(int (*fn)(void), unsigned long flags, struct xfer_run *r)
{
	set_test_flags(flags);
	memcpy(&r->before, current, sizeof(r->before));
	r->ret = fn();
	memcpy(&r->after, current, sizeof(r->after));
}

/*
 * Runs C then Rust from @flags with interrupts disabled and compares; as in
 * entry_rust_vs_c, a difference must show in three runs in a row (another
 * CPU may write to this task_struct meanwhile).
 */
static void xfer_same_as_c(struct kunit *test, unsigned long flags,
			   int expected)
{
	struct xfer_run *c, *r;
	unsigned long irqflags, saved;
	const u8 *c0, *c1, *r0, *r1;
	size_t i, off = 0;
	bool same = false;
	int tries;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, r);
	saved = READ_ONCE(current_thread_info()->flags) & XFER_TEST_BITS;

	for (tries = 0; tries < 3 && !same; tries++) {
		local_irq_save(irqflags);
		run_one(c_ref_xfer_to_guest_mode_handle_work, flags, c);
		run_one(xfer_to_guest_mode_handle_work, flags, r);
		set_test_flags(saved);
		local_irq_restore(irqflags);

		c0 = (const u8 *)&c->before;
		c1 = (const u8 *)&c->after;
		r0 = (const u8 *)&r->before;
		r1 = (const u8 *)&r->after;
		same = true;
		for (i = 0; i < sizeof(struct task_struct); i++) {
			bool c_changed = c0[i] != c1[i];
			bool r_changed = r0[i] != r1[i];

			if (c_changed != r_changed || (c_changed && c1[i] != r1[i])) {
				same = false;
				off = i;
				break;
			}
		}
		if (!same)
			kunit_info(test, "run %d: task_struct+%#zx: c %02x->%02x, rust %02x->%02x",
				   tries + 1, off, c0[off], c1[off], r0[off], r1[off]);
	}
	KUNIT_EXPECT_EQ(test, c->ret, expected);
	KUNIT_EXPECT_EQ(test, r->ret, c->ret);
	KUNIT_EXPECT_TRUE_MSG(test, same, "task_struct+%#zx differs in every run", off);
}

static void xfer_no_work_same_as_c(struct kunit *test)
{
	xfer_same_as_c(test, 0, 0);
}

static void xfer_sigpending_same_as_c(struct kunit *test)
{
	xfer_same_as_c(test, _TIF_SIGPENDING, -EINTR);
}

static void xfer_notify_signal_same_as_c(struct kunit *test)
{
	xfer_same_as_c(test, _TIF_NOTIFY_SIGNAL, -EINTR);
}

static void xfer_signal_before_other_work_same_as_c(struct kunit *test)
{
	xfer_same_as_c(test, _TIF_SIGPENDING | _TIF_NEED_RESCHED |
			     _TIF_NEED_RESCHED_LAZY | _TIF_NOTIFY_RESUME,
		       -EINTR);
}

static struct kunit_case virt_diff_cases[] = {
	KUNIT_CASE(xfer_no_work_same_as_c),
	KUNIT_CASE(xfer_sigpending_same_as_c),
	KUNIT_CASE(xfer_notify_signal_same_as_c),
	KUNIT_CASE(xfer_signal_before_other_work_same_as_c),
	{}
};

static struct kunit_suite virt_diff_suite = {
	.name = "entry_virt_rust_vs_c",
	.test_cases = virt_diff_cases,
};

kunit_test_suite(virt_diff_suite);

MODULE_DESCRIPTION("Differential tests of the C and Rust guest-transfer work");
MODULE_LICENSE("GPL");
