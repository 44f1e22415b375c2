// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of the generic entry code for x86_64 and arm64.
//!
//! This object replaces the bodies of `kernel/entry/common.c` when `CONFIG_RUST_GENERIC_ENTRY=y`
//! and defines the same C-ABI symbols (callers named for x86; arm64's own entry code,
//! `arch/arm64/kernel/entry-common.c`, calls the NMI pair for pseudo-NMIs, SErrors and SDEI,
//! `exit_to_user_mode_loop()` and `raw_irqentry_exit_cond_resched()`):
//!
//! - `irqentry_enter()` (`.noinstr.text`): from `DEFINE_IDTENTRY*`, `exc_page_fault()`, FRED, Xen
//!   PV
//! - `irqentry_exit()` (`.noinstr.text`): counterpart of `irqentry_enter()`
//! - `irqentry_nmi_enter()` (`.noinstr.text`): NMI, #DB/#BP/#MC/#VC from kernel, #DF
//! - `irqentry_nmi_exit()` (`.noinstr.text`): counterpart of `irqentry_nmi_enter()`
//! - `exit_to_user_mode_loop()` (`.text`): from `__exit_to_user_mode_prepare()` in arch code, IRQs
//!   off
//! - `raw_irqentry_exit_cond_resched()` (`.text`): through the `irqentry_exit_cond_resched` static
//!   call
//!
//! `common.c` keeps `DEFINE_STATIC_CALL(irqentry_exit_cond_resched, ...)` (key and trampoline,
//! retargeted by `kernel/sched/core.c` for `preempt=`) and the weak
//! `arch_do_signal_or_restart()`.
//!
//! Every step below is in the order of the C code it mirrors, and says so in comments that
//! `scripts/rust_entry_mirror.py` checks against the C code of the tree (run by
//! `kernel/entry/Makefile` before this object is built): `// mirror: FILE FUNCTION()` starts the
//! mirror of a C function (up to the end of the Rust block, or `// mirror end: FUNCTION()`),
//! `// C: STATEMENT` names the C statement(s) the Rust code below stands for, and
//! `// C, not mirrored: STATEMENT /* reason */` one it leaves out. The tags of a mirror must be
//! the statements of the C function, in order, block ends included; a C change other than in
//! comments and whitespace fails the build and names the C line.
//!
//! The ordering rules are those of `Documentation/core-api/entry.rst`:
//!
//! * on entry: lockdep first (`lockdep_hardirqs_off()`), then RCU (`ct_*_enter()`,
//!   `__ct_user_exit()`), then tracing (`trace_hardirqs_off_finish()`), the last one inside an
//!   instrumentation region;
//! * on exit: the reverse: tracing/lockdep "prepare" inside a region, then RCU, then
//!   `lockdep_hardirqs_on()`.
//!
//! # Static inlines of the C headers and how they are reached
//!
//! - `user_mode()`, `regs_irqs_disabled()` (AI): Rust ([`PtRegs`], from the arch module)
//! - `current`, `is_idle_task()`, `read_thread_flags()`, `need_resched()` (AI/M): Rust, `current`
//!   from the arch module (`%gs` asm on x86) ([`work`])
//! - `preempt_count()`, `in_nmi()`, `__preempt_count_nmi_enter/exit()` (AI/M): Rust, the per-CPU
//!   instructions from the arch module ([`preempt`])
//! - `lockdep_hardirqs_enabled()`, `lockdep_hardirq_enter/exit()`, `lockdep_off/on()`,
//!   `lockdep_assert_irqs_disabled()` (M): Rust ([`lockdep`])
//! - `context_tracking_enabled()`, `user_exit_irqoff()`, `user_enter_irqoff()`,
//!   `CT_WARN_ON(__ct_state())` (AI/M): Rust static branch + `noinstr` calls ([`ct`])
//! - `rcu_irq_enter_check_tick()` (AI): Rust static branch + call in region
//! - `rseq_note_user_irq_entry()` (AI): Rust store through `current` (layout checked)
//! - `CALLER_ADDR0` (M): the entry function's own address, like `_THIS_IP_` ([`this_ip`])
//! - `instrumentation_begin/end()` (M): Rust asm (`instrumentation()` of [`Irq`] and [`Nmi`])
//! - `irqentry_exit_cond_resched()` (static call): direct call of the trampoline
//!   `__SCT__irqentry_exit_cond_resched` in a region, key referenced from `.discard.addressable`
//!   ([`arch`])
//! - `arch_enter_from_user_mode()` (DEBUG_ENTRY) (AI, alternatives): `noinstr` C shim
//! - `arch_exit_to_user_mode()` (`amd_clear_divider()`) (AI, ALTERNATIVE): `noinstr` C shim
//! - `BUG()` in `__nmi_exit()` (M): `noinstr` C shim
//! - `ftrace_nmi_enter/exit()` (SI): C shim, in region, only with `HWLAT_TRACER` or
//!   `OSNOISE_TRACER` (empty otherwise: no call)
//! - `hrtimer_rearm_deferred()`, `hrtimer_rearm_deferred_user_irq()` (AI): Rust thread-flag
//!   tests and atomic clear, then a call of `__hrtimer_rearm_deferred()`, in region
//! - `tick_nohz_user_enter_prepare()` (SI): Rust static branch, flag and cpumask test, then a
//!   call of `rcu_nocb_flush_deferred_wakeup()` ([`ct`]), in region / loop
//! - `arch_exit_to_user_mode_prepare()` (SI, alternatives): C shim ([`arch`])
//! - `arch_exit_to_user_mode_work()` (SI): the generic empty inline on x86, a C shim on arm64
//!   (FPSIMD reload, MTE fault) ([`arch`])
//! - `rseq_irqentry_exit_to_user_mode()` (AI): Rust store ([`rseq`]); C shim with `RSEQ_STATS`
//!   or `LOCKDEP`
//! - `rseq_grant_slice_extension()`, `rseq_exit_to_user_mode_restart()` (AI, uaccess): C shim
//! - `futex_fixup_robust_unlock()` (SI): its `user_irq` test in Rust, the rest a C shim, in loop
//! - `resume_user_mode_work()` (SI): C shim, in loop
//! - `local_irq_enable/disable()` (M): tracing in Rust, `sti`/`cli` from the arch module
//!   ([`ToUser::enable`], dropping the [`IrqsOn`]); C shims for the `pv_ops` with `PARAVIRT_XXL`
//! - `kmap_assert_nomap()` (SI): C shim, in region, only with `DEBUG_KMAP_LOCAL`
//! - `on_thread_stack()` (AI): Rust ([`arch`]), `DEBUG_ENTRY` only
//! - `unwind_reset_info()` (AI): its `unwind_mask` test in Rust, the rest a C shim, in region
//! - `rcu_irq_exit_check_preempt()` (OOL with Tree RCU and `PROVE_RCU`, an empty SI
//!   otherwise): a direct call or nothing
//! - `arch_in_rcu_eqs()`, `arch_irqentry_exit_need_resched()` (AI/SI): from the arch module
//!   (x86 does not override them: `false`, `true`; arm64 overrides the second: a C shim)
//! - `arch_nmi_enter/exit()` (M): empty on x86; on arm64 an inline `CurrentEL` test and a
//!   `noinstr` C shim on VHE hosts ([`arch`], the [`Nmi`] step `ArchNmi`)
//!
//! Out-of-line C functions are called through `bindings` (they need no shim): the `noinstr`
//! ones (`lockdep_hardirqs_off/on()`, `ct_irq_enter/exit()`, `ct_nmi_enter/exit()`,
//! `__ct_user_enter/exit()`) anywhere, the others only with an [`Instr`] token.
//!
//! # Where `unsafe` is
//!
//! Only where C hands this file raw pointers and promises: at the top of each exported
//! function (the `noinstr` or instrumentable token, the `pt_regs` pointer, and the interrupt
//! state the caller guarantees), the start of each typed context ([`Entry::begin`],
//! [`Exit::resume`], [`Nmi::begin`], [`Nmi::resume`]), and the static call trampoline. Every
//! other precondition is a token: [`Instr`] for "instrumentation allowed", [`IrqsOff`],
//! [`ToUser`] and [`IrqsOn`] for the interrupt state (see `kernel::entry::irqflags`), and the
//! state types of [`Irq`] and [`Nmi`] for the order of entry.rst.

