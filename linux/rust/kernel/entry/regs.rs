// SPDX-License-Identifier: GPL-2.0

//! `struct pt_regs` view and `irqentry_state_t` for entry code.
//!
//! C headers: [`arch/x86/include/asm/ptrace.h`](srctree/arch/x86/include/asm/ptrace.h),
//! [`include/linux/irq-entry-common.h`](srctree/include/linux/irq-entry-common.h).

use crate::bindings;
use core::{
    cell::UnsafeCell,
    mem::{align_of, size_of},
};

/// The register frame of an exception, interrupt or syscall (`struct pt_regs`).
///
/// Transparent over `UnsafeCell<bindings::pt_regs>`: the frame is modified through raw pointers
/// by C code called from entry code (signal delivery, rseq fixups, ptrace), so a Rust reference
/// to it must not assume immutability.
///
/// Accessors use `UnsafeCell::get()` (`#[inline(always)]` in `core`) so they compile to plain
/// loads in `noinstr` code.
#[repr(transparent)]
pub struct PtRegs(UnsafeCell<bindings::pt_regs>);

impl PtRegs {
    /// Creates a reference to a [`PtRegs`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct pt_regs` that stays valid for `'a`.
    #[inline(always)]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::pt_regs) -> &'a Self {
        // SAFETY: `PtRegs` is `repr(transparent)` over `UnsafeCell<pt_regs>`, which has the same
        // layout as `pt_regs`; validity is guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw pointer, for passing to C.
    #[inline(always)]
    pub fn as_raw(&self) -> *mut bindings::pt_regs {
        self.0.get()
    }

    /// Returns the saved `cs` selector.
    ///
    /// In `struct pt_regs` (x86_64), `cs` is a `u16` inside an anonymous union with `csx` and
    /// `fred_cs`; bindgen names that union `__bindgen_anon_1` (the second one, holding `ss`, is
    /// `__bindgen_anon_2`).
    #[inline(always)]
    pub fn cs(&self) -> u16 {
        // SAFETY: `self.0.get()` is valid (type invariant). All members of the union are plain
        // integers or bitfields over the same bytes, so reading `cs` is always defined.
        unsafe { (*self.0.get()).__bindgen_anon_1.cs }
    }

    /// Returns the saved RFLAGS.
    #[inline(always)]
    pub fn flags(&self) -> usize {
        // SAFETY: `self.0.get()` is valid (type invariant).
        unsafe { (*self.0.get()).flags }
    }

    /// Returns true if the frame was created by an entry from user mode.
    ///
    /// C `user_mode()` on x86_64: `!!(regs->cs & 3)`.
    #[inline(always)]
    pub fn user_mode(&self) -> bool {
        self.cs() & 3 != 0
    }

    /// Returns true if interrupts were disabled in the interrupted context.
    ///
    /// C `regs_irqs_disabled()`: `!(regs->flags & X86_EFLAGS_IF)`.
    #[inline(always)]
    pub fn irqs_disabled(&self) -> bool {
        self.flags() & bindings::ENTRY_X86_EFLAGS_IF == 0
    }
}

/// The state handed from `irqentry_*enter()` to the matching `irqentry_*exit()`.
///
/// Layout-identical to C `irqentry_state_t`:
///
/// ```c
/// typedef struct irqentry_state {
///         union {
///                 bool exit_rcu;
///                 bool lockdep;
///         };
/// } irqentry_state_t;
/// ```
///
/// i.e. one byte, 0 or 1, passed and returned in a register. The meaning of the byte is ABI:
/// Xen PV (`xen_pv_evtchn_do_upcall()`) reads `.exit_rcu` directly.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqEntryState {
    flag: bool,
}

const _: () = {
    assert!(size_of::<IrqEntryState>() == 1);
    assert!(size_of::<IrqEntryState>() == size_of::<bindings::irqentry_state_t>());
    assert!(align_of::<IrqEntryState>() == align_of::<bindings::irqentry_state_t>());
};

impl IrqEntryState {
    /// State for `irqentry_enter()`/`irqentry_exit()`: whether the exit has to call
    /// `ct_irq_exit()`.
    #[inline(always)]
    pub const fn with_exit_rcu(exit_rcu: bool) -> Self {
        Self { flag: exit_rcu }
    }

    /// State for `irqentry_nmi_enter()`/`irqentry_nmi_exit()`: whether lockdep saw hardirqs
    /// enabled before the NMI.
    #[inline(always)]
    pub const fn with_lockdep(lockdep: bool) -> Self {
        Self { flag: lockdep }
    }

    /// The `exit_rcu` member.
    #[inline(always)]
    pub const fn exit_rcu(self) -> bool {
        self.flag
    }

    /// The `lockdep` member (same byte as `exit_rcu`).
    #[inline(always)]
    pub const fn lockdep(self) -> bool {
        self.flag
    }

    /// Converts to the C type, for returning it from the C ABI functions.
    #[inline(always)]
    pub const fn into_raw(self) -> bindings::irqentry_state_t {
        bindings::irqentry_state_t {
            __bindgen_anon_1: bindings::irqentry_state__bindgen_ty_1 {
                exit_rcu: self.flag,
            },
        }
    }

    /// Converts from the C type.
    ///
    /// Reads the byte as `u8` and normalises it, so a corrupted value cannot create an invalid
    /// `bool`.
    #[inline(always)]
    pub fn from_raw(raw: bindings::irqentry_state_t) -> Self {
        // SAFETY: `irqentry_state_t` is one byte (asserted above); reading it as `u8` is valid
        // for any bit pattern.
        let byte = unsafe { core::ptr::read((&raw const raw).cast::<u8>()) };
        Self { flag: byte != 0 }
    }
}
