// SPDX-License-Identifier: GPL-2.0

//! The interrupt state of this CPU, as proofs.
//!
//! C header: [`include/linux/irqflags.h`](srctree/include/linux/irqflags.h).
//!
//! Most of the entry code may only run with interrupts disabled, and the exit work loop runs its
//! work with interrupts enabled, then disables them again before it reads the work flags once
//! more. In C these rules are comments and `lockdep_assert_irqs_disabled()`; here they are
//! tokens, and the wrappers of C functions that need one of the states take the token by
//! reference instead of being `unsafe`:
//!
//! - [`IrqsOff`]: interrupts are disabled on this CPU, in the task context of an entry or an
//!   exit. The typed contexts of [`super::irq`] hold one from the moment the entry function
//!   starts; the out-of-line functions whose C callers promise it create one at their start.
//! - [`ToUser`]: an [`IrqsOff`] of a task on its way back to user mode, the only place where
//!   the entry code enables interrupts for a while ([`ToUser::enable`]).
//! - [`IrqsOn`]: interrupts are enabled, in the exit work loop of such a task: it may sleep.
//!   Made by [`ToUser::enable`] (C `local_irq_enable()`), which borrows the [`ToUser`] mutably
//!   for as long as the [`IrqsOn`] lives, so nothing that needs interrupts disabled can be
//!   called meanwhile. Ended by [`IrqsOn::disable`] (C `local_irq_disable()`), or by dropping
//!   it, which disables them as well: no path can leave the loop with interrupts enabled.
//!
//! - [`MaySleep`]: a token of a context where the task may sleep: an [`IrqsOn`], or
//!   `virt::ToGuest` before a vCPU enters guest mode. The work both share (`schedule()`, the
//!   notify-resume callbacks) takes it.
//!
//! None of the tokens is `Copy`, `Clone`, `Send` or `Sync`. As with any guard, leaking an
//! [`IrqsOn`] (`core::mem::forget()`) would leave interrupts enabled with the [`ToUser`] usable
//! again. The entry code never leaks one, and a loop round without its `disable()` does not
//! compile: the next call needs the [`ToUser`] the [`IrqsOn`] still borrows.

use super::Instr;
use core::marker::PhantomData;

/// Proof that interrupts are disabled on this CPU, in the task context of an entry or exit.
pub struct IrqsOff {
    _not_send_sync: PhantomData<*mut ()>,
}

impl IrqsOff {
    /// Creates the proof.
    ///
    /// # Safety
    ///
    /// Interrupts are disabled on this CPU and stay disabled for as long as the token lives
    /// (the only way to enable them in between is [`ToUser::enable`], which borrows the
    /// token), in the task context of an entry or an exit.
    #[inline(always)]
    pub const unsafe fn assume() -> Self {
        Self {
            _not_send_sync: PhantomData,
        }
    }

    /// Carries the proof of a typed context into its next state.
    ///
    /// Only for the contexts of this module's siblings, which hold a token already: the new one
    /// replaces it.
    #[inline(always)]
    pub(super) const fn carry(&self) -> Self {
        Self {
            _not_send_sync: PhantomData,
        }
    }
}

/// Proof that interrupts are disabled on this CPU, in a task that returns to user mode.
///
/// Dereferences to [`IrqsOff`].
pub struct ToUser {
    off: IrqsOff,
}

impl ToUser {
    /// Creates the proof.
    ///
    /// # Safety
    ///
    /// The requirements of [`IrqsOff::assume`], and the current task returns to user mode
    /// (from a system call, an interrupt or an exception of user mode) once the token is gone.
    #[inline(always)]
    pub const unsafe fn assume() -> Self {
        Self {
            // SAFETY: The caller promises what `IrqsOff::assume()` requires.
            off: unsafe { IrqsOff::assume() },
        }
    }

    /// Carries the proof of a typed context of a return to user mode (see [`IrqsOff::carry`]).
    #[inline(always)]
    pub(super) const fn carry(off: &IrqsOff) -> Self {
        Self { off: off.carry() }
    }

    /// C `local_irq_enable()`: tracing first (`trace_hardirqs_on()`), then
    /// `raw_local_irq_enable()`.
    ///
    /// `raw_local_irq_enable()` is the architecture's ([`super::arch`]): on x86 a `sti` without
    /// `PARAVIRT_XXL`, a C shim with it.
    ///
    /// The returned [`IrqsOn`] borrows `self` until interrupts are disabled again.
    #[inline(always)]
    pub fn enable<'a>(&'a mut self, ins: &'a Instr) -> IrqsOn<'a> {
        // C: tracing first, while interrupts are still off.
        #[cfg(CONFIG_TRACE_IRQFLAGS)]
        // SAFETY: Out-of-line and instrumentable: `ins` allows it. Interrupts are disabled
        // (`self`) and are enabled right below.
        unsafe {
            crate::bindings::trace_hardirqs_on()
        };
        // SAFETY: Interrupts may be enabled: the task returns to user mode (`self`), and nothing
        // that needs them disabled can run until the `IrqsOn` that borrows `self` is gone,
        // whose drop disables them.
        unsafe { super::arch::raw_local_irq_enable() };
        IrqsOn {
            _ins: ins,
            _off: PhantomData,
        }
    }
}

impl core::ops::Deref for ToUser {
    type Target = IrqsOff;

    #[inline(always)]
    fn deref(&self) -> &IrqsOff {
        &self.off
    }
}

/// Proof that interrupts are enabled, in the exit work loop of a task that returns to user
/// mode: the task may sleep. See [`ToUser::enable`].
#[must_use = "dropping it disables interrupts at once"]
pub struct IrqsOn<'a> {
    _ins: &'a Instr,
    _off: PhantomData<&'a mut ToUser>,
}

/// A token of a context in which the current task may sleep: interrupts and preemption are
/// enabled and no lock is held.
///
/// Sealed: only the tokens of this crate implement it ([`IrqsOn`], and `virt::ToGuest`).
pub trait MaySleep: private::Sealed {}

mod private {
    /// Keeps [`super::MaySleep`] to the tokens of this crate.
    pub trait Sealed {}
    impl Sealed for super::IrqsOn<'_> {}
    #[cfg(CONFIG_VIRT_XFER_TO_GUEST_WORK)]
    impl Sealed for super::super::virt::ToGuest {}
}

impl MaySleep for IrqsOn<'_> {}

impl IrqsOn<'_> {
    /// C `local_irq_disable()`: `raw_local_irq_disable()`, then `trace_hardirqs_off()` if
    /// interrupts were enabled before. Gives the [`ToUser`] back.
    #[inline(always)]
    pub fn disable(self) {
        // `Drop` does it, so that no path leaves the loop with interrupts enabled.
    }
}

impl Drop for IrqsOn<'_> {
    /// See [`IrqsOn::disable`].
    ///
    /// `raw_local_irq_disable()` is the architecture's, as in [`ToUser::enable`]; the test of
    /// the previous state reads the hardware flags (`raw_irqs_disabled()`).
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(CONFIG_TRACE_IRQFLAGS)]
        let was_disabled = super::arch::raw_irqs_disabled();
        // SAFETY: Disabling interrupts is always allowed; the `ToUser` this borrowed says so
        // again once `self` is gone.
        unsafe { super::arch::raw_local_irq_disable() };
        #[cfg(CONFIG_TRACE_IRQFLAGS)]
        if !was_disabled {
            // SAFETY: Out-of-line and instrumentable: an `IrqsOn` is only made with an
            // `Instr` (`_ins`). Interrupts are disabled now, as the function requires.
            unsafe { crate::bindings::trace_hardirqs_off() };
        }
    }
}
