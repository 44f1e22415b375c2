// SPDX-License-Identifier: GPL-2.0
/*
 * Differential KUnit suite for CONFIG_RUST_GENERIC_ENTRY: the C bodies of
 * kernel/entry/common.c, compiled a second time below under c_ref_ names,
 * against the Rust implementation that provides the real symbols.
 *
 * Each case runs the C function and then the Rust one from the same state,
 * with the same synthetic pt_regs and interrupts disabled throughout, and
 * compares byte for byte what each leaves behind: the returned state, the
 * preempt count, the context tracking state of this CPU, lockdep's per-CPU
 * irq state and the whole current task_struct. A byte that one
 * implementation changes and the other does not (a store at a wrong
 * offset), or changes to another value, fails the case with its offset.
 *
 * Only kernel-mode and NMI entries are driven: they can be entered honestly
 * from a kernel thread with interrupts disabled. The user-mode and idle
 * paths need a real user return or the idle task; the boots cover them.
 */

#include <kunit/test.h>
#include <linux/context_tracking_state.h>
#include <linux/irq-entry-common.h>
#include <linux/kthread.h>
#include <linux/lockdep.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#ifdef CONFIG_X86_64
#include <asm/segment.h>
#endif

/*
 * The reference copy. The static call stays with common.o (PREEMPT_DYNAMIC
 * is undefined for the copy), and its second weak, empty
 * arch_do_signal_or_restart() loses to the architecture's. Calls the copy
 * makes to other entry functions (the irqentry_exit_cond_resched static
 * call, exit_to_user_mode_loop() from the header inlines) reach the real,
 * Rust, ones.
 */
#undef CONFIG_RUST_GENERIC_ENTRY
#undef CONFIG_PREEMPT_DYNAMIC
#define irqentry_enter			c_ref_irqentry_enter
#define irqentry_exit			c_ref_irqentry_exit
#define irqentry_nmi_enter		c_ref_irqentry_nmi_enter
#define irqentry_nmi_exit		c_ref_irqentry_nmi_exit
#define exit_to_user_mode_loop		c_ref_exit_to_user_mode_loop
#define raw_irqentry_exit_cond_resched	c_ref_raw_irqentry_exit_cond_resched
__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "the c_ref_ copies are only called through struct entry_impl");
#include "common.c"
__diag_pop();
#undef irqentry_enter
#undef irqentry_exit
#undef irqentry_nmi_enter
#undef irqentry_nmi_exit
#undef exit_to_user_mode_loop
#undef raw_irqentry_exit_cond_resched

struct entry_impl {
	const char *name;
	irqentry_state_t (*enter)(struct pt_regs *regs);
	void (*exit)(struct pt_regs *regs, irqentry_state_t state);
	irqentry_state_t (*irq_nmi_in)(struct pt_regs *regs);
	void (*irq_nmi_out)(struct pt_regs *regs, irqentry_state_t state);
	void (*raw_cond_resched)(void);
};

static const struct entry_impl impl_c = {
	.name = "c",
	.enter = c_ref_irqentry_enter,
	.exit = c_ref_irqentry_exit,
	.irq_nmi_in = c_ref_irqentry_nmi_enter,
	.irq_nmi_out = c_ref_irqentry_nmi_exit,
	.raw_cond_resched = c_ref_raw_irqentry_exit_cond_resched,
};

static const struct entry_impl impl_rust = {
	.name = "rust",
	.enter = irqentry_enter,
	.exit = irqentry_exit,
	.irq_nmi_in = irqentry_nmi_enter,
	.irq_nmi_out = irqentry_nmi_exit,
	.raw_cond_resched = raw_irqentry_exit_cond_resched,
};

/* Everything an entry function may change, as plain bytes. */
struct entry_snap {
	unsigned long preempt;
	unsigned long irqs_disabled;
	unsigned long state;
#ifdef CONFIG_CONTEXT_TRACKING
	struct context_tracking ct;
#endif
#ifdef CONFIG_TRACE_IRQFLAGS
	int hardirqs_enabled;
	int hardirq_context;
#endif
	struct task_struct task;
};

static void snap(struct entry_snap *s, irqentry_state_t state)
{
	memset(s, 0, sizeof(*s));
	s->preempt = preempt_count() | (test_preempt_need_resched() ? 1UL << 63 : 0);
	s->irqs_disabled = irqs_disabled();
	memcpy(&s->state, &state, sizeof(state));
#ifdef CONFIG_CONTEXT_TRACKING
	s->ct = *this_cpu_ptr(&context_tracking);
#endif
#ifdef CONFIG_TRACE_IRQFLAGS
	s->hardirqs_enabled = this_cpu_read(hardirqs_enabled);
	s->hardirq_context = this_cpu_read(hardirq_context);
#endif
	memcpy(&s->task, current, sizeof(s->task));
#ifdef CONFIG_TRACE_IRQFLAGS
	/*
	 * lockdep records the caller's address (CALLER_ADDR0: the entry
	 * function itself, which differs between the two by construction) and
	 * a running event count: compared apart, not as bytes.
	 */
	memset(&s->task.irqtrace, 0, sizeof(s->task.irqtrace));
#endif
}

