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
/// `_TIF_RSEQ` itself with `HAVE_GENERIC_TIF_BITS` (x86).
#[cfg(CONFIG_HAVE_GENERIC_TIF_BITS)]
pub const EXIT_TO_USER_MODE_WORK_LOOP: usize = EXIT_TO_USER_MODE_WORK & !TIF_RSEQ;
/// `EXIT_TO_USER_MODE_WORK_LOOP` (`kernel/entry/common.c`): without `HAVE_GENERIC_TIF_BITS`
/// (arm64) `_TIF_RSEQ` is `_TIF_NOTIFY_RESUME`, which the loop handles.
#[cfg(not(CONFIG_HAVE_GENERIC_TIF_BITS))]
pub const EXIT_TO_USER_MODE_WORK_LOOP: usize = EXIT_TO_USER_MODE_WORK;

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
/// the rearm of the hrtimer hardware to the return path. Only the generic TIF bits have it
/// (`HRTIMER_REARM_DEFERRED` depends on them).
#[cfg(CONFIG_HAVE_GENERIC_TIF_BITS)]
pub const TIF_HRTIMER_REARM: usize = 1 << bindings::TIF_HRTIMER_REARM;

/// `TIF_REARM_MASK` (`include/linux/hrtimer_rearm.h`): the flags that decide whether the rearm
/// runs before the exit loop.
#[cfg(CONFIG_HAVE_GENERIC_TIF_BITS)]
pub const TIF_REARM_MASK: usize = TIF_NEED_RESCHED | TIF_NEED_RESCHED_LAZY | TIF_HRTIMER_REARM;

use super::arch::current;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
use super::{
    irqflags::{
        IrqsOff,
        IrqsOn,
        MaySleep, //
    },
    Instr,
    PtRegs, //
};
use core::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// The current task's thread flags
// ---------------------------------------------------------------------------------------------

/// The current task's `thread_info.flags`, as the atomic C treats it as: other CPUs set bits
/// with atomic bit operations, the task reads them with `READ_ONCE()`.
#[inline(always)]
fn thread_flags() -> &'static AtomicUsize {
    // SAFETY: `current()` is the valid current task, which outlives any code that runs in it;
    // `thread_info` is embedded in it (`THREAD_INFO_IN_TASK`) and `flags` is an `unsigned long`
    // (layout checked by `entry_field!()`), suitably aligned, written by other CPUs only
    // atomically, so an atomic view of it is sound.
    unsafe {
        AtomicUsize::from_ptr(crate::entry_field!(
            current(),
            task_struct,
            thread_info_flags: thread_info.flags
        ))
    }
}

/// Reads the current task's thread flags (C `read_thread_flags()`, a `READ_ONCE()`: a relaxed
/// atomic load is the same single `mov`).
#[inline(always)]
pub fn read_thread_flags() -> usize {
    thread_flags().load(Ordering::Relaxed)
}

/// Atomically clears the bits of `mask` in the current task's thread flags (C
/// `clear_thread_flag()`, a `lock and` on x86).
///
/// The C version is an instrumented atomic bitop (KASAN/KCSAN see it); this one is not, like
/// every access of the Rust entry object.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn clear_thread_flags(mask: usize) {
    thread_flags().fetch_and(!mask, Ordering::Relaxed);
}

/// Returns true if `TIF_NEED_RESCHED` is set for the current task (C `need_resched()`).
#[inline(always)]
pub fn need_resched() -> bool {
    read_thread_flags() & TIF_NEED_RESCHED != 0
}

/// Returns true if the current task is an idle task (C `is_idle_task(current)`).
#[inline(always)]
pub fn is_idle_task_current() -> bool {
    // SAFETY: `current()` is a valid task. `flags` only changes in task context of the task
    // itself, a plain read is what C does.
    unsafe { crate::entry_field!(current(), task_struct, flags).read() & bindings::PF_IDLE != 0 }
}

/// Returns the current task's count of involuntary context switches (C `current->nivcsw`).
#[inline(always)]
pub fn current_nivcsw() -> usize {
    // SAFETY: `current()` is a valid task; `nivcsw` is an `unsigned long` that the scheduler
    // updates on this CPU only; a volatile read is `READ_ONCE()`.
    unsafe { core::ptr::read_volatile(crate::entry_field!(current(), task_struct, nivcsw)) }
}

// ---------------------------------------------------------------------------------------------
// The work of the exit loop and of the exit to user mode
// ---------------------------------------------------------------------------------------------

