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
 * The exit loop is driven as well: exit_to_user_mode_loop() with a task
 * work pending (TIF_NOTIFY_RESUME, and TIF_NOTIFY_SIGNAL through the signal
 * path) and with a livepatch transition pending (TIF_PATCH_PENDING), which
 * run the same from a kernel thread; the task work cases compare what the
 * work saw and, for TIF_NOTIFY_RESUME, the CPU's interrupt mask afterwards.
 */

#include <kunit/test.h>
#include <linux/context_tracking_state.h>
#include <linux/irq-entry-common.h>
#include <linux/kthread.h>
#include <linux/livepatch.h>
#include <linux/lockdep.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#include <linux/task_work.h>
#include <linux/timer.h>
#ifdef CONFIG_X86_64
#include <asm/irqflags.h>
#include <asm/segment.h>
#endif
#ifdef CONFIG_ARM64
#include <asm/cpufeature.h>
#include <asm/sysreg.h>
#endif

/*
 * The reference copy. The static call stays with common.o (PREEMPT_DYNAMIC
 * is undefined for the copy), and its second weak, empty
 * arch_do_signal_or_restart() loses to the architecture's. Calls the copy
 * makes to other entry functions (the irqentry_exit_cond_resched static
 * call, exit_to_user_mode_loop() from the header inlines) reach the real,
 * Rust, ones.
 */
#if defined(CONFIG_PREEMPT_DYNAMIC) && defined(CONFIG_HAVE_PREEMPT_DYNAMIC_KEY)
#define ENTRY_DIFF_DYNAMIC_KEY	/* what the copy's #undef hides below */
#endif
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
	unsigned long (*exit_loop)(struct pt_regs *regs, unsigned long ti_work);
};

static const struct entry_impl impl_c = {
	.name = "c",
	.enter = c_ref_irqentry_enter,
	.exit = c_ref_irqentry_exit,
	.irq_nmi_in = c_ref_irqentry_nmi_enter,
	.irq_nmi_out = c_ref_irqentry_nmi_exit,
	.raw_cond_resched = c_ref_raw_irqentry_exit_cond_resched,
	.exit_loop = c_ref_exit_to_user_mode_loop,
};