use kernel::{
    bindings,
    entry::{
        arch,
        ct,
        irq::{
            Entered,
            Entry,
            Exit,
            Irq,
            Kernel,
            KernelExit,
            User,
            Watching, //
        },
        irqflags::{
            IrqsOff,
            IrqsOn,
            ToUser, //
        },
        lockdep,
        nmi::{
            Nmi,
            NmiState, //
        },
        preempt,
        rseq,
        this_ip,
        work::{
            self,
            *, //
        },
        Instr,
        IrqEntryState,
        Noinstr,
        PtRegs, //
    },
    macros::{
        export,
        noinstr, //
    },
};

// -------------------------------------------------------------------------------------------
// Shared building blocks (the header inlines of irq-entry-common.h), all #[inline(always)].
// -------------------------------------------------------------------------------------------

/// C `enter_from_user_mode(regs)` (`irq-entry-common.h`): the steps of [`Irq`] from
/// `Entered` to `Watching`.
#[inline(always)]
fn enter_from_user_mode<'a>(irq: Irq<'a, User, Entered>, regs: &PtRegs) -> Irq<'a, User, Watching> {
    // mirror: include/linux/irq-entry-common.h enter_from_user_mode()
    // The entry disabled interrupts, but user mode runs with them enabled as far as lockdep and
    // the tracer know, and with NO_HZ_FULL RCU may not be watching: tell lockdep first, then make
    // RCU watch, and only then trace, which needs RCU.
    // C: arch_enter_from_user_mode(regs);
    irq.arch_enter_from_user_mode(regs);
    // C: lockdep_hardirqs_off(CALLER_ADDR0);
    let irq = irq.lockdep_hardirqs_off();
    // C: CT_WARN_ON(__ct_state() != CT_STATE_USER);
    irq.ct_warn_on_not_user();
    // C: user_exit_irqoff();
    let irq = irq.user_exit_irqoff();

    // C: instrumentation_begin();
    irq.instrumentation(|ins| {
        // C: kmsan_unpoison_entry_regs(regs);
        regs.kmsan_unpoison_entry_regs(ins);
        // C: trace_hardirqs_off_finish();
        irq.trace_hardirqs_off_finish(ins);
    });
    // C: instrumentation_end();
    irq
}

/// C `irqentry_enter_from_user_mode(regs)`.
#[inline(always)]
fn irqentry_enter_from_user_mode(irq: Irq<'_, User, Entered>, regs: &PtRegs) -> IrqEntryState {
    // mirror: include/linux/irq-entry-common.h irqentry_enter_from_user_mode()
    // C: enter_from_user_mode(regs);
    let irq = enter_from_user_mode(irq, regs);
    // C: rseq_note_user_irq_entry();
    irq.rseq_note_user_irq_entry();
    irq.into_state()
}

