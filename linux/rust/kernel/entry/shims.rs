// SPDX-License-Identifier: GPL-2.0

//! Wrappers of the C shims in `kernel/entry/entry_rs_shims.c`.
//!
//! C header: [`kernel/entry/entry_rs_shims.h`](srctree/kernel/entry/entry_rs_shims.h).
//!
//! Each shim wraps one static inline of the entry headers that Rust cannot express (see the
//! table in `kernel/entry/entry_rs.rs`). Wrappers of `noinstr` shims take no token; wrappers of
//! instrumentable shims take `&Instr` and the token of the interrupt state the C function needs
//! (see [`super::irqflags`]).

use super::{
    irqflags::{
        IrqsOff,
        IrqsOn,
        ToUser, //
    },
    Instr,
    PtRegs, //
};
use crate::bindings;

/// C `arch_enter_from_user_mode(regs)` (x86: `DEBUG_ENTRY` sanity checks). `noinstr`.
///
/// # Safety
///
/// Interrupts disabled, entry from user mode, before any other state is established.
#[inline(always)]
pub(crate) unsafe fn arch_enter_from_user_mode(regs: &PtRegs) {
    // The x86 version is empty without DEBUG_ENTRY; skip the call then.
    #[cfg(CONFIG_DEBUG_ENTRY)]
    // SAFETY: `noinstr` shim; `regs` is valid.
    unsafe {
        bindings::entry_rs_arch_enter_from_user_mode(regs.as_raw())
    };
}

/// C `arch_exit_to_user_mode()` (x86: `amd_clear_divider()`). `noinstr`.
///
/// # Safety
///
/// Interrupts disabled, immediately before returning to user mode.
#[inline(always)]
pub(crate) unsafe fn arch_exit_to_user_mode() {
    // SAFETY: `noinstr` shim.
    unsafe { bindings::entry_rs_arch_exit_to_user_mode() };
}

/// The `BUG()` of `__nmi_exit()`'s `BUG_ON(!in_nmi())`. `noinstr`, does not return.
#[inline(always)]
pub(crate) fn nmi_exit_bug() -> ! {
    // SAFETY: `noinstr` shim without preconditions; it does not return.
    unsafe { bindings::entry_rs_nmi_exit_bug() }
}

/// A wrapper of an instrumentable shim whose C function needs nothing but a region (`_ins`)
/// and the interrupt state its token proves: it is safe, the tokens are the preconditions.
macro_rules! instr_shim {
    (
        $(#[$m:meta])*
        $name:ident($tok:ty) => $c:ident ( $($arg:ident : $ty:ty => $conv:expr),* ) $(-> $ret:ty)?
    ) => {
        $(#[$m])*
        ///
        /// Instrumentable: needs an [`Instr`] token.
        #[inline(always)]
        pub fn $name(_ins: &Instr, _irqs: &$tok $(, $arg: $ty)*) $(-> $ret)? {
            // SAFETY: Inside an instrumentation region (`_ins`), interrupts as the C function
            // needs them (`_irqs`); the C function has no other precondition.
            unsafe { bindings::$c($($conv),*) }
        }
    };
}

/// C `ftrace_nmi_enter()`: the hwlat and osnoise tracers' NMI callbacks.
///
/// The C inline is empty without `HWLAT_TRACER` and `OSNOISE_TRACER`; then nothing is called
/// here either (a call of an empty shim cost an NMI 5 instructions). With either tracer the C
/// shim tests the tracers' globals and calls them.
///
/// # Safety
///
/// In NMI context with RCU watching, in an instrumentation region (`_ins`).
#[inline(always)]
pub(crate) unsafe fn ftrace_nmi_enter(_ins: &Instr) {
    #[cfg(any(CONFIG_HWLAT_TRACER, CONFIG_OSNOISE_TRACER))]
    // SAFETY: Inside an instrumentation region (`_ins`), NMI context; preconditions from the
    // caller.
    unsafe {
        bindings::entry_rs_ftrace_nmi_enter()
    };
}

/// C `ftrace_nmi_exit()`: see [`ftrace_nmi_enter`].
///
/// # Safety
///
/// In NMI context with RCU still watching, in an instrumentation region (`_ins`).
#[inline(always)]
pub(crate) unsafe fn ftrace_nmi_exit(_ins: &Instr) {
    #[cfg(any(CONFIG_HWLAT_TRACER, CONFIG_OSNOISE_TRACER))]
    // SAFETY: Inside an instrumentation region (`_ins`), NMI context; preconditions from the
    // caller.
    unsafe {
        bindings::entry_rs_ftrace_nmi_exit()
    };
}
instr_shim!(
    /// C `arch_exit_to_user_mode_prepare(regs, ti_work)` (x86).
    arch_exit_to_user_mode_prepare(ToUser) => entry_rs_arch_exit_to_user_mode_prepare(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    )
);
instr_shim!(
    /// C `arch_exit_to_user_mode_work(regs, ti_work)` (empty on x86).
    arch_exit_to_user_mode_work(IrqsOn<'_>) => entry_rs_arch_exit_to_user_mode_work(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    )
);
instr_shim!(
    /// C `rseq_irqentry_exit_to_user_mode()`.
    rseq_irqentry_exit_to_user_mode(ToUser) => entry_rs_rseq_irqentry_exit_to_user_mode()
);
instr_shim!(
    /// C `kmap_assert_nomap()`.
    kmap_assert_nomap(IrqsOff) => entry_rs_kmap_assert_nomap()
);
instr_shim!(
    /// C `unwind_reset_info()`.
    unwind_reset_info(IrqsOff) => entry_rs_unwind_reset_info()
);
instr_shim!(
    /// C `rseq_grant_slice_extension(ti_work, mask)`.
    rseq_grant_slice_extension(IrqsOn<'_>) => entry_rs_rseq_grant_slice_extension(
        ti_work: usize => ti_work,
        mask: usize => mask
    ) -> bool
);
instr_shim!(
    /// C `futex_fixup_robust_unlock(regs)`.
    futex_fixup_robust_unlock(IrqsOn<'_>) => entry_rs_futex_fixup_robust_unlock(
        regs: &PtRegs => regs.as_raw()
    )
);
instr_shim!(
    /// C `resume_user_mode_work(regs)`: task work, notify-resume callbacks; may sleep.
    resume_user_mode_work(IrqsOn<'_>) => entry_rs_resume_user_mode_work(
        regs: &PtRegs => regs.as_raw()
    )
);
instr_shim!(
    /// C `rseq_exit_to_user_mode_restart(regs, ti_work)`.
    ///
    /// Returns true if the exit work loop must run again.
    rseq_exit_to_user_mode_restart(ToUser) => entry_rs_rseq_exit_to_user_mode_restart(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    ) -> bool
);
instr_shim!(
    /// C `on_thread_stack()`.
    on_thread_stack(IrqsOff) => entry_rs_on_thread_stack() -> bool
);
instr_shim!(
    /// C `rcu_irq_exit_check_preempt()` (out-of-line with Tree RCU, a static inline with Tiny
    /// RCU).
    rcu_irq_exit_check_preempt(IrqsOff) => entry_rs_rcu_irq_exit_check_preempt()
);
