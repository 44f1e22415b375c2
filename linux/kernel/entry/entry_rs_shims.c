// SPDX-License-Identifier: GPL-2.0
/*
 * C shims for the Rust generic entry code. See entry_rs_shims.h.
 *
 * Every function here is a one-line wrapper of a static inline from the
 * entry headers, so that its semantics (including every config dependency)
 * stay defined in one place: the header. Nothing here may contain logic of
 * its own.
 */

#include <linux/futex.h>
#include <linux/hardirq.h>
#include <linux/highmem.h>
#include <linux/irq-entry-common.h>
#include <linux/resume_user_mode.h>
#include <linux/tick.h>
#include <linux/uaccess.h>

#include "entry_rs_shims.h"

/*
 * noinstr tier: called outside instrumentation regions.
 */

/*
 * arch_enter_from_user_mode(): under CONFIG_DEBUG_ENTRY, x86 checks EFLAGS via
 * native_save_fl(), uses cpu_feature_enabled() (an ALTERNATIVE asm goto with
 * .altinstructions records) and on_thread_stack()/task_pt_regs(). Rust has no
 * alternatives machinery, so this stays in C. The Rust caller only calls it
 * with CONFIG_DEBUG_ENTRY=y, where it is not empty.
 */
noinstr void entry_rs_arch_enter_from_user_mode(struct pt_regs *regs)
{
	arch_enter_from_user_mode(regs);
}

/*
 * arch_exit_to_user_mode(): x86 amd_clear_divider(), an
 * ALTERNATIVE("", "div %2", X86_BUG_DIV0). Runs after user_enter_irqoff(), so
 * it must be noinstr.
 */
noinstr void entry_rs_arch_exit_to_user_mode(void)
{
	arch_exit_to_user_mode();
}

/*
 * The BUG() of __nmi_exit()'s BUG_ON(!in_nmi()). Rust's kernel::bug only has
 * WARN (BUGFLAG_WARNING is forced into the bug table entry), so the fatal
 * variant is emitted here. Only reached on a broken NMI nesting.
 */
noinstr void __noreturn entry_rs_nmi_exit_bug(void)
{
	BUG();
}

#ifdef CONFIG_ARM64
/*
 * arch_nmi_enter()/arch_nmi_exit() on arm64: a VHE host (the kernel at EL2)
 * sets HCR_EL2.TGE for the NMI and restores it afterwards, counting nested
 * NMIs in the per-CPU nmi_contexts; write_sysreg_hcr() is an ALTERNATIVE for
 * an erratum. Rust tests is_kernel_in_hyp_mode() inline, as the macros do, and
 * calls these only at EL2.
 */
noinstr void entry_rs_arch_nmi_enter(void)
{
	arch_nmi_enter();
}

noinstr void entry_rs_arch_nmi_exit(void)
{
	arch_nmi_exit();
}
#endif

/*
 * Instrumentable tier: called only inside instrumentation regions or from
 * exit_to_user_mode_loop(). notrace because in C these bodies are inlined into
 * notrace (noinstr or inline) code; tracing them would add ftrace callbacks
 * with inconsistent irq state.
 */

/*
 * x86 arch_exit_to_user_mode_prepare(): FPU state assert, arch_exit_work()
 * (user return notifiers, IO bitmap, switch_fpu_return()), fred_update_rsp0()
 * (cpu_feature_enabled() + wrmsrns), TS_COMPAT clearing, IBPB on exit.
 */
notrace void entry_rs_arch_exit_to_user_mode_prepare(struct pt_regs *regs, unsigned long ti_work)
{
	arch_exit_to_user_mode_prepare(regs, ti_work);
}

/*
 * rseq_irqentry_exit_to_user_mode(): rseq stats, lockdep_assert_once(), events = 0.
 * Called only with RSEQ_STATS or LOCKDEP; otherwise Rust does the store.
 */
notrace void entry_rs_rseq_irqentry_exit_to_user_mode(void)
{
	rseq_irqentry_exit_to_user_mode();
}

/* kmap_assert_nomap(): DEBUG_KMAP_LOCAL check of current->kmap_ctrl. */
notrace void entry_rs_kmap_assert_nomap(void)
{
	kmap_assert_nomap();
}