static const char *snap_part(size_t off, size_t *rel)
{
	static const struct {
		const char *name;
		size_t off, size;
	} parts[] = {
#define PART(name, member) \
		{ name, offsetof(struct entry_snap, member), \
		  sizeof_field(struct entry_snap, member) }
		PART("preempt_count", preempt),
		PART("irqs_disabled", irqs_disabled),
		PART("irqentry_state", state),
#ifdef CONFIG_CONTEXT_TRACKING
		PART("context_tracking", ct),
#endif
#ifdef CONFIG_TRACE_IRQFLAGS
		PART("hardirqs_enabled", hardirqs_enabled),
		PART("hardirq_context", hardirq_context),
#endif
		PART("task_struct", task),
#undef PART
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(parts); i++) {
		if (off >= parts[i].off && off < parts[i].off + parts[i].size) {
			*rel = off - parts[i].off;
			return parts[i].name;
		}
	}
	*rel = off;
	return "padding";
}

/*
 * Both implementations must change the same bytes of the state, to the same
 * values, from the same start. Returns the offset of the first byte that
 * differs, or -1; a (step, offset, values) message goes to @why.
 */
static long first_difference(const char *step,
			     const struct entry_snap *c0, const struct entry_snap *c1,
			     const struct entry_snap *r0, const struct entry_snap *r1,
			     char *why, size_t len)
{
	const u8 *a0 = (const u8 *)c0, *a1 = (const u8 *)c1;
	const u8 *b0 = (const u8 *)r0, *b1 = (const u8 *)r1;
	size_t i, rel;

	for (i = 0; i < sizeof(*c0); i++) {
		bool c_changed = a0[i] != a1[i], r_changed = b0[i] != b1[i];

		if (c_changed != r_changed || (c_changed && a1[i] != b1[i])) {
			const char *part = snap_part(i, &rel);

			snprintf(why, len, "%s: %s+%#zx: c %02x->%02x, rust %02x->%02x",
				 step, part, rel, a0[i], a1[i], b0[i], b1[i]);
			return i;
		}
	}
	return -1;
}

struct entry_run {
	struct entry_snap before, inside, nested, after;
};

static struct pt_regs kernel_regs(void)
{
	struct pt_regs regs = {};

	/* Interrupted context had interrupts disabled: no preemption. */
#ifdef CONFIG_X86_64
	regs.cs = __KERNEL_CS;
	regs.ss = __KERNEL_DS;
	regs.flags = X86_EFLAGS_FIXED;
#else
	/* arm64: EL1 with SP_EL1, IRQs masked; a zero saved PMR is masked too. */
	regs.pstate = PSR_MODE_EL1h | PSR_I_BIT;
#endif
	return regs;
}

static void run_irq(const struct entry_impl *impl, struct entry_run *r)
{
	struct pt_regs regs = kernel_regs();
	irqentry_state_t st = {};

	snap(&r->before, st);
	st = impl->enter(&regs);
	snap(&r->inside, st);
	impl->exit(&regs, st);
	snap(&r->after, (irqentry_state_t){});
}

static void run_nmi(const struct entry_impl *impl, struct entry_run *r)
{
	struct pt_regs regs = kernel_regs();
	irqentry_state_t outer, inner;

	snap(&r->before, (irqentry_state_t){});
	outer = impl->irq_nmi_in(&regs);
	snap(&r->inside, outer);
	inner = impl->irq_nmi_in(&regs);
	snap(&r->nested, inner);
	impl->irq_nmi_out(&regs, inner);
	impl->irq_nmi_out(&regs, outer);
	snap(&r->after, (irqentry_state_t){});
}

static void run_cond_resched(const struct entry_impl *impl, struct entry_run *r)
{
	snap(&r->before, (irqentry_state_t){});
	preempt_disable_notrace();
	snap(&r->inside, (irqentry_state_t){});
	impl->raw_cond_resched();
	snap(&r->nested, (irqentry_state_t){});
	preempt_enable_no_resched_notrace();
	snap(&r->after, (irqentry_state_t){});
}

/* Runs C then Rust with interrupts disabled throughout and compares. */
/* The first difference of one C and one Rust run, or -1. */
static long compare_runs(const struct entry_run *c, const struct entry_run *r,
			 bool nested, char *why, size_t len)
{
	static const struct entry_snap none;
	long off;

	off = first_difference("enter", &c->before, &c->inside,
			       &r->before, &r->inside, why, len);
	if (off < 0 && nested)
		off = first_difference("nested enter", &c->inside, &c->nested,
				       &r->inside, &r->nested, why, len);
	if (off < 0)
		off = first_difference("exit", &c->before, &c->after,
				       &r->before, &r->after, why, len);
	/* Balanced: each leaves the state it found. */
	if (off < 0)
		off = first_difference("balance", &c->before, &c->after,
				       &none, &none, why, len);
	if (off < 0)
		off = first_difference("balance", &none, &none,
				       &r->before, &r->after, why, len);
	return off;
}

