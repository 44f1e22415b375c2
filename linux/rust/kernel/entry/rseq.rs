// SPDX-License-Identifier: GPL-2.0

//! Restartable sequences on the entry and exit paths.
//!
//! C header: [`include/linux/rseq_entry.h`](srctree/include/linux/rseq_entry.h).
//!
//! An interrupt or exception from user mode notes itself in `current->rseq.event.user_irq`
//! (`note_user_irq_entry()`), so that the way back to user mode can abort a restartable
//! sequence it interrupted; the exit clears the events again. The update of the user-space
//! `struct rseq` (`rseq_exit_to_user_mode_restart()`) is user access and stays C.

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
use super::{
    irqflags::{
        IrqsOff,
        ToUser, //
    },
    Instr,
    PtRegs, //
};

/// C `current->rseq.event.user_irq`: the task entered the kernel from user mode through an
/// interrupt or exception since its last return (set by `note_user_irq_entry()`).
#[cfg(CONFIG_RSEQ)]
#[inline(always)]
pub fn user_irq_noted() -> bool {
    // SAFETY: `current()` is a valid task and the member's offset is checked against C
    // (`entry_field!`). Only the task itself writes it; C reads it plainly.
    unsafe {
        crate::entry_field!(
            super::arch::current(),
            task_struct,
            rseq_event_user_irq: rseq
                .event
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .user_irq
        )
        .read()
            != 0
    }
}

/// C `rseq_note_user_irq_entry()`: `current->rseq.event.user_irq = true;`, so that the return
/// to user mode checks the task's restartable sequence.
///
/// A store through `current` outside any instrumentation region, as in C, with interrupts
/// disabled (`_off`). The member sits in nested anonymous unions and structs, which bindgen
/// names `__bindgen_anon_N`.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) fn note_user_irq_entry(_off: &IrqsOff) {
    #[cfg(CONFIG_RSEQ)]
    // SAFETY: `current()` is a valid task, and the member's offset is checked against C
    // (`entry_field!`). Only the task itself writes its rseq event on entry, with interrupts
    // disabled (`_off`).
    unsafe {
        crate::entry_field!(
            super::arch::current(),
            task_struct,
            rseq_event_user_irq: rseq
                .event
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .user_irq
        )
        .write(1)
    };
}

/// C `rseq_irqentry_exit_to_user_mode()`: clears the task's rseq events on the way back to
/// user mode from an interrupt or exception.
///
/// The events (`user_irq` above all) must be cleared when the interrupt did not schedule, as
/// then the rseq processing did not clear them. Without `RSEQ_STATS` and `LOCKDEP` the C
/// function is that one store, done here; with either, a shim adds the statistics counter and
/// the `lockdep_assert_once(!ev->sched_switch)`.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn irqentry_exit_to_user_mode(_ins: &Instr, _to_user: &ToUser) {
    #[cfg(all(CONFIG_RSEQ, any(CONFIG_RSEQ_STATS, CONFIG_LOCKDEP)))]
    irqentry_exit_to_user_mode_checked(_ins, _to_user);
    #[cfg(all(CONFIG_RSEQ, not(any(CONFIG_RSEQ_STATS, CONFIG_LOCKDEP))))]
    // SAFETY: `current()` is a valid task, the member's offset is checked against C
    // (`entry_field!`), and only the task itself writes its rseq events, here with interrupts
    // disabled (`_to_user`).
    unsafe {
        crate::entry_field!(
            super::arch::current(),
            task_struct,
            rseq_events: rseq
                .event
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .events
        )
        .write(0)
    };
}

#[cfg(all(
    CONFIG_RUST_GENERIC_ENTRY,
    CONFIG_RSEQ,
    any(CONFIG_RSEQ_STATS, CONFIG_LOCKDEP)
))]
crate::entry::instr::instr_shim!(
    /// C `rseq_irqentry_exit_to_user_mode()` with `RSEQ_STATS` or `LOCKDEP`.
    ///
    /// Why C: `rseq_stat_inc()` is a `raw_cpu_inc()` of a member of the per-CPU
    /// `rseq_stats`, and `lockdep_assert_once()` a lockdep helper; both debug options.
    irqentry_exit_to_user_mode_checked(ToUser) => entry_rs_rseq_irqentry_exit_to_user_mode()
);

#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_RSEQ_SLICE_EXTENSION))]
crate::entry::instr::instr_shim!(
    /// C `rseq_grant_slice_extension(ti_work, mask)`: returns true if the task may keep the
    /// CPU for a time slice extension instead of scheduling.
    ///
    /// Why C: it reads and writes the user-space `rseq::slice_ctrl` with user access.
    grant_slice_extension(super::irqflags::IrqsOn<'_>) => entry_rs_rseq_grant_slice_extension(
        ti_work: usize => ti_work,
        mask: usize => mask
    ) -> bool
);

#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_GENERIC_ENTRY))]
crate::entry::instr::instr_shim!(
    /// C `rseq_exit_to_user_mode_restart(regs, ti_work)`: updates the user-space `struct rseq`
    /// (CPU and MM CID, the critical section abort) after the exit work.
    ///
    /// Returns true if the exit work loop must run again.
    ///
    /// Why C: user access (`scoped_user_rw_access()`, `unsafe_put_user()`), with a fault path
    /// that kills the task.
    exit_to_user_mode_restart(ToUser) => entry_rs_rseq_exit_to_user_mode_restart(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    ) -> bool
);

/// C `rseq_exit_to_user_mode_restart(regs, ti_work)` without `CONFIG_GENERIC_ENTRY` (arm64
/// has only `GENERIC_IRQ_ENTRY`): C's inline is `return false`, and no shim is built.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, not(CONFIG_GENERIC_ENTRY)))]
#[inline(always)]
pub fn exit_to_user_mode_restart(
    _ins: &Instr,
    _to_user: &ToUser,
    _regs: &PtRegs,
    _ti_work: usize,
) -> bool {
    false
}