static const struct entry_impl impl_rust = {
	.name = "rust",
	.enter = irqentry_enter,
	.exit = irqentry_exit,
	.irq_nmi_in = irqentry_nmi_enter,
	.irq_nmi_out = irqentry_nmi_exit,
	.raw_cond_resched = raw_irqentry_exit_cond_resched,
	.exit_loop = exit_to_user_mode_loop,
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

/*
 * An interrupt of kernel code that had interrupts enabled: the exit must
 * rearm a deferred hrtimer (TIF_HRTIMER_REARM, set here as the timer
 * interrupt sets it; with no rearm pending in the hrtimer base the rearm
 * itself does nothing) and tell lockdep and the tracer that interrupts are
 * on again. Run with preemption disabled, so that the exit does not
 * schedule; the caller puts lockdep's view back (see differential_irqs_on()).
 */
static void run_irq_on(const struct entry_impl *impl, struct entry_run *r)
{
	struct pt_regs regs = kernel_regs();
	irqentry_state_t st = {};

#ifdef CONFIG_X86_64
	regs.flags |= X86_EFLAGS_IF;
#else
	regs.pstate &= ~PSR_I_BIT;
	regs.pmr = GIC_PRIO_IRQON;
#endif
#ifdef CONFIG_HRTIMER_REARM_DEFERRED
	set_thread_flag(TIF_HRTIMER_REARM);
#endif
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

/*
 * The first difference of one C and one Rust run, or -1. @balanced: each
 * must also leave the state it found.
 */
static long compare_runs(const struct entry_run *c, const struct entry_run *r,
			 bool nested, bool balanced, char *why, size_t len)
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
	if (off < 0 && !balanced)
		return off;
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

		off = compare_runs(c, r, nested, true, why, sizeof(why));
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

/*
 * The interrupt of interrupts-on kernel code, C then Rust, each from the
 * same state: interrupts disabled (the CPU's, as the entry code runs them)
 * and lockdep told so, preemption disabled. The exit leaves lockdep saying
 * that interrupts are on, as it does before the return instruction enables
 * them; local_irq_restore() then does what that instruction would.
 */
static void irqentry_kernel_mode_irqs_on_same_as_c(struct kunit *test)
{
	const struct entry_impl *impls[] = { &impl_c, &impl_rust };
	struct entry_run *runs[2];
	unsigned long flags;
	char why[160];
	long off = -1;
	int tries, i;

	for (i = 0; i < 2; i++) {
		runs[i] = kunit_kzalloc(test, sizeof(*runs[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, runs[i]);
	}
	for (tries = 0; tries < 3; tries++) {
		for (i = 0; i < 2; i++) {
			preempt_disable();
			local_irq_save(flags);
			run_irq_on(impls[i], runs[i]);
			local_irq_restore(flags);
			preempt_enable();
		}
		off = compare_runs(runs[0], runs[1], false, false, why, sizeof(why));
		if (off < 0)
			break;
		kunit_info(test, "run %d: %s", tries + 1, why);
	}
	KUNIT_EXPECT_LT_MSG(test, off, 0, "differs in every run: %s", why);
#ifdef CONFIG_HRTIMER_REARM_DEFERRED
	for (i = 0; i < 2; i++) {
		const struct task_struct *t = &runs[i]->after.task;

		KUNIT_EXPECT_FALSE_MSG(test, t->thread_info.flags & _TIF_HRTIMER_REARM,
				       "%s: deferred hrtimer rearm left", impls[i]->name);
	}
#endif
#ifdef CONFIG_TRACE_IRQFLAGS
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, runs[i]->before.hardirqs_enabled, 0);
		KUNIT_EXPECT_EQ_MSG(test, runs[i]->after.hardirqs_enabled, 1,
				    "%s: lockdep not told interrupts are on", impls[i]->name);
	}
#endif
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

/*
 * One preempted_by_rt_thread() run of @impl, which must switch to the thread
 * (@preempts) or stay (@when names the condition), and come back with
 * interrupts disabled either way. Expectations only, no assertion: a caller
 * that changed global state puts it back after this returns.
 */
static void expect_preemption(struct kunit *test, const struct entry_impl *impl,
			      bool preempts, const char *when)
{
	bool irqs_off = false;
	long moved = preempted_by_rt_thread(impl, &irqs_off);

	if (moved < 0) {
		KUNIT_FAIL(test, "%s: no attempt stayed on one CPU", impl->name);
		return;
	}
	if (preempts)
		KUNIT_EXPECT_GE_MSG(test, moved, 1, "%s: not preempted %s", impl->name, when);
	else
		KUNIT_EXPECT_EQ_MSG(test, moved, 0, "%s: preempted %s", impl->name, when);
	KUNIT_EXPECT_TRUE_MSG(test, irqs_off, "%s: returned with interrupts enabled",
			      impl->name);
}

#ifdef ENTRY_DIFF_DYNAMIC_KEY
static const struct entry_impl impl_dynamic = {
	.name = "dynamic",
	.raw_cond_resched = dynamic_irqentry_exit_cond_resched,
};

/*
 * PREEMPT_DYNAMIC with a static key (arm64): dynamic_irqentry_exit_cond_resched()
 * preempts on interrupt return exactly when sk_dynamic_irqentry_exit_cond_resched
 * is on (preempt=full or lazy). The key is switched here as preempt= would
 * switch it, which patches the branch of every __jump_table entry of the key,
 * the Rust function's included, and is put back afterwards.
 */
static void dynamic_cond_resched_follows_key(struct kunit *test)
{
	bool was_on = static_key_enabled(&sk_dynamic_irqentry_exit_cond_resched);

	static_branch_disable(&sk_dynamic_irqentry_exit_cond_resched);
	expect_preemption(test, &impl_dynamic, false, "with the key off");
	static_branch_enable(&sk_dynamic_irqentry_exit_cond_resched);
	expect_preemption(test, &impl_dynamic, true, "with the key on");
	if (!was_on)
		static_branch_disable(&sk_dynamic_irqentry_exit_cond_resched);
}
#endif

static void cond_resched_preempts_same_as_c(struct kunit *test)
{
	expect_preemption(test, &impl_c, true, "with a reschedule pending");
	expect_preemption(test, &impl_rust, true, "with a reschedule pending");
}

/*
 * The interrupt mask as the CPU holds it, not as the kernel's accessors
 * interpret it: EFLAGS.IF on x86; on arm64 DAIF and, where the kernel masks
 * by GIC priority (pseudo-NMIs), the priority mask in the upper half.
 */
static unsigned long hw_irq_mask(void)
{
#ifdef CONFIG_ARM64
	unsigned long m = read_sysreg(daif);

	if (system_uses_irq_prio_masking())
		m |= read_sysreg_s(SYS_ICC_PMR_EL1) << 32;
	return m;
#else
	return native_save_fl() & X86_EFLAGS_IF;
#endif
}

/* The CPU's and the kernel's interrupt state around one call of an exit loop. */
struct exit_loop_call {
	unsigned long ti_before, ti_after;
	unsigned long hw_before, hw_after;
	bool irqs_disabled_after;
	int hardirqs_enabled_after;
};

/*
 * Calls @impl's exit_to_user_mode_loop() with interrupts disabled, as the
 * architecture's exit path does, and records the state it leaves. The CPU's
 * interrupt mask is put back as it was before the loop, so that a loop that
 * leaves the wrong one (a DAIF mask where the kernel masks by priority) fails
 * the case instead of leaving the CPU deaf to interrupts for the rest of the
 * KUnit run.
 */
static void call_exit_loop(const struct entry_impl *impl, struct pt_regs *regs,
			   struct exit_loop_call *call)
{
	unsigned long flags;

	local_irq_save(flags);
	call->hw_before = hw_irq_mask();
	call->ti_before = read_thread_flags();
	call->ti_after = impl->exit_loop(regs, call->ti_before);
	call->hw_after = hw_irq_mask();
	call->irqs_disabled_after = irqs_disabled();
#ifdef CONFIG_TRACE_IRQFLAGS
	call->hardirqs_enabled_after = this_cpu_read(hardirqs_enabled);
#endif
#ifdef CONFIG_ARM64
	write_sysreg(call->hw_before & 0xffffffffUL, daif);
#endif
	local_irq_restore(flags);
}

struct exit_loop_run {
	struct callback_head work;
	bool work_ran, work_irqs_disabled, work_left;
	int work_preempt_count;
	struct exit_loop_call call;
};

/* The task work: what the exit loop's resume_user_mode_work() ran it in. */
static void exit_loop_work(struct callback_head *head)
{
	struct exit_loop_run *r = container_of(head, struct exit_loop_run, work);

	r->work_ran = true;
	r->work_irqs_disabled = irqs_disabled();
	r->work_preempt_count = preempt_count();
}

/*
 * exit_to_user_mode_loop() with TIF_NOTIFY_RESUME set by a task work queued
 * with TWA_RESUME, from a kernel thread with interrupts disabled, as the
 * architecture's exit path calls it. The loop must enable interrupts for the
 * work, run it from resume_user_mode_work(), disable them again and return
 * once no work is left.
 */
static int run_exit_loop(const struct entry_impl *impl, struct exit_loop_run *r)
{
	struct pt_regs regs = {};
	int ret;

	memset(r, 0, sizeof(*r));
	init_task_work(&r->work, exit_loop_work);
	ret = task_work_add(current, &r->work, TWA_RESUME);
	if (ret)
		return ret;

	call_exit_loop(impl, &regs, &r->call);
	/* A loop that did not run the work must not leave it queued on @r. */
	r->work_left = task_work_cancel(current, &r->work);
	return 0;
}

static void exit_loop_notify_resume_same_as_c(struct kunit *test)
{
	struct exit_loop_run *c, *r;
	const struct exit_loop_run *runs[2];
	int i;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_EQ(test, run_exit_loop(&impl_c, c), 0);
	KUNIT_ASSERT_EQ(test, run_exit_loop(&impl_rust, r), 0);
	runs[0] = c;
	runs[1] = r;

	for (i = 0; i < 2; i++) {
		const struct exit_loop_run *x = runs[i];
		const char *name = i ? "rust" : "c";

		KUNIT_EXPECT_TRUE(test, x->call.ti_before & _TIF_NOTIFY_RESUME);
		KUNIT_EXPECT_TRUE_MSG(test, x->work_ran, "%s: no task work", name);
		KUNIT_EXPECT_FALSE(test, x->work_left);
		KUNIT_EXPECT_FALSE_MSG(test, x->work_irqs_disabled,
				       "%s: task work with interrupts disabled", name);
		KUNIT_EXPECT_EQ(test, x->work_preempt_count, 0);
		KUNIT_EXPECT_FALSE(test, x->call.ti_after & EXIT_TO_USER_MODE_WORK_LOOP);
		KUNIT_EXPECT_TRUE(test, x->call.irqs_disabled_after);
		KUNIT_EXPECT_EQ(test, x->call.hardirqs_enabled_after, 0);
	}
	KUNIT_EXPECT_EQ_MSG(test, r->call.hw_before, c->call.hw_before,
			    "interrupt mask before the loop");
	KUNIT_EXPECT_EQ_MSG(test, r->call.hw_after, c->call.hw_after,
			    "interrupt mask the loop leaves");
	KUNIT_EXPECT_EQ(test, r->work_irqs_disabled, c->work_irqs_disabled);
}

struct notify_signal_run {
	struct callback_head work;
	struct timer_list rescue;
	struct task_struct *task;
	bool work_ran, work_irqs_disabled, rescued, work_left, flag_left;
	struct exit_loop_call call;
};

static void notify_signal_work(struct callback_head *head)
{
	struct notify_signal_run *r = container_of(head, struct notify_signal_run, work);

	r->work_ran = true;
	r->work_irqs_disabled = irqs_disabled();
}

/*
 * A loop that does not handle TIF_NOTIFY_SIGNAL never ends: after a second
 * the timer takes the flag away, the loop returns and the case fails instead
 * of hanging the KUnit run.
 */
static void notify_signal_rescue(struct timer_list *t)
{
	struct notify_signal_run *r = timer_container_of(r, t, rescue);

	r->rescued = true;
	clear_tsk_thread_flag(r->task, TIF_NOTIFY_SIGNAL);
}

/*
 * exit_to_user_mode_loop() with TIF_NOTIFY_SIGNAL set by a task work queued
 * with TWA_SIGNAL (io_uring's and the task work of other threads' way to
 * interrupt a task): the loop must take the signal path,
 * arch_do_signal_or_restart(), whose get_signal() clears the flag and runs
 * the work with interrupts enabled, and return once nothing is left. The
 * registers are not a system call's, so nothing is restarted.
 */
static int run_exit_loop_notify_signal(const struct entry_impl *impl,
				       struct notify_signal_run *r)
{
	struct pt_regs regs = {};
	int ret;

#ifdef CONFIG_X86_64
	regs.orig_ax = -1;
#else
	regs.syscallno = NO_SYSCALL;
#endif
	memset(r, 0, sizeof(*r));
	r->task = current;
	init_task_work(&r->work, notify_signal_work);
	timer_setup(&r->rescue, notify_signal_rescue, 0);
	ret = task_work_add(current, &r->work, TWA_SIGNAL);
	if (ret)
		return ret;
	mod_timer(&r->rescue, jiffies + HZ);

	call_exit_loop(impl, &regs, &r->call);
	timer_delete_sync(&r->rescue);
	r->flag_left = test_thread_flag(TIF_NOTIFY_SIGNAL);
	clear_thread_flag(TIF_NOTIFY_SIGNAL);
	r->work_left = task_work_cancel(current, &r->work);
	return 0;
}

static void exit_loop_notify_signal_same_as_c(struct kunit *test)
{
	const struct entry_impl *impls[] = { &impl_c, &impl_rust };
	struct notify_signal_run *runs;
	int i;

	runs = kunit_kcalloc(test, 2, sizeof(*runs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, runs);
	for (i = 0; i < 2; i++)
		KUNIT_ASSERT_EQ(test, run_exit_loop_notify_signal(impls[i], &runs[i]), 0);

	for (i = 0; i < 2; i++) {
		const struct notify_signal_run *r = &runs[i];
		const char *name = impls[i]->name;

		KUNIT_EXPECT_TRUE_MSG(test, r->call.ti_before & _TIF_NOTIFY_SIGNAL,
				      "%s: TWA_SIGNAL did not set the flag", name);
		KUNIT_EXPECT_FALSE_MSG(test, r->rescued,
				       "%s: the loop spun on TIF_NOTIFY_SIGNAL for a second", name);
		KUNIT_EXPECT_TRUE_MSG(test, r->work_ran, "%s: no task work", name);
		KUNIT_EXPECT_FALSE(test, r->work_left);
		KUNIT_EXPECT_FALSE_MSG(test, r->work_irqs_disabled,
				       "%s: task work with interrupts disabled", name);
		KUNIT_EXPECT_FALSE(test, r->flag_left);
		KUNIT_EXPECT_TRUE(test, r->call.irqs_disabled_after);
		KUNIT_EXPECT_EQ(test, r->call.hardirqs_enabled_after, 0);
	}
	KUNIT_EXPECT_EQ_MSG(test, runs[1].call.hw_after, runs[0].call.hw_after,
			    "interrupt mask the loop leaves");
}

#ifdef CONFIG_LIVEPATCH
/*
 * exit_to_user_mode_loop() with TIF_PATCH_PENDING: klp_update_patch_state()
 * moves the task to the state of the transition in progress (none here, so
 * KLP_TRANSITION_IDLE) and clears the flag. A loop that does not call it
 * never ends: the flag is exit work.
 */
static void run_exit_loop_patch(const struct entry_impl *impl, int *state, bool *pending)
{
	struct pt_regs regs = {};
	int saved = current->patch_state;
	unsigned long flags;

	current->patch_state = KLP_TRANSITION_PATCHED;
	set_thread_flag(TIF_PATCH_PENDING);
	local_irq_save(flags);
	impl->exit_loop(&regs, read_thread_flags());
	local_irq_restore(flags);
	*state = current->patch_state;
	*pending = test_thread_flag(TIF_PATCH_PENDING);
	current->patch_state = saved;
}

static void exit_loop_patch_pending_same_as_c(struct kunit *test)
{
	bool c_pending, rust_pending;
	int c_state, rust_state;

	run_exit_loop_patch(&impl_c, &c_state, &c_pending);
	run_exit_loop_patch(&impl_rust, &rust_state, &rust_pending);

	KUNIT_EXPECT_FALSE(test, c_pending);
	KUNIT_EXPECT_FALSE(test, rust_pending);
	KUNIT_EXPECT_EQ(test, c_state, KLP_TRANSITION_IDLE);
	KUNIT_EXPECT_EQ(test, rust_state, c_state);
}
#endif

static struct kunit_case entry_diff_cases[] = {
	KUNIT_CASE(irqentry_kernel_mode_same_as_c),
	KUNIT_CASE(irqentry_kernel_mode_irqs_on_same_as_c),
	KUNIT_CASE(irqentry_nmi_nested_same_as_c),
	KUNIT_CASE(cond_resched_preempt_disabled_same_as_c),
	KUNIT_CASE(cond_resched_preempts_same_as_c),
#ifdef ENTRY_DIFF_DYNAMIC_KEY
	KUNIT_CASE(dynamic_cond_resched_follows_key),
#endif
	KUNIT_CASE(exit_loop_notify_resume_same_as_c),
	KUNIT_CASE(exit_loop_notify_signal_same_as_c),
#ifdef CONFIG_LIVEPATCH
	KUNIT_CASE(exit_loop_patch_pending_same_as_c),
#endif
	{}
};

static struct kunit_suite entry_diff_suite = {
	.name = "entry_rust_vs_c",
	.test_cases = entry_diff_cases,
};

kunit_test_suite(entry_diff_suite);

MODULE_DESCRIPTION("Differential tests of the C and Rust generic entry code");
MODULE_LICENSE("GPL");