/// C `irqentry_enter_from_kernel_mode(regs)`: the steps of [`Irq`] from `Entered` to `CtIrq`
/// (idle task) or `Watching`.
///
/// The entry came from idle or from a context in which RCU is watching (the documented
/// precondition of `irqentry_enter()`).
#[inline(always)]
fn irqentry_enter_from_kernel_mode(irq: Irq<'_, Kernel, Entered>, regs: &PtRegs) -> IrqEntryState {
    // mirror: include/linux/irq-entry-common.h irqentry_enter_from_kernel_mode()
    // C, not mirrored: irqentry_state_t ret = { .exit_rcu = false, }; /* built on return */
    // On the idle task, enter RCU with `ct_irq_enter()` whether RCU is watching or not. Testing
    // `rcu_is_watching()` instead would go wrong for nested interrupts: the first interrupt can
    // enable interrupts for softirq processing on its way out, and a tick nested there would skip
    // `ct_irq_enter()`, so `rcu_flavor_sched_clock_irq()` would take it for the first interrupt,
    // report a quiescent state and end a grace period too early. Tiny RCU has no extended
    // quiescent states, so the whole branch goes away with it.
    // C: if (!IS_ENABLED(CONFIG_TINY_RCU) &&
    // C:     (is_idle_task(current) || arch_in_rcu_eqs())) {
    if !cfg!(CONFIG_TINY_RCU) && (work::is_idle_task_current() || arch::arch_in_rcu_eqs()) {
        // RCU may not be watching: the same careful order of lockdep, RCU and tracing as on
        // entry from user mode.
        // C: lockdep_hardirqs_off(CALLER_ADDR0);
        let irq = irq.lockdep_hardirqs_off();
        // C: ct_irq_enter();
        let irq = irq.ct_irq_enter();
        // C: instrumentation_begin();
        irq.instrumentation(|ins| {
            // C: kmsan_unpoison_entry_regs(regs);
            regs.kmsan_unpoison_entry_regs(ins);
            // C: trace_hardirqs_off_finish();
            irq.trace_hardirqs_off_finish(ins);
        });
        // C: instrumentation_end();

        // C: ret.exit_rcu = true;
        // C: return ret;
        return irq.into_state();
        // C: }
    }

    // RCU is watching: it only needs to know whether to restart the tick with NO_HZ.
    // `rcu_irq_enter_check_tick()` warns itself when RCU is not watching.
    // C: lockdep_hardirqs_off(CALLER_ADDR0);
    let irq = irq.lockdep_hardirqs_off().rcu_watching();
    // C: instrumentation_begin();
    irq.instrumentation(|ins| {
        // C: kmsan_unpoison_entry_regs(regs);
        regs.kmsan_unpoison_entry_regs(ins);
        // C: rcu_irq_enter_check_tick();
        irq.rcu_irq_enter_check_tick(ins);
        // C: trace_hardirqs_off_finish();
        irq.trace_hardirqs_off_finish(ins);
    });
    // C: instrumentation_end();

    // C: return ret; /* .exit_rcu = false */
    irq.into_state()
}

/// C `exit_to_user_mode()`: the steps of [`Irq`] from `Watching` to the end.
#[inline(always)]
fn exit_to_user_mode(irq: Irq<'_, User, Watching>) {
    // mirror: include/linux/irq-entry-common.h exit_to_user_mode()
    // The return to user mode enables interrupts, but here they are still disabled: trace and
    // prepare lockdep for "on" while RCU watches, then leave RCU (context tracking), then the
    // last arch code (speculation mitigations), and only then tell lockdep they are on.
    // C: instrumentation_begin();
    irq.instrumentation(|ins| {
        // C: unwind_reset_info();
        work::unwind_reset_info(ins, irq.irqs_off());
        // C: trace_hardirqs_on_prepare();
        irq.trace_hardirqs_on_prepare(ins);
        // C: lockdep_hardirqs_on_prepare();
        irq.lockdep_hardirqs_on_prepare(ins);
    });
    // C: instrumentation_end();

    // C: user_enter_irqoff();
    let irq = irq.user_enter_irqoff();
    // C: arch_exit_to_user_mode();
    irq.arch_exit_to_user_mode();
    // C: lockdep_hardirqs_on(CALLER_ADDR0);
    irq.lockdep_hardirqs_on();
}

/// C `__exit_to_user_mode_prepare(regs, EXIT_TO_USER_MODE_WORK_IRQ)`.
#[inline(always)]
fn exit_to_user_mode_prepare_irq(ins: &Instr, to_user: &mut ToUser, regs: &PtRegs) {
    // mirror: include/linux/irq-entry-common.h __exit_to_user_mode_prepare()
    // C: unsigned long ti_work; /* declared by its first assignment */
    // C: lockdep_assert_irqs_disabled();
    lockdep::lockdep_assert_irqs_disabled();

    // Flush a pending rcuog wakeup before the last need_resched() test.
    // C: tick_nohz_user_enter_prepare();
    ct::tick_nohz_user_enter_prepare(ins, to_user);

    // C: ti_work = read_thread_flags();
    let mut ti_work = work::read_thread_flags();
    // C: if (unlikely(ti_work & work_mask)) {
    if ti_work & EXIT_TO_USER_MODE_WORK_IRQ != 0 {
        // C: if (!hrtimer_rearm_deferred_user_irq(&ti_work, work_mask))
        // C:         ti_work = exit_to_user_mode_loop(regs, ti_work);
        if !hrtimer_rearm_deferred_user_irq(ins, to_user, &mut ti_work) {
            ti_work = exit_to_user_mode_loop_inner(ins, to_user, regs, ti_work);
        }
        // C: }
    }

    // C: arch_exit_to_user_mode_prepare(regs, ti_work);
    arch::arch_exit_to_user_mode_prepare(ins, to_user, regs, ti_work);
}

/// C `hrtimer_rearm_deferred_user_irq(&ti_work, EXIT_TO_USER_MODE_WORK_IRQ)`
/// (`include/linux/hrtimer_rearm.h`), in Rust: the mask has `_TIF_HRTIMER_REARM` whenever
/// `CONFIG_HRTIMER_REARM_DEFERRED` is set, so its first test is always true here.
///
/// Rearms the timer if none of the resched flags is set before going into the loop, which
/// re-enables interrupts; returns true when the rearm was the only work, so the loop is not
/// entered.
#[inline(always)]
fn hrtimer_rearm_deferred_user_irq(_ins: &Instr, _off: &IrqsOff, _ti_work: &mut usize) -> bool {
    #[cfg(CONFIG_HRTIMER_REARM_DEFERRED)]
    if *_ti_work & TIF_REARM_MASK == TIF_HRTIMER_REARM {
        work::clear_thread_flags(TIF_HRTIMER_REARM);
        work::hrtimer_rearm(_ins, _off);
        // Don't go into the loop if HRTIMER_REARM was the only flag.
        *_ti_work &= !TIF_HRTIMER_REARM;
        return *_ti_work == 0;
    }
    false
}

