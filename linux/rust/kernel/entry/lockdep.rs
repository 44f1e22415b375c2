// SPDX-License-Identifier: GPL-2.0

//! Lockdep and irq-flag tracing state for entry code.
//!
//! C headers: [`include/linux/irqflags.h`](srctree/include/linux/irqflags.h),
//! [`include/linux/lockdep.h`](srctree/include/linux/lockdep.h).
//!
//! - `lockdep_hardirqs_off()`, `lockdep_hardirqs_on()` (out-of-line `noinstr` (`PROVE_LOCKING`)):
//!   direct call
//! - `lockdep_hardirqs_on_prepare()` (out-of-line, instrumentable): call, needs [`Instr`]
//! - `trace_hardirqs_on_prepare()`, `trace_hardirqs_off_finish()`, `trace_hardirqs_on()`
//!   (out-of-line, instrumentable (`TRACE_IRQFLAGS`)): call, needs [`Instr`]
//! - `lockdep_hardirqs_enabled()` (macro: `this_cpu_read(hardirqs_enabled)`): `%gs` asm
//! - `lockdep_hardirq_enter()`, `lockdep_hardirq_exit()` (macros: `hardirq_context` per-CPU,
//!   `current->hardirq_threaded`): `%gs` asm + store
//! - `lockdep_off()`, `lockdep_on()` (macros: `current->lockdep_recursion`): plain
//!   read-modify-write
//! - `lockdep_sys_exit()` (out-of-line, instrumentable (`LOCKDEP`)): call, needs [`Instr`] and
//!   [`IrqsOff`]
//! - `lockdep_assert_irqs_disabled()` (macro: `WARN_ON_ONCE(__lockdep_enabled &&
//!   hardirqs_enabled)`): `%gs` asm + `ud2` WARN
//!
//! When the C functions are compiled out (`static inline` empty stubs), the Rust wrappers are
//! empty too, selected with the same Kconfig symbols.

#![allow(unused_variables)]

use super::{
    irqflags::IrqsOff,
    Instr, //
};

/// Tells lockdep that hardware interrupts are now disabled (C `lockdep_hardirqs_off(ip)`).
///
/// `noinstr` in C, callable outside instrumentation regions.
///
/// # Safety
///
/// Interrupts must be disabled.
#[inline(always)]
pub(crate) unsafe fn lockdep_hardirqs_off(ip: usize) {
    #[cfg(CONFIG_PROVE_LOCKING)]
    // SAFETY: `lockdep_hardirqs_off()` is `noinstr`; the caller guarantees IRQs are off.
    unsafe {
        crate::bindings::lockdep_hardirqs_off(ip)
    };
}

/// Tells lockdep that hardware interrupts are about to be enabled (C `lockdep_hardirqs_on(ip)`).
///
/// `noinstr` in C, callable outside instrumentation regions.
///
/// # Safety
///
/// Must be preceded by [`lockdep_hardirqs_on_prepare`] and followed by the return to a context
/// with interrupts enabled.
#[inline(always)]
pub(crate) unsafe fn lockdep_hardirqs_on(ip: usize) {
    #[cfg(CONFIG_PROVE_LOCKING)]
    // SAFETY: `lockdep_hardirqs_on()` is `noinstr`; ordering guaranteed by the caller.
    unsafe {
        crate::bindings::lockdep_hardirqs_on(ip)
    };
}

/// C `lockdep_hardirqs_on_prepare()`: instrumentable, needs an [`Instr`] token.
///
/// # Safety
///
/// Interrupts must be disabled and about to be enabled.
#[inline(always)]
pub(crate) unsafe fn lockdep_hardirqs_on_prepare(_ins: &Instr) {
    #[cfg(CONFIG_PROVE_LOCKING)]
    // SAFETY: Inside an instrumentation region (`_ins`); precondition from the caller.
    unsafe {
        crate::bindings::lockdep_hardirqs_on_prepare()
    };
}

/// C `trace_hardirqs_on_prepare()`: instrumentable, needs an [`Instr`] token.
///
/// # Safety
///
/// Interrupts must be disabled and about to be enabled.
#[inline(always)]
pub(crate) unsafe fn trace_hardirqs_on_prepare(_ins: &Instr) {
    #[cfg(CONFIG_TRACE_IRQFLAGS)]
    // SAFETY: Inside an instrumentation region (`_ins`); precondition from the caller.
    unsafe {
        crate::bindings::trace_hardirqs_on_prepare()
    };
}

/// C `trace_hardirqs_off_finish()`: instrumentable, needs an [`Instr`] token.
///
/// # Safety
///
/// Interrupts must be disabled and lockdep must already know (via [`lockdep_hardirqs_off`]).
#[inline(always)]
pub(crate) unsafe fn trace_hardirqs_off_finish(_ins: &Instr) {
    #[cfg(CONFIG_TRACE_IRQFLAGS)]
    // SAFETY: Inside an instrumentation region (`_ins`); precondition from the caller.
    unsafe {
        crate::bindings::trace_hardirqs_off_finish()
    };
}

/// C `trace_hardirqs_on()`: tracing and lockdep "on" in one go. Needs an [`Instr`] token.
///
/// # Safety
///
/// Interrupts must be disabled and the code must return directly to a context with interrupts
/// enabled.
#[inline(always)]
pub(crate) unsafe fn trace_hardirqs_on(_ins: &Instr) {
    #[cfg(CONFIG_TRACE_IRQFLAGS)]
    // SAFETY: Inside an instrumentation region (`_ins`); precondition from the caller.
    unsafe {
        crate::bindings::trace_hardirqs_on()
    };
}

