// SPDX-License-Identifier: GPL-2.0

//! Thread-flag work masks used on exit to user mode.
//!
//! C headers:
//! [`include/asm-generic/thread_info_tif.h`](srctree/include/asm-generic/thread_info_tif.h),
//! [`include/linux/irq-entry-common.h`](srctree/include/linux/irq-entry-common.h),
//! [`kernel/entry/common.c`](srctree/kernel/entry/common.c).
//!
//! The `_TIF_*` masks are `BIT()` expressions, which bindgen cannot evaluate; they come from
//! `RUST_CONST_HELPER_ENTRY_*` constants in `rust/bindings/bindings_helper.h`. The `ENTRY_`
//! prefix avoids clashing with any macro bindgen does manage to translate.

use crate::bindings;

/// `_TIF_SIGPENDING`.
pub const TIF_SIGPENDING: usize = bindings::ENTRY_TIF_SIGPENDING;
/// `_TIF_NOTIFY_RESUME`.
pub const TIF_NOTIFY_RESUME: usize = bindings::ENTRY_TIF_NOTIFY_RESUME;
/// `_TIF_NOTIFY_SIGNAL`.
pub const TIF_NOTIFY_SIGNAL: usize = bindings::ENTRY_TIF_NOTIFY_SIGNAL;
/// `_TIF_NEED_RESCHED`.
pub const TIF_NEED_RESCHED: usize = bindings::ENTRY_TIF_NEED_RESCHED;
/// `_TIF_NEED_RESCHED_LAZY`.
pub const TIF_NEED_RESCHED_LAZY: usize = bindings::ENTRY_TIF_NEED_RESCHED_LAZY;
/// `_TIF_UPROBE`.
pub const TIF_UPROBE: usize = bindings::ENTRY_TIF_UPROBE;
/// `_TIF_PATCH_PENDING`.
pub const TIF_PATCH_PENDING: usize = bindings::ENTRY_TIF_PATCH_PENDING;
/// `_TIF_RSEQ`.
pub const TIF_RSEQ: usize = bindings::ENTRY_TIF_RSEQ;

/// `EXIT_TO_USER_MODE_WORK`.
pub const EXIT_TO_USER_MODE_WORK: usize = bindings::ENTRY_EXIT_TO_USER_MODE_WORK;
/// `EXIT_TO_USER_MODE_WORK_IRQ` (adds `_TIF_HRTIMER_REARM` with `HRTIMER_REARM_DEFERRED`).
pub const EXIT_TO_USER_MODE_WORK_IRQ: usize = bindings::ENTRY_EXIT_TO_USER_MODE_WORK_IRQ;

/// `EXIT_TO_USER_MODE_WORK_LOOP` (`kernel/entry/common.c`): the loop does not handle
/// `_TIF_RSEQ` itself with `HAVE_GENERIC_TIF_BITS` (always the case on x86).
pub const EXIT_TO_USER_MODE_WORK_LOOP: usize = EXIT_TO_USER_MODE_WORK & !TIF_RSEQ;

/// `TIF_SLICE_EXT_SCHED` (`kernel/entry/common.c`): only lazy reschedules may be delayed by a
/// time slice extension on `PREEMPT_RT`.
#[cfg(CONFIG_PREEMPT_RT)]
pub const TIF_SLICE_EXT_SCHED: usize = TIF_NEED_RESCHED_LAZY;
/// `TIF_SLICE_EXT_SCHED` (`kernel/entry/common.c`).
#[cfg(not(CONFIG_PREEMPT_RT))]
pub const TIF_SLICE_EXT_SCHED: usize = TIF_NEED_RESCHED | TIF_NEED_RESCHED_LAZY;

/// `TIF_SLICE_EXT_DENY` (`kernel/entry/common.c`): work bits that forbid a slice extension.
pub const TIF_SLICE_EXT_DENY: usize = EXIT_TO_USER_MODE_WORK & !TIF_SLICE_EXT_SCHED;

/// `_TIF_HRTIMER_REARM` (`include/asm-generic/thread_info_tif.h`): the timer interrupt deferred
/// the rearm of the hrtimer hardware to the return path.
pub const TIF_HRTIMER_REARM: usize = 1 << bindings::TIF_HRTIMER_REARM;

/// `TIF_REARM_MASK` (`include/linux/hrtimer_rearm.h`): the flags that decide whether the rearm
/// runs before the exit loop.
pub const TIF_REARM_MASK: usize = TIF_NEED_RESCHED | TIF_NEED_RESCHED_LAZY | TIF_HRTIMER_REARM;

#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, not(CONFIG_HAVE_GENERIC_TIF_BITS)))]
compile_error!("kernel::entry requires CONFIG_HAVE_GENERIC_TIF_BITS");

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
use super::{
    irqflags::{
        IrqsOff,
        IrqsOn, //
    },
    Instr,
    PtRegs, //
};

/// C `schedule()`, for `_TIF_NEED_RESCHED` in the exit work loop.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn schedule(_ins: &Instr, _on: &IrqsOn<'_>) {
    // SAFETY: Task context with interrupts enabled, on the way to user mode (`_on`): the task
    // may sleep; instrumentable code is allowed (`_ins`).
    unsafe { bindings::schedule() };
}

/// C `uprobe_notify_resume(regs)`, for `_TIF_UPROBE`.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_UPROBES))]
#[inline(always)]
pub fn uprobe_notify_resume(_ins: &Instr, _on: &IrqsOn<'_>, regs: &PtRegs) {
    // SAFETY: As for `schedule()`; `regs` are the current task's user registers.
    unsafe { bindings::uprobe_notify_resume(regs.as_raw()) };
}

/// C `klp_update_patch_state(current)`, for `_TIF_PATCH_PENDING`.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_LIVEPATCH))]
#[inline(always)]
pub fn klp_update_patch_state_current(_ins: &Instr, _on: &IrqsOn<'_>) {
    // SAFETY: As for `schedule()`; `current()` is the valid current task.
    unsafe { bindings::klp_update_patch_state(super::percpu::current()) };
}

/// C `arch_do_signal_or_restart(regs)`, for `_TIF_SIGPENDING` and `_TIF_NOTIFY_SIGNAL`.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn arch_do_signal_or_restart(_ins: &Instr, _on: &IrqsOn<'_>, regs: &PtRegs) {
    // SAFETY: As for `schedule()`; `regs` are the current task's user registers, which signal
    // delivery rewrites.
    unsafe { bindings::arch_do_signal_or_restart(regs.as_raw()) };
}

/// C `__hrtimer_rearm_deferred()`: reprograms the clock event device for the next hrtimer.
/// The callers test and clear `_TIF_HRTIMER_REARM` first.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_HRTIMER_REARM_DEFERRED))]
#[inline(always)]
pub fn hrtimer_rearm(_ins: &Instr, _off: &IrqsOff) {
    // SAFETY: Interrupts disabled (`_off`), as the rearm of this CPU's clock event device
    // requires; instrumentable code is allowed (`_ins`).
    unsafe { bindings::__hrtimer_rearm_deferred() };
}

/// C `preempt_schedule_irq()`: schedules on the way back to an interrupted kernel context.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn preempt_schedule_irq(_ins: &Instr, _off: &IrqsOff) {
    // SAFETY: Interrupts disabled (`_off`), instrumentable code allowed (`_ins`). The other
    // precondition, `preempt_count() == 0`, the function checks itself (`BUG_ON()`), and it
    // returns with interrupts disabled again.
    unsafe { bindings::preempt_schedule_irq() };
}