/// C `hrtimer_rearm_deferred()` (`include/linux/hrtimer_rearm.h`), in Rust:
/// `hrtimer_rearm_deferred_tif(read_thread_flags())`, a test of the flag before the atomic
/// clear, as C does, because the common case is that it is not set.
#[inline(always)]
fn hrtimer_rearm_deferred(_ins: &Instr, _off: &IrqsOff) {
    #[cfg(CONFIG_HRTIMER_REARM_DEFERRED)]
    {
        lockdep::lockdep_assert_irqs_disabled();
        if work::read_thread_flags() & TIF_HRTIMER_REARM != 0 {
            work::clear_thread_flags(TIF_HRTIMER_REARM);
            work::hrtimer_rearm(_ins, _off);
        }
    }
}

/// C `irqentry_exit_to_user_mode_prepare(regs)`.
#[inline(always)]
fn irqentry_exit_to_user_mode_prepare(ins: &Instr, to_user: &mut ToUser, regs: &PtRegs) {
    // mirror: include/linux/irq-entry-common.h irqentry_exit_to_user_mode_prepare()
    // C: __exit_to_user_mode_prepare(regs, EXIT_TO_USER_MODE_WORK_IRQ);
    exit_to_user_mode_prepare_irq(ins, to_user, regs);
    // C: rseq_irqentry_exit_to_user_mode();
    rseq::irqentry_exit_to_user_mode(ins, to_user);

    // C: __exit_to_user_mode_validate();
    // mirror: include/linux/irq-entry-common.h __exit_to_user_mode_validate()
    // Make sure that the kernel state is sane for a return to user space.
    // C: kmap_assert_nomap();
    // (An empty inline without CONFIG_DEBUG_KMAP_LOCAL: no call then.)
    #[cfg(CONFIG_DEBUG_KMAP_LOCAL)]
    work::kmap_assert_nomap(ins, to_user);
    // C: lockdep_assert_irqs_disabled();
    lockdep::lockdep_assert_irqs_disabled();
    // C: lockdep_sys_exit();
    lockdep::lockdep_sys_exit(ins, to_user);
    // mirror end: __exit_to_user_mode_validate()
}

/// C `irqentry_exit_to_user_mode(regs)`.
#[inline(always)]
fn irqentry_exit_to_user_mode(mut irq: Irq<'_, User, Watching>, regs: &PtRegs) {
    // mirror: include/linux/irq-entry-common.h irqentry_exit_to_user_mode()
    // C: lockdep_assert_irqs_disabled();
    lockdep::lockdep_assert_irqs_disabled();

    // C: instrumentation_begin();
    irq.instrumentation_to_user(|ins, to_user| {
        // C: irqentry_exit_to_user_mode_prepare(regs);
        irqentry_exit_to_user_mode_prepare(ins, to_user, regs);
    });
    // C: instrumentation_end();

    // C: exit_to_user_mode();
    exit_to_user_mode(irq);
}

/// C `irqentry_exit_cond_resched()`: with `PREEMPT_DYNAMIC`, the architecture's dynamic call of
/// `raw_irqentry_exit_cond_resched()` (x86: a static call, see
/// `arch::irqentry_exit_cond_resched_dynamic()`); without it, a direct call.
///
/// Interrupts disabled (`_off`), returning to a kernel context that can be preempted.
#[inline(always)]
fn irqentry_exit_cond_resched(_ins: &Instr, _off: &IrqsOff) {
    #[cfg(CONFIG_PREEMPT_DYNAMIC)]
    arch::irqentry_exit_cond_resched_dynamic(_ins, _off);

    #[cfg(not(CONFIG_PREEMPT_DYNAMIC))]
    irqentry_exit_cond_resched_checked(_ins, _off);
}

/// C `irqentry_exit_to_kernel_mode_preempt(regs, state)`.
#[inline(always)]
fn irqentry_exit_to_kernel_mode_preempt(ins: &Instr, regs: &PtRegs, state: &KernelExit<'_>) {
    // mirror: include/linux/irq-entry-common.h irqentry_exit_to_kernel_mode_preempt()
    // No preemption when the interrupted context had interrupts disabled, nor when RCU was not
    // watching on entry (`exit_rcu`): scheduling is not possible after `ct_irq_enter()` without
    // undoing it first.
    // C: if (regs_irqs_disabled(regs) || state.exit_rcu)
    // C:         return;
    if regs.irqs_disabled() || state.exit_rcu() {
        return;
    }

    // C: if (IS_ENABLED(CONFIG_PREEMPTION))
    // C:         irqentry_exit_cond_resched();
    if cfg!(CONFIG_PREEMPTION) {
        irqentry_exit_cond_resched(ins, state.irqs_off());
    }
}

/// C `irqentry_hrtimer_rearm_deferred()`, on an `irqentry_exit()` path that will enable
/// interrupts.
#[inline(always)]
fn irqentry_hrtimer_rearm_deferred(ins: &Instr, off: &IrqsOff) {
    // mirror: include/linux/irq-entry-common.h irqentry_hrtimer_rearm_deferred()
    // The deferred rearm is the tail of the timer interrupt, moved to the return path so that it
    // runs after a possible reschedule. `irq_exit_rcu()` has left lockdep's hardirq context by
    // now: enter it again around the rearm, so that the hrtimer base lock and the timekeeping
    // sequence count are not chained onto the locks the interrupted context holds (a new lock
    // chain for every lock stack an interrupt hits). The rearm on return to user mode holds no
    // locks and needs none of this.
    // C: lockdep_hardirq_enter();
    lockdep::in_hardirq_context(off, || {
        // C: hrtimer_rearm_deferred();
        hrtimer_rearm_deferred(ins, off);
        // C: lockdep_hardirq_exit();
    });
}