/// Returns lockdep's view of the hardirq state (C `lockdep_hardirqs_enabled()`).
#[inline(always)]
pub fn lockdep_hardirqs_enabled() -> bool {
    #[cfg(CONFIG_TRACE_IRQFLAGS)]
    {
        super::arch::this_cpu_read_u32!(hardirqs_enabled) != 0
    }
    #[cfg(not(CONFIG_TRACE_IRQFLAGS))]
    {
        false
    }
}

/// C `lockdep_hardirq_enter()`.
///
/// ```c
/// if (__this_cpu_inc_return(hardirq_context) == 1)
///         current->hardirq_threaded = 0;
/// ```
///
/// # Safety
///
/// Interrupts must be disabled; must be balanced by [`lockdep_hardirq_exit`].
#[inline(always)]
pub(crate) unsafe fn lockdep_hardirq_enter() {
    #[cfg(CONFIG_TRACE_IRQFLAGS)]
    {
        let old = super::arch::hardirq_context_inc();
        if old.wrapping_add(1) == 1 {
            // SAFETY: `current()` is valid; only the task itself writes `hardirq_threaded`.
            unsafe {
                crate::entry_field!(super::arch::current(), task_struct, hardirq_threaded).write(0)
            };
        }
    }
}

/// C `lockdep_hardirq_exit()`: `__this_cpu_dec(hardirq_context)`.
///
/// # Safety
///
/// Must balance a previous [`lockdep_hardirq_enter`].
#[inline(always)]
pub(crate) unsafe fn lockdep_hardirq_exit() {
    #[cfg(CONFIG_TRACE_IRQFLAGS)]
    super::arch::hardirq_context_dec();
}

/// Runs `f` in lockdep's hardirq context: C `lockdep_hardirq_enter(); f();
/// lockdep_hardirq_exit();`.
///
/// The pair is balanced by construction; interrupts are disabled throughout (`_off`).
#[inline(always)]
pub fn in_hardirq_context<R>(_off: &IrqsOff, f: impl FnOnce() -> R) -> R {
    // SAFETY: Interrupts are disabled (`_off`); balanced by the exit below.
    unsafe { lockdep_hardirq_enter() };
    let ret = f();
    // SAFETY: Balances the enter above.
    unsafe { lockdep_hardirq_exit() };
    ret
}

/// C `lockdep_sys_exit()`: complains if the task returns to user mode holding locks. An empty
/// inline without `CONFIG_LOCKDEP`.
#[inline(always)]
pub fn lockdep_sys_exit(_ins: &Instr, _off: &IrqsOff) {
    #[cfg(CONFIG_LOCKDEP)]
    // SAFETY: Out-of-line and instrumentable (`_ins`); interrupts disabled (`_off`), on the way
    // to user mode; it only reads the task's lock stack.
    unsafe {
        crate::bindings::lockdep_sys_exit()
    };
}

/// C `lockdep_off()`: `current->lockdep_recursion += LOCKDEP_OFF`.
///
/// # Safety
///
/// Must be balanced by [`lockdep_on`] in the same task.
#[inline(always)]
pub(crate) unsafe fn lockdep_off() {
    #[cfg(CONFIG_LOCKDEP)]
    // SAFETY: `current()` is valid, and only the current task (or an NMI on top of it, which
    // restores the value) modifies its `lockdep_recursion`.
    unsafe {
        let r = crate::entry_field!(super::arch::current(), task_struct, lockdep_recursion);
        r.write(r.read().wrapping_add(crate::bindings::LOCKDEP_OFF));
    }
}

/// C `lockdep_on()`: `current->lockdep_recursion -= LOCKDEP_OFF`.
///
/// # Safety
///
/// Must balance a previous [`lockdep_off`].
#[inline(always)]
pub(crate) unsafe fn lockdep_on() {
    #[cfg(CONFIG_LOCKDEP)]
    // SAFETY: See `lockdep_off()`.
    unsafe {
        let r = crate::entry_field!(super::arch::current(), task_struct, lockdep_recursion);
        r.write(r.read().wrapping_sub(crate::bindings::LOCKDEP_OFF));
    }
}

/// `WARN_ON_ONCE()` that is safe in `noinstr` code: a `ud2` plus a `__bug_table` entry, no call.
///
/// The flags are those of the C `WARN_ON_ONCE()` (`BUGFLAG_ONCE | BUGFLAG_TAINT(TAINT_WARN)`).
#[macro_export]
#[doc(hidden)]
macro_rules! entry_warn_on_once {
    ($cond:expr) => {{
        let cond: bool = $cond;
        if cond {
            $crate::warn_flags!(
                ::core::file!(),
                $crate::bindings::BUGFLAG_ONCE
                    | $crate::bug::bugflag_taint($crate::bindings::TAINT_WARN)
            );
        }
        cond
    }};
}

/// C `lockdep_assert_irqs_disabled()`:
/// `WARN_ON_ONCE(debug_locks && !this_cpu_read(lockdep_recursion) &&
/// this_cpu_read(hardirqs_enabled))`.
///
/// Safe outside instrumentation regions: plain loads and a `ud2` WARN.
#[inline(always)]
pub fn lockdep_assert_irqs_disabled() {
    #[cfg(CONFIG_PROVE_LOCKING)]
    {
        // SAFETY: `debug_locks` is a global `int`; a racy read is what the C macro does.
        let debug_locks =
            unsafe { core::ptr::read_volatile(&raw const crate::bindings::debug_locks) };
        let enabled = debug_locks != 0
            && super::arch::this_cpu_read_u32!(lockdep_recursion) == 0
            && super::arch::this_cpu_read_u32!(hardirqs_enabled) != 0;
        crate::entry_warn_on_once!(enabled);
    }
}