/// C `schedule()`, for `_TIF_NEED_RESCHED` in the exit work loop and before guest mode.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn schedule(_ins: &Instr, _on: &impl MaySleep) {
    // SAFETY: Task context with interrupts enabled, on the way to user or guest mode (`_on`):
    // the task may sleep; instrumentable code is allowed (`_ins`).
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
    unsafe { bindings::klp_update_patch_state(current()) };
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

/// C `atomic_long_read(&current->unwind_info.unwind_mask)`: non-zero once a deferred user
/// stack unwind was requested for the task.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_UNWIND_USER))]
#[inline(always)]
fn unwind_mask() -> i64 {
    // SAFETY: `current()` is a valid task and the member's offset is checked against C
    // (`entry_field!`). Other tasks change the mask with atomic operations; a volatile read is
    // `atomic_long_read()`.
    unsafe {
        crate::entry_field!(
            current(),
            task_struct,
            unwind_mask: unwind_info.unwind_mask.counter
        )
        .read_volatile()
    }
}

/// C `unwind_reset_info()` (`include/linux/unwind_deferred.h`): its first test is done here,
/// the rest in a shim. The reset only has work when a deferred user stack unwind was requested
/// (`unwind_mask` non-zero), which C tests first (`likely(!bits)`); the common return then
/// costs no call. Empty without `CONFIG_UNWIND_USER`.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn unwind_reset_info(_ins: &Instr, _off: &IrqsOff) {
    #[cfg(CONFIG_UNWIND_USER)]
    if unwind_mask() != 0 {
        unwind_reset_info_slow(_ins, _off);
    }
}

#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_UNWIND_USER))]
crate::entry::instr::instr_shim!(
    /// The rest of C `unwind_reset_info()`, when a deferred unwind was requested.
    ///
    /// Why C: it clears `unwind_mask` with `atomic_long_fetch_andnot()`-style bit operations
    /// on the pending and used bits and resets the cached trace; rare, so a call costs nothing
    /// measurable.
    unwind_reset_info_slow(IrqsOff) => entry_rs_unwind_reset_info()
);

/// C `futex_fixup_robust_unlock(regs)` (`include/linux/futex.h`): its first test is done here,
/// the rest in a shim. The fixup only matters when the task was interrupted in user mode
/// (inside a robust unlock sequence), so C tests `current->rseq.event.user_irq` before it
/// touches `current->mm`; a signal on the way out of a system call then costs no call. Empty
/// without `CONFIG_FUTEX_ROBUST_UNLOCK`.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn futex_fixup_robust_unlock(_ins: &Instr, _on: &IrqsOn<'_>, _regs: &PtRegs) {
    #[cfg(CONFIG_FUTEX_ROBUST_UNLOCK)]
    if super::rseq::user_irq_noted() {
        futex_fixup_robust_unlock_slow(_ins, _on, _regs);
    }
}

#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_FUTEX_ROBUST_UNLOCK))]
crate::entry::instr::instr_shim!(
    /// The rest of C `futex_fixup_robust_unlock(regs)`, after an interrupt from user mode.
    ///
    /// Why C: it compares the interrupted instruction pointer with the vDSO's robust unlock
    /// section in `current->mm` and rewrites the user futex word with user access.
    futex_fixup_robust_unlock_slow(IrqsOn<'_>) => entry_rs_futex_fixup_robust_unlock(
        regs: &PtRegs => regs.as_raw()
    )
);

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
crate::entry::instr::instr_shim!(
    /// C `resume_user_mode_work(regs)`: task work, notify-resume callbacks; may sleep.
    ///
    /// Why C: a list of static inlines behind config options (task work, memcg and blkcg
    /// throttling, `mem_cgroup_handle_over_high()`, `rseq_handle_notify_resume()`), each a call
    /// of its own subsystem; only the outer tests could be Rust.
    ///
    /// `regs` is `None` before guest mode, where C passes `NULL`: there are no user registers
    /// to fix up.
    resume_user_mode_work(impl MaySleep) => entry_rs_resume_user_mode_work(
        regs: Option<&PtRegs> => regs.map_or(core::ptr::null_mut(), PtRegs::as_raw)
    )
);

#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_DEBUG_KMAP_LOCAL))]
crate::entry::instr::instr_shim!(
    /// C `kmap_assert_nomap()`: no local kmap may be left on the way to user mode.
    ///
    /// Why C: `DEBUG_KMAP_LOCAL` only (a debug check with a `DEBUG_LOCKS_WARN_ON()`); empty and
    /// not called otherwise.
    kmap_assert_nomap(IrqsOff) => entry_rs_kmap_assert_nomap()
);