/*
 * unwind_reset_info(): UNWIND_USER, a cmpxchg loop on current->unwind_info.
 * Called only when the unwind mask is not zero, which Rust tests first.
 */
notrace void entry_rs_unwind_reset_info(void)
{
	unwind_reset_info();
}

#if defined(CONFIG_PARAVIRT_XXL) || defined(CONFIG_ARM64_DEBUG_PRIORITY_MASKING)
/*
 * raw_local_irq_enable()/_disable() and raw_irqs_disabled() with PARAVIRT_XXL
 * (patched pv_ops calls) or with ARM64_DEBUG_PRIORITY_MASKING (a WARN_ON_ONCE()
 * on the old priority mask). Otherwise they are sti/cli/pushf, or on arm64
 * DAIF or the GIC priority mask chosen by the same alternatives as C's, emitted
 * by the Rust side itself; the irq tracing around them is Rust in all cases.
 */
notrace void entry_rs_raw_local_irq_enable(void)
{
	raw_local_irq_enable();
}

notrace void entry_rs_raw_local_irq_disable(void)
{
	raw_local_irq_disable();
}

notrace bool entry_rs_raw_irqs_disabled(void)
{
	return raw_irqs_disabled();
}

#endif

#ifdef CONFIG_ARM64
/*
 * arm64 arch_exit_to_user_mode_work(): SIGSEGV for an asynchronous MTE fault.
 * Rust tests both flags of ARCH_EXIT_TO_USER_MODE_WORK inline, passes only
 * _TIF_MTE_ASYNC_FAULT here and calls fpsimd_restore_current_state() itself.
 */
notrace void entry_rs_arch_exit_to_user_mode_work(struct pt_regs *regs, unsigned long ti_work)
{
	arch_exit_to_user_mode_work(regs, ti_work);
}
#endif

/*
 * rseq_grant_slice_extension(): user access to rseq->slice_ctrl (uaccess
 * region, exception table), static keys, scoped irq guards,
 * hrtimer_rearm_deferred_tif(). @mask is TIF_SLICE_EXT_DENY, computed in Rust
 * from the same constants as the local macro in common.c.
 */
notrace bool entry_rs_rseq_grant_slice_extension(unsigned long ti_work, unsigned long mask)
{
	return rseq_grant_slice_extension(ti_work, mask);
}

/* futex_fixup_robust_unlock(): FUTEX_ROBUST_UNLOCK vDSO critical section fixup. */
notrace void entry_rs_futex_fixup_robust_unlock(struct pt_regs *regs)
{
	futex_fixup_robust_unlock(regs);
}

/*
 * resume_user_mode_work(): clear TIF_NOTIFY_RESUME, task_work_run(), key
 * cache, memcg over-high, blkcg throttle, rseq slow path.
 */
notrace void entry_rs_resume_user_mode_work(struct pt_regs *regs)
{
	resume_user_mode_work(regs);
}

#ifdef CONFIG_GENERIC_ENTRY
/*
 * rseq_exit_to_user_mode_restart(): rseq fast path with user access
 * (pagefault guard, masked user pointers, exception table), abort IP fixup,
 * TIF_RSEQ clearing and slice extension timer arming. Without GENERIC_ENTRY
 * (arm64) the inline is "return false" and Rust does not call it.
 */
notrace bool entry_rs_rseq_exit_to_user_mode_restart(struct pt_regs *regs, unsigned long ti_work)
{
	return rseq_exit_to_user_mode_restart(regs, ti_work);
}
#endif

/*
 * access_ok(untagged_addr(selector), 1) for syscall user dispatch
 * (kernel/entry/sud_rs.rs): both are architecture inlines (the LAM mask with
 * alternatives, the user address limit).
 */
notrace bool entry_rs_sud_selector_access_ok(const char __user *selector)
{
	return access_ok(untagged_addr(selector), sizeof(*selector));
}

/*
 * __get_user() of the syscall user dispatch selector byte, on every system
 * call of a task that has it on (prctl() checked the address with
 * access_ok()): an architecture inline with an exception table entry. The
 * kernel crate's UserSlice reads through copy_from_user(), which checks the
 * range again and the object size: measured 42 instructions more per system
 * call than C with it, over 1,000 more with lockdep and PROVE_RCU.
 */
notrace int entry_rs_sud_get_selector(const char __user *selector, char *state)
{
	return __get_user(*state, selector);
}
