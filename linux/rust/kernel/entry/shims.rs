// SPDX-License-Identifier: GPL-2.0

//! Wrappers of the C shims in `kernel/entry/entry_rs_shims.c`.
//!
//! C header: [`kernel/entry/entry_rs_shims.h`](srctree/kernel/entry/entry_rs_shims.h).
//!
//! Each shim wraps one static inline of the entry headers that Rust cannot express (see the
//! table in `kernel/entry/entry_rs.rs`). Wrappers of `noinstr` shims take no token; wrappers of
//! instrumentable shims take `&Instr`.

use super::{Instr, PtRegs};
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

macro_rules! instr_shim {
    (
        $(#[$m:meta])*
        $name:ident => $c:ident ( $($arg:ident : $ty:ty => $conv:expr),* ) $(-> $ret:ty)?
    ) => {
        $(#[$m])*
        ///
        /// Instrumentable: needs an [`Instr`] token.
        ///
        /// # Safety
        ///
        /// Same preconditions as the wrapped C function (interrupts disabled unless stated
        /// otherwise, called from the entry path it belongs to).
        #[inline(always)]
        pub unsafe fn $name(_ins: &Instr $(, $arg: $ty)*) $(-> $ret)? {
            // SAFETY: Inside an instrumentation region (`_ins`); preconditions from the caller.
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
    /// C `tick_nohz_user_enter_prepare()`.
    tick_nohz_user_enter_prepare => entry_rs_tick_nohz_user_enter_prepare()
);
instr_shim!(
    /// C `arch_exit_to_user_mode_prepare(regs, ti_work)` (x86).
    arch_exit_to_user_mode_prepare => entry_rs_arch_exit_to_user_mode_prepare(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    )
);
instr_shim!(
    /// C `arch_exit_to_user_mode_work(regs, ti_work)` (empty on x86). Interrupts enabled.
    arch_exit_to_user_mode_work => entry_rs_arch_exit_to_user_mode_work(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    )
);
instr_shim!(
    /// C `rseq_irqentry_exit_to_user_mode()`.
    rseq_irqentry_exit_to_user_mode => entry_rs_rseq_irqentry_exit_to_user_mode()
);
instr_shim!(
    /// C `kmap_assert_nomap()`.
    kmap_assert_nomap => entry_rs_kmap_assert_nomap()
);
instr_shim!(
    /// C `unwind_reset_info()`.
    unwind_reset_info => entry_rs_unwind_reset_info()
);
/// C `local_irq_enable()`: `trace_hardirqs_on()`, then `raw_local_irq_enable()`.
///
/// Without `PARAVIRT_XXL`, `raw_local_irq_enable()` is `native_irq_enable()`, a `sti` with a
/// memory clobber, emitted here as the same instruction (no call, as C inlines it). With
/// `PARAVIRT_XXL` it is a patched `pv_ops` call, which only C can emit: the shim stays.
///
/// # Safety
///
/// Interrupts disabled, in an instrumentation region (`_ins`), at a point of the entry path
/// where the work that follows must run with interrupts enabled.
#[inline(always)]
pub unsafe fn local_irq_enable(_ins: &Instr) {
    #[cfg(not(CONFIG_PARAVIRT_XXL))]
    {
        // C: tracing first, while interrupts are still off.
        #[cfg(CONFIG_TRACE_IRQFLAGS)]
        // SAFETY: Out-of-line and instrumentable; `_ins` says instrumentation is allowed.
        unsafe {
            bindings::trace_hardirqs_on()
        };
        // SAFETY: `sti` has no operands; no `nomem`, so that the compiler neither moves memory
        // accesses across it nor caches values in registers over it (C's "memory" clobber).
        unsafe { crate::asm!("sti"; options(nostack)) };
    }
    #[cfg(CONFIG_PARAVIRT_XXL)]
    // SAFETY: In an instrumentation region (`_ins`); preconditions from the caller.
    unsafe {
        bindings::entry_rs_local_irq_enable()
    };
}

/// C `local_irq_disable()`: `raw_local_irq_disable()`, then `trace_hardirqs_off()` if
/// interrupts were enabled before.
///
/// Without `PARAVIRT_XXL`, `raw_local_irq_disable()` is a `cli` with a memory clobber, emitted
/// here; `raw_irqs_disabled()` reads EFLAGS. With `PARAVIRT_XXL` the C shim stays (see
/// [`local_irq_enable`]).
///
/// # Safety
///
/// In an instrumentation region (`_ins`), in the entry path's work loop, before the work
/// flags are read again with interrupts disabled.
#[inline(always)]
pub unsafe fn local_irq_disable(_ins: &Instr) {
    #[cfg(not(CONFIG_PARAVIRT_XXL))]
    {
        #[cfg(CONFIG_TRACE_IRQFLAGS)]
        let was_disabled = super::percpu::native_irqs_disabled();
        // SAFETY: `cli` has no operands; no `nomem`, as C's "memory" clobber (see
        // [`local_irq_enable`]).
        unsafe { crate::asm!("cli"; options(nostack)) };
        #[cfg(CONFIG_TRACE_IRQFLAGS)]
        if !was_disabled {
            // SAFETY: Out-of-line and instrumentable; `_ins` says instrumentation is allowed.
            unsafe { bindings::trace_hardirqs_off() };
        }
    }
    #[cfg(CONFIG_PARAVIRT_XXL)]
    // SAFETY: In an instrumentation region (`_ins`); preconditions from the caller.
    unsafe {
        bindings::entry_rs_local_irq_disable()
    };
}
instr_shim!(
    /// C `rseq_grant_slice_extension(ti_work, mask)`. Interrupts enabled.
    rseq_grant_slice_extension => entry_rs_rseq_grant_slice_extension(
        ti_work: usize => ti_work,
        mask: usize => mask
    ) -> bool
);
instr_shim!(
    /// C `futex_fixup_robust_unlock(regs)`. Interrupts enabled.
    futex_fixup_robust_unlock => entry_rs_futex_fixup_robust_unlock(
        regs: &PtRegs => regs.as_raw()
    )
);
instr_shim!(
    /// C `resume_user_mode_work(regs)`. Interrupts enabled.
    resume_user_mode_work => entry_rs_resume_user_mode_work(regs: &PtRegs => regs.as_raw())
);
instr_shim!(
    /// C `rseq_exit_to_user_mode_restart(regs, ti_work)`.
    ///
    /// Returns true if the exit work loop must run again.
    rseq_exit_to_user_mode_restart => entry_rs_rseq_exit_to_user_mode_restart(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    ) -> bool
);
instr_shim!(
    /// C `on_thread_stack()`.
    on_thread_stack => entry_rs_on_thread_stack() -> bool
);
instr_shim!(
    /// C `rcu_irq_exit_check_preempt()` (out-of-line with Tree RCU, a static inline with Tiny
    /// RCU).
    rcu_irq_exit_check_preempt => entry_rs_rcu_irq_exit_check_preempt()
);