/// C `irqentry_exit_to_kernel_mode_after_preempt(regs, state)`: the steps of [`Irq`] from
/// `Watching` or `CtIrq` to the end.
#[inline(always)]
fn irqentry_exit_to_kernel_mode_after_preempt(regs: &PtRegs, state: KernelExit<'_>) {
    // mirror: include/linux/irq-entry-common.h irqentry_exit_to_kernel_mode_after_preempt()
    // C: if (!regs_irqs_disabled(regs)) {
    if !regs.irqs_disabled() {
        // RCU was not watching on entry: the same careful order of lockdep, tracing and RCU as on
        // the return to user mode.
        // C: if (state.exit_rcu) {
        let irq = match state {
            KernelExit::CtIrq(irq) => {
                // C: instrumentation_begin();
                irq.instrumentation(|ins| {
                    // C: irqentry_hrtimer_rearm_deferred();
                    irqentry_hrtimer_rearm_deferred(ins, irq.irqs_off());
                    // Tell the tracer that IRET will enable interrupts.
                    // C: trace_hardirqs_on_prepare();
                    irq.trace_hardirqs_on_prepare(ins);
                    // C: lockdep_hardirqs_on_prepare();
                    irq.lockdep_hardirqs_on_prepare(ins);
                });
                // C: instrumentation_end();
                // C: ct_irq_exit();
                let irq = irq.ct_irq_exit();
                // C: lockdep_hardirqs_on(CALLER_ADDR0);
                irq.lockdep_hardirqs_on();
                // C: return;
                return;
                // C: }
            }
            KernelExit::Watching(irq) => irq,
        };

        // C: instrumentation_begin();
        irq.instrumentation(|ins| {
            // C: irqentry_hrtimer_rearm_deferred();
            irqentry_hrtimer_rearm_deferred(ins, irq.irqs_off());
            // Covers both tracing and lockdep.
            // C: trace_hardirqs_on();
            irq.trace_hardirqs_on(ins);
        });
        // C: instrumentation_end();
        irq.return_watching();
        // C: } else {
    } else {
        // The interrupt flags state is right already; only RCU needs to hear of the exit if it
        // was not watching on entry.
        // C: if (state.exit_rcu)
        // C:         ct_irq_exit();
        match state {
            KernelExit::CtIrq(irq) => irq.ct_irq_exit().return_irqs_off(),
            KernelExit::Watching(irq) => irq.return_watching(),
        }
        // C: }
    }
}

/// C `irqentry_exit_to_kernel_mode(regs, state)`.
#[inline(always)]
fn irqentry_exit_to_kernel_mode(regs: &PtRegs, state: KernelExit<'_>) {
    // mirror: include/linux/irq-entry-common.h irqentry_exit_to_kernel_mode()
    // C: lockdep_assert_irqs_disabled();
    lockdep::lockdep_assert_irqs_disabled();

    // C: instrumentation_begin();
    state.instrumentation(|ins| {
        // C: irqentry_exit_to_kernel_mode_preempt(regs, state);
        irqentry_exit_to_kernel_mode_preempt(ins, regs, &state);
    });
    // C: instrumentation_end();

    // C: irqentry_exit_to_kernel_mode_after_preempt(regs, state);
    irqentry_exit_to_kernel_mode_after_preempt(regs, state);
}

// -------------------------------------------------------------------------------------------
// exit_to_user_mode_loop()
// -------------------------------------------------------------------------------------------

/// C `rseq_grant_slice_extension(ti_work, TIF_SLICE_EXT_DENY)`: constant `false` without
/// `CONFIG_RSEQ_SLICE_EXTENSION`.
#[inline(always)]
fn rseq_grant_slice_extension(_ins: &Instr, _on: &IrqsOn<'_>, _ti_work: usize) -> bool {
    #[cfg(CONFIG_RSEQ_SLICE_EXTENSION)]
    {
        rseq::grant_slice_extension(_ins, _on, _ti_work, TIF_SLICE_EXT_DENY)
    }
    #[cfg(not(CONFIG_RSEQ_SLICE_EXTENSION))]
    {
        false
    }
}

/// C `__exit_to_user_mode_loop(regs, ti_work)` (`common.c`, `static __always_inline`).
///
/// Interrupts are disabled on entry and on return (`to_user`); the work runs with them enabled
/// (`on`), and every path out of an iteration disables them again before the flags are read.
#[inline(always)]
fn __exit_to_user_mode_loop(
    ins: &Instr,
    to_user: &mut ToUser,
    regs: &PtRegs,
    mut ti_work: usize,
) -> usize {
    // mirror: kernel/entry/common.c __exit_to_user_mode_loop()
    // Complete all pending work before returning to user space.
    // C: while (ti_work & EXIT_TO_USER_MODE_WORK_LOOP) {
    while ti_work & EXIT_TO_USER_MODE_WORK_LOOP != 0 {
        // C: local_irq_enable();
        let on = to_user.enable(ins);

        // C: if (ti_work & (_TIF_NEED_RESCHED | _TIF_NEED_RESCHED_LAZY)) {
        // C:         if (!rseq_grant_slice_extension(ti_work, TIF_SLICE_EXT_DENY))
        // C:                 schedule();
        // C: }
        if ti_work & (TIF_NEED_RESCHED | TIF_NEED_RESCHED_LAZY) != 0
            && !rseq_grant_slice_extension(ins, &on, ti_work)
        {
            work::schedule(ins, &on);
        }

        // C: if (ti_work & _TIF_UPROBE)
        // C:         uprobe_notify_resume(regs);
        #[cfg(CONFIG_UPROBES)]
        if ti_work & TIF_UPROBE != 0 {
            work::uprobe_notify_resume(ins, &on, regs);
        }

        // C: if (ti_work & _TIF_PATCH_PENDING)
        // C:         klp_update_patch_state(current);
        #[cfg(CONFIG_LIVEPATCH)]
        if ti_work & TIF_PATCH_PENDING != 0 {
            work::klp_update_patch_state_current(ins, &on);
        }

        // C: if (ti_work & (_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL)) {
        // C:         futex_fixup_robust_unlock(regs);
        // C:         arch_do_signal_or_restart(regs);
        // C: }
        if ti_work & (TIF_SIGPENDING | TIF_NOTIFY_SIGNAL) != 0 {
            work::futex_fixup_robust_unlock(ins, &on, regs);
            work::arch_do_signal_or_restart(ins, &on, regs);
        }

        // C: if (ti_work & _TIF_NOTIFY_RESUME)
        // C:         resume_user_mode_work(regs);
        if ti_work & TIF_NOTIFY_RESUME != 0 {
            work::resume_user_mode_work(ins, &on, Some(regs));
        }

        // Architecture specific TIF work (empty on x86: nothing to call on every iteration).
        // C: arch_exit_to_user_mode_work(regs, ti_work);
        arch::arch_exit_to_user_mode_work(ins, &on, regs, ti_work);

        // Disable interrupts and read the work flags again: they may have changed while
        // interrupts and preemption were enabled above.
        // C: local_irq_disable();
        on.disable();

        // Any of the work above may have queued a deferred wakeup.
        // C: tick_nohz_user_enter_prepare();
        ct::tick_nohz_user_enter_prepare(ins, to_user);

        // C: ti_work = read_thread_flags();
        ti_work = work::read_thread_flags();
        // C: }
    }

    // The latest work state, for arch_exit_to_user_mode_prepare().
    // C: return ti_work;
    ti_work
}