/*
 * Runs C then Rust with interrupts disabled throughout and compares. Other
 * CPUs may write to this task_struct meanwhile (seen once: one byte at
 * task_struct+0xe0 changed during the C run), so the case fails only when
 * three runs in a row differ; a store at a wrong offset differs every time
 * (the byte it clobbered is put back before the next run).
 */
static void differential(struct kunit *test,
			 void (*run)(const struct entry_impl *, struct entry_run *),
			 bool nested)
{
	struct entry_run *c, *r;
	unsigned long flags;
	char why[160];
	long off;
	size_t rel;
	int tries;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, r);

	for (tries = 0; tries < 3; tries++) {
		local_irq_save(flags);
		run(&impl_c, c);
		run(&impl_rust, r);
		local_irq_restore(flags);

		off = compare_runs(c, r, nested, why, sizeof(why));
		if (off < 0)
			return;
		kunit_info(test, "run %d: %s", tries + 1, why);
		/*
		 * A byte of task_struct that Rust changed and C did not: put back
		 * the value it had before the Rust run, so that a store at a wrong
		 * offset, which writes the same value again, differs again.
		 */
		rel = off - offsetof(struct entry_snap, task);
		if (off >= offsetof(struct entry_snap, task) &&
		    rel < sizeof(struct task_struct) &&
		    ((u8 *)&c->before)[off] == ((u8 *)&c->after)[off])
			((u8 *)current)[rel] = ((u8 *)&r->before)[off];
	}
	KUNIT_FAIL(test, "differs in every run: %s", why);
}

static void irqentry_kernel_mode_same_as_c(struct kunit *test)
{
	differential(test, run_irq, false);
}

static void irqentry_nmi_nested_same_as_c(struct kunit *test)
{
	differential(test, run_nmi, true);
}

static void cond_resched_preempt_disabled_same_as_c(struct kunit *test)
{
	differential(test, run_cond_resched, true);
}

static int rt_thread_fn(void *unused)
{
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/*
 * The return from an interrupt to preemptible kernel code with a reschedule
 * pending: interrupts disabled, preempt count 0, and a real-time thread bound
 * to this CPU woken meanwhile. raw_irqentry_exit_cond_resched() must switch to
 * it (an involuntary context switch) and come back with interrupts disabled.
 * Returns how far nivcsw moved, or -1 if no attempt stayed on the thread's CPU.
 */
static long preempted_by_rt_thread(const struct entry_impl *impl, bool *irqs_off)
{
	int tries;

	for (tries = 0; tries < 10; tries++) {
		struct task_struct *t;
		unsigned long flags, before, moved;
		bool on_cpu;
		int cpu;

		t = kthread_create(rt_thread_fn, NULL, "entry_diff_rt");
		if (IS_ERR(t))
			return -1;
		sched_set_fifo_low(t);
		/* After the creation, which may move this task. */
		cpu = raw_smp_processor_id();
		kthread_bind(t, cpu);

		local_irq_save(flags);
		on_cpu = smp_processor_id() == cpu && preempt_count() == 0;
		before = current->nivcsw;
		wake_up_process(t);
		impl->raw_cond_resched();
		moved = current->nivcsw - before;
		*irqs_off = irqs_disabled();
		local_irq_restore(flags);

		kthread_stop(t);
		if (on_cpu)
			return moved;
	}
	return -1;
}

static void cond_resched_preempts_same_as_c(struct kunit *test)
{
	bool c_off = false, rust_off = false;
	long c = preempted_by_rt_thread(&impl_c, &c_off);
	long rust = preempted_by_rt_thread(&impl_rust, &rust_off);

	KUNIT_ASSERT_GE_MSG(test, c, 0, "no attempt stayed on one CPU");
	KUNIT_ASSERT_GE_MSG(test, rust, 0, "no attempt stayed on one CPU");
	KUNIT_EXPECT_GE_MSG(test, c, 1, "C did not preempt");
	KUNIT_EXPECT_GE_MSG(test, rust, 1, "Rust did not preempt");
	KUNIT_EXPECT_TRUE(test, c_off);
	KUNIT_EXPECT_TRUE(test, rust_off);
}

static struct kunit_case entry_diff_cases[] = {
	KUNIT_CASE(irqentry_kernel_mode_same_as_c),
	KUNIT_CASE(irqentry_nmi_nested_same_as_c),
	KUNIT_CASE(cond_resched_preempt_disabled_same_as_c),
	KUNIT_CASE(cond_resched_preempts_same_as_c),
	{}
};

static struct kunit_suite entry_diff_suite = {
	.name = "entry_rust_vs_c",
	.test_cases = entry_diff_cases,
};

kunit_test_suite(entry_diff_suite);

MODULE_DESCRIPTION("Differential tests of the C and Rust generic entry code");
MODULE_LICENSE("GPL");
