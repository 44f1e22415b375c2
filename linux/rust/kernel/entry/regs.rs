// SPDX-License-Identifier: GPL-2.0

//! `struct pt_regs` view and `irqentry_state_t` for entry code.
//!
//! C header: [`include/linux/irq-entry-common.h`](srctree/include/linux/irq-entry-common.h).
//!
//! The accessors of the saved registers that differ between architectures (`user_mode()`,
//! `irqs_disabled()`) are in the architecture module ([`super::arch`]).

use crate::bindings;
use core::{
    cell::UnsafeCell,
    mem::{align_of, size_of, MaybeUninit},
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

crate::entry_struct!(pt_regs);

impl PtRegs {
    /// Creates a reference to a [`PtRegs`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct pt_regs` that stays valid for `'a`.
    ///
    /// A transmute, not `&*ptr`: with `CONFIG_RUST_DEBUG_ASSERTIONS`, `&*` on a raw pointer gets
    /// alignment and null checks in this crate's code, which call into `core::panicking` (`.text`)
    /// from the `noinstr` functions that inline this one.
    #[inline(always)]
    #[allow(clippy::transmute_ptr_to_ref)]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::pt_regs) -> &'a Self {
        // SAFETY: `PtRegs` is `repr(transparent)` over `UnsafeCell<pt_regs>`, which has the same
        // layout as `pt_regs`; validity is guaranteed by the caller.
        unsafe { core::mem::transmute::<*mut Self, &'a Self>(ptr.cast::<Self>()) }
    }

    /// Returns the raw pointer, for passing to C.
    #[inline(always)]
    pub fn as_raw(&self) -> *mut bindings::pt_regs {
        self.0.get()
    }

    /// C `kmsan_unpoison_entry_regs(regs)`: tells KMSAN that the frame the entry code wrote is
    /// initialised. Out-of-line and instrumentable with `CONFIG_KMSAN`, empty otherwise.
    #[inline(always)]
    pub fn kmsan_unpoison_entry_regs(&self, _ins: &super::Instr) {
        #[cfg(CONFIG_KMSAN)]
        // SAFETY: Inside an instrumentation region (`_ins`); the frame is valid (type
        // invariant) and the function only marks its bytes as initialised.
        unsafe {
            bindings::kmsan_unpoison_entry_regs(self.as_raw())
        };
    }
}

/// The state handed from `irqentry_enter()` to `irqentry_exit()`: whether the exit has to call
/// `ct_irq_exit()` (`.exit_rcu`). The NMI pair hands a `nmi::NmiState` (`.lockdep`) instead, a
/// different type over the same C union, so one cannot be passed where the other is expected.
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

// `bindings::irqentry_state_t` is `bindings::irqentry_state`; its layout is checked against C
// by `entry_struct!()` and `entry_field!()` below.
const _: () = {
    assert!(size_of::<IrqEntryState>() == 1);
    assert!(size_of::<IrqEntryState>() == size_of::<bindings::irqentry_state_t>());
    assert!(align_of::<IrqEntryState>() == align_of::<bindings::irqentry_state_t>());
};
crate::entry_struct!(irqentry_state);

impl IrqEntryState {
    /// State for `irqentry_enter()`/`irqentry_exit()`: whether the exit has to call
    /// `ct_irq_exit()`. Crate-private: the entry code gets it from `irq::Irq::into_state()`,
    /// which derives it from the steps taken, and cannot write it by hand.
    #[cfg(CONFIG_RUST_GENERIC_ENTRY)]
    #[inline(always)]
    pub(crate) const fn with_exit_rcu(exit_rcu: bool) -> Self {
        Self { flag: exit_rcu }
    }

    /// The `exit_rcu` member.
    #[inline(always)]
    pub const fn exit_rcu(self) -> bool {
        self.flag
    }

    /// The byte, whatever it means (`exit_rcu` here, `lockdep` in `nmi::NmiState`).
    #[cfg(CONFIG_RUST_GENERIC_ENTRY)]
    #[inline(always)]
    pub(crate) const fn flag(self) -> bool {
        self.flag
    }

    /// A state with the byte set to `flag`, for `nmi::NmiState`.
    #[cfg(CONFIG_RUST_GENERIC_ENTRY)]
    #[inline(always)]
    pub(crate) const fn from_flag(flag: bool) -> Self {
        Self { flag }
    }

    /// Converts to the C type, for returning it from the C ABI functions.
    #[inline(always)]
    pub const fn into_raw(self) -> bindings::irqentry_state_t {
        let mut raw = MaybeUninit::<bindings::irqentry_state_t>::zeroed();
        // SAFETY: `raw` is a zeroed `irqentry_state_t`, valid as such (a union of two `bool`s);
        // `exit_rcu` is its only byte (checked against C by `entry_field!()`), so writing it
        // initialises all of it.
        unsafe {
            crate::entry_field!(
                raw.as_mut_ptr(),
                irqentry_state,
                exit_rcu: __bindgen_anon_1.exit_rcu
            )
            .write(self.flag);
            raw.assume_init()
        }
    }

    /// Converts from the C type.
    ///
    /// Reads the byte as `u8` and normalises it, so a corrupted value cannot create an invalid
    /// `bool`.
    #[inline(always)]
    pub fn from_raw(mut raw: bindings::irqentry_state_t) -> Self {
        // SAFETY: `raw` is a valid `irqentry_state_t` whose `exit_rcu` (same byte as `lockdep`)
        // is one byte; reading it as `u8` is valid for any bit pattern.
        let byte = unsafe {
            crate::entry_field!(&mut raw, irqentry_state, exit_rcu: __bindgen_anon_1.exit_rcu)
                .cast::<u8>()
                .read()
        };
        Self { flag: byte != 0 }
    }
}