/// C `exit_to_user_mode_loop(regs, ti_work)`: interrupts disabled on entry and on return
/// (`to_user`).
#[inline(always)]
fn exit_to_user_mode_loop_inner(
    ins: &Instr,
    to_user: &mut ToUser,
    regs: &PtRegs,
    mut ti_work: usize,
) -> usize {
    // mirror: kernel/entry/common.c exit_to_user_mode_loop()
    // C: for (;;) {
    loop {
        // C: ti_work = __exit_to_user_mode_loop(regs, ti_work);
        ti_work = __exit_to_user_mode_loop(ins, to_user, regs, ti_work);

        // C: if (likely(!rseq_exit_to_user_mode_restart(regs, ti_work)))
        // C:         return ti_work;
        // Without RSEQ, or without GENERIC_ENTRY (arm64 has only GENERIC_IRQ_ENTRY), the
        // inline is `return false`. Otherwise its first test, `test_tif_rseq(ti_work)`
        // (`ti_work & _TIF_RSEQ` with generic TIF bits), is done here: without TIF_RSEQ and
        // without a slice extension timer to arm it returns false. Either way the common case
        // costs no call.
        let nothing_to_do = !cfg!(all(CONFIG_RSEQ, CONFIG_GENERIC_ENTRY))
            || (cfg!(CONFIG_HAVE_GENERIC_TIF_BITS)
                && !cfg!(CONFIG_RSEQ_SLICE_EXTENSION)
                && ti_work & TIF_RSEQ == 0);
        if nothing_to_do || !rseq::exit_to_user_mode_restart(ins, to_user, regs, ti_work) {
            return ti_work;
        }
        // C: ti_work = read_thread_flags();
        ti_work = work::read_thread_flags();
        // C: }
    }
}

/// Handles pending work before returning to user space (C `exit_to_user_mode_loop()`).
///
/// Called with interrupts disabled by `__exit_to_user_mode_prepare()` in arch code; returns with
/// interrupts disabled and the final thread flags. Ordinary `.text` (not `noinstr`), like the C
/// version, which is only `notrace` (Rust code is never ftrace-instrumented).
///
/// # Safety
///
/// `regs` must be the current task's user `pt_regs`; interrupts must be disabled; the task
/// returns to user mode after the call.
#[export]
pub unsafe extern "C" fn exit_to_user_mode_loop(
    regs: *mut bindings::pt_regs,
    ti_work: usize,
) -> usize {
    // SAFETY: This function is ordinary instrumentable `.text`; the caller passes the valid
    // user `pt_regs` of the current task, with interrupts disabled, on its way to user mode.
    let (ins, regs, mut to_user) = unsafe {
        (
            Instr::assume_instrumentable(),
            PtRegs::from_raw(regs),
            ToUser::assume(),
        )
    };
    exit_to_user_mode_loop_inner(&ins, &mut to_user, regs, ti_work)
}

// -------------------------------------------------------------------------------------------
// raw_irqentry_exit_cond_resched()
// -------------------------------------------------------------------------------------------

/// The body of [`raw_irqentry_exit_cond_resched`], interrupts disabled (`off`).
#[inline(always)]
fn irqentry_exit_cond_resched_checked(ins: &Instr, off: &IrqsOff) {
    // mirror: kernel/entry/common.c raw_irqentry_exit_cond_resched()
    // C: if (!preempt_count()) {
    if preempt::preempt_count() == 0 {
        // Sanity checks of RCU and the thread stack.
        // C: rcu_irq_exit_check_preempt();
        // (Empty without PROVE_RCU, and always with Tiny RCU.)
        #[cfg(CONFIG_PROVE_RCU)]
        ct::rcu_irq_exit_check_preempt(ins, off);
        // C: if (IS_ENABLED(CONFIG_DEBUG_ENTRY))
        // C:         WARN_ON_ONCE(!on_thread_stack());
        #[cfg(CONFIG_DEBUG_ENTRY)]
        kernel::entry_warn_on_once!(!arch::on_thread_stack());
        // C: if (need_resched() && arch_irqentry_exit_need_resched())
        // C:         preempt_schedule_irq();
        if work::need_resched() && arch::arch_irqentry_exit_need_resched(ins, off) {
            work::preempt_schedule_irq(ins, off);
        }
        // C: }
    }
}

/// Preempts the interrupted kernel context if needed (C `raw_irqentry_exit_cond_resched()`).
///
/// Target of the `irqentry_exit_cond_resched` static call (defined in `common.c`). Called with
/// interrupts disabled from `irqentry_exit()` and `xen_pv_evtchn_do_upcall()`.
///
/// # Safety
///
/// Interrupts disabled, on return from an interrupt to a kernel context that had interrupts
/// enabled and RCU watching.
#[export]
pub unsafe extern "C" fn raw_irqentry_exit_cond_resched() {
    // SAFETY: This function is ordinary instrumentable `.text`, called with interrupts
    // disabled.
    let (ins, off) = unsafe { (Instr::assume_instrumentable(), IrqsOff::assume()) };
    irqentry_exit_cond_resched_checked(&ins, &off);
}

/// Preempts the interrupted kernel context if the preemption model allows it on interrupt
/// return and it is needed (C `dynamic_irqentry_exit_cond_resched()`).
///
/// `PREEMPT_DYNAMIC` with a static key (arm64): the key `sk_dynamic_irqentry_exit_cond_resched`
/// (defined in `common.c`, switched by `preempt=`) is tested with the same `__jump_table` entry
/// as C's, then the body of [`raw_irqentry_exit_cond_resched`] runs inline, as C inlines it.
/// Called by arm64's interrupt return to kernel mode.
///
/// # Safety
///
/// As [`raw_irqentry_exit_cond_resched`].
#[cfg(all(CONFIG_PREEMPT_DYNAMIC, CONFIG_HAVE_PREEMPT_DYNAMIC_KEY))]
#[export]
pub unsafe extern "C" fn dynamic_irqentry_exit_cond_resched() {
    // mirror: kernel/entry/common.c dynamic_irqentry_exit_cond_resched()
    // SAFETY: As for `raw_irqentry_exit_cond_resched()`: ordinary `.text`, interrupts disabled.
    let (ins, off) = unsafe { (Instr::assume_instrumentable(), IrqsOff::assume()) };
    // C: if (!static_branch_unlikely(&sk_dynamic_irqentry_exit_cond_resched))
    // C:         return;
    if !arch::dynamic_cond_resched_enabled() {
        return;
    }
    // C: raw_irqentry_exit_cond_resched();
    irqentry_exit_cond_resched_checked(&ins, &off);
}

// -------------------------------------------------------------------------------------------
// The four noinstr entry points.
// -------------------------------------------------------------------------------------------

/// Establishes state on an ordinary interrupt or exception entry (C `irqentry_enter()`).
///
/// Order on entry from user mode: `lockdep_hardirqs_off()` → `__ct_user_exit()` (RCU watches)
/// → [region: `trace_hardirqs_off_finish()`] → rseq note. From kernel mode (idle task):
/// `lockdep_hardirqs_off()` → `ct_irq_enter()` → [region: tracing], `exit_rcu = true`. From
/// kernel mode (RCU watching): `lockdep_hardirqs_off()` → [region: `rcu_irq_enter_check_tick()`,
/// tracing], `exit_rcu = false`.
///
/// Leaving `ct_irq_enter()`/`ct_irq_exit()` out when RCU is watching is an optimization, and
/// it lets kernel mode page faults schedule, which is not possible after `ct_irq_enter()`
/// without undoing it. On entry from user mode, context tracking is what makes scheduling on
/// the way out possible with NO_HZ_FULL.
///
/// # Safety
///
/// Called from the low-level entry code with interrupts disabled and a valid `regs`.
#[noinstr]
#[export]
pub unsafe extern "C" fn irqentry_enter(
    regs: *mut bindings::pt_regs,
) -> bindings::irqentry_state_t {
    // SAFETY: This function is `#[noinstr]` and not inside a region; the entry code passes the
    // valid `pt_regs` of this entry.
    let (ni, regs) = unsafe { (Noinstr::assume(), PtRegs::from_raw(regs)) };

    // mirror: kernel/entry/common.c irqentry_enter()
    // C: if (user_mode(regs)) {
    // SAFETY: The start of `irqentry_enter()`, interrupts disabled, `regs` of this entry.
    let entry = unsafe { Entry::begin(&ni, regs, this_ip()) };
    match entry {
        Entry::User(irq) => {
            // C, not mirrored: irqentry_state_t ret = { .exit_rcu = false, }; /* built on return */
            // C: irqentry_enter_from_user_mode(regs);
            // C: return ret; /* .exit_rcu = false */
            irqentry_enter_from_user_mode(irq, regs).into_raw()
            // C: }
        }
        // C: return irqentry_enter_from_kernel_mode(regs);
        Entry::Kernel(irq) => irqentry_enter_from_kernel_mode(irq, regs).into_raw(),
    }
}

/// Handles the return from an exception that used `irqentry_enter()` (C `irqentry_exit()`).
///
/// To user mode: exit work (loop) in a region, then `user_enter_irqoff()`,
/// `arch_exit_to_user_mode()`, `lockdep_hardirqs_on()`. To kernel mode: optional preemption
/// through the static call, then the RCU/lockdep/tracing state of the interrupted context.
///
/// # Safety
///
/// Interrupts disabled; `regs` and `state` from the matching `irqentry_enter()`.
#[noinstr]
#[export]
pub unsafe extern "C" fn irqentry_exit(
    regs: *mut bindings::pt_regs,
    state: bindings::irqentry_state_t,
) {
    // SAFETY: This function is `#[noinstr]` and not inside a region; the entry code passes the
    // valid `pt_regs` of this entry.
    let (ni, regs) = unsafe { (Noinstr::assume(), PtRegs::from_raw(regs)) };
    let state = IrqEntryState::from_raw(state);

    // mirror: kernel/entry/common.c irqentry_exit()
    // C: if (user_mode(regs))
    // SAFETY: The start of `irqentry_exit()`, interrupts disabled, `regs` and `state` of the
    // matching `irqentry_enter()` (the caller's contract).
    let exit = unsafe { Exit::resume(&ni, regs, state, this_ip()) };
    match exit {
        // C: irqentry_exit_to_user_mode(regs);
        Exit::User(irq) => irqentry_exit_to_user_mode(irq, regs),
        // C: else
        // C: irqentry_exit_to_kernel_mode(regs, state);
        Exit::Kernel(state) => irqentry_exit_to_kernel_mode(regs, state),
    }
}

/// Handles NMI entry (C `irqentry_nmi_enter()`).
///
/// Order: sample lockdep's irq state → `lockdep_off()` → `preempt_count +=
/// NMI_OFFSET + HARDIRQ_OFFSET` (`in_nmi()` true from here) → `lockdep_hardirqs_off()` →
/// `lockdep_hardirq_enter()` → `ct_nmi_enter()` (RCU watches) → [region: kmsan, tracing,
/// `ftrace_nmi_enter()`]. Each step is a transition of [`Nmi`], which only lets them happen in
/// this order and only lets the region open once RCU watches.
///
/// # Safety
///
/// Called from NMI-like entry code (NMI, #DB/#BP/#MC/#VC from kernel, #DF) with a valid `regs`.
#[noinstr]
#[export]
pub unsafe extern "C" fn irqentry_nmi_enter(
    regs: *mut bindings::pt_regs,
) -> bindings::irqentry_state_t {
    // SAFETY: This function is `#[noinstr]` and not inside a region; the entry code passes the
    // valid `pt_regs` of this entry.
    let (ni, regs) = unsafe { (Noinstr::assume(), PtRegs::from_raw(regs)) };

    // mirror: kernel/entry/common.c irqentry_nmi_enter()
    // `irq_state.lockdep` keeps lockdep's view of the interrupted context, so that
    // `irqentry_nmi_exit()` restores it: the NMI may have hit with interrupts enabled or not.
    // C: irqentry_state_t irq_state;
    // C: irq_state.lockdep = lockdep_hardirqs_enabled();
    // SAFETY: The start of an NMI-like entry, interrupts disabled by the hardware.
    let nmi = unsafe { Nmi::begin(&ni, this_ip()) };

    // No tracer may run before the preempt count makes `in_nmi()` true ("NMI vs Tracing" in
    // hardirq.h), so `__nmi_enter()` comes before anything instrumentable. NMIs nest: each one
    // adds `NMI_OFFSET` to the preempt count.
    // C: __nmi_enter();
    // mirror: include/linux/hardirq.h __nmi_enter()
    // C: lockdep_off();
    let nmi = nmi.lockdep_off();
    // C: arch_nmi_enter();
    let nmi = nmi.arch_nmi_enter();
    // C: __preempt_count_nmi_enter();
    let nmi = nmi.preempt_count_nmi_enter();
    // mirror end: __nmi_enter()

    // C: lockdep_hardirqs_off(CALLER_ADDR0);
    let nmi = nmi.lockdep_hardirqs_off();
    // C: lockdep_hardirq_enter();
    let nmi = nmi.lockdep_hardirq_enter();
    // C: ct_nmi_enter();
    let nmi = nmi.ct_nmi_enter();

    // C: instrumentation_begin();
    nmi.instrumentation(|ins| {
        // C: kmsan_unpoison_entry_regs(regs);
        regs.kmsan_unpoison_entry_regs(ins);
        // C: trace_hardirqs_off_finish();
        nmi.trace_hardirqs_off_finish(ins);
        // C: ftrace_nmi_enter();
        nmi.ftrace_nmi_enter(ins);
    });
    // C: instrumentation_end();

    // C: return irq_state;
    nmi.into_state().into_raw()
}

/// Handles the return from an NMI (C `irqentry_nmi_exit()`), the exact reverse of
/// [`irqentry_nmi_enter`], again as transitions of [`Nmi`].
///
/// # Safety
///
/// `regs` and `irq_state` from the matching `irqentry_nmi_enter()` on this CPU.
#[noinstr]
#[export]
pub unsafe extern "C" fn irqentry_nmi_exit(
    regs: *mut bindings::pt_regs,
    irq_state: bindings::irqentry_state_t,
) {
    // SAFETY: This function is `#[noinstr]` and not inside a region.
    let ni = unsafe { Noinstr::assume() };
    let _ = regs;
    // SAFETY: `irq_state` is what the matching `irqentry_nmi_enter()` returned, and that entry
    // reached `Watching` with every pair open (the caller's contract).
    let nmi = unsafe { Nmi::resume(&ni, NmiState::from_raw(irq_state), this_ip()) };

    // mirror: kernel/entry/common.c irqentry_nmi_exit()
    // C: instrumentation_begin();
    nmi.instrumentation(|ins| {
        // C: ftrace_nmi_exit();
        nmi.ftrace_nmi_exit(ins);
        // C: if (irq_state.lockdep) {
        // C:         trace_hardirqs_on_prepare();
        // C:         lockdep_hardirqs_on_prepare();
        // C: }
        // Only when the NMI hit a context that had interrupts enabled per lockdep.
        if nmi.lockdep() {
            nmi.trace_hardirqs_on_prepare(ins);
            nmi.lockdep_hardirqs_on_prepare(ins);
        }
    });
    // C: instrumentation_end();

    // C: ct_nmi_exit();
    let nmi = nmi.ct_nmi_exit();
    // C: lockdep_hardirq_exit();
    let nmi = nmi.lockdep_hardirq_exit();
    // C: if (irq_state.lockdep)
    // C:         lockdep_hardirqs_on(CALLER_ADDR0);
    let nmi = nmi.lockdep_hardirqs_on();

    // C: __nmi_exit();
    // mirror: include/linux/hardirq.h __nmi_exit()
    // C: BUG_ON(!in_nmi());
    // C: __preempt_count_nmi_exit();
    let nmi = nmi.preempt_count_nmi_exit();
    // C: arch_nmi_exit();
    let nmi = nmi.arch_nmi_exit();
    // C: lockdep_on();
    nmi.lockdep_on();
    // mirror end: __nmi_exit()
}
