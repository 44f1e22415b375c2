// SPDX-License-Identifier: GPL-2.0

//! The preemption count and the NMI accounting in it.
//!
//! C headers: [`include/linux/preempt.h`](srctree/include/linux/preempt.h),
//! [`include/linux/hardirq.h`](srctree/include/linux/hardirq.h).
//!
//! The reads are public: tests and samples compare the count before and after an entry. The
//! NMI accounting is the entry code's own (`pub(crate)`, only [`super::nmi`] uses it); its
//! per-CPU instructions come from the architecture ([`super::arch`]).

use super::arch;
use crate::{
    bindings,
    str::{CStr, CStrExt},
};

/// `HARDIRQ_OFFSET`.
pub const HARDIRQ_OFFSET: usize = bindings::ENTRY_HARDIRQ_OFFSET;
/// `NMI_OFFSET`.
pub const NMI_OFFSET: usize = bindings::ENTRY_NMI_OFFSET;
/// `NMI_MASK`.
pub const NMI_MASK: usize = bindings::ENTRY_NMI_MASK;
/// `HARDIRQ_MASK`.
pub const HARDIRQ_MASK: usize = bindings::ENTRY_HARDIRQ_MASK;

/// Returns the preemption count without the need-resched bit (C `preempt_count()`).
#[inline(always)]
pub fn preempt_count() -> usize {
    arch::preempt_count_raw() & !arch::PREEMPT_NEED_RESCHED
}

/// Returns true in NMI context (C `in_nmi()`).
///
/// # Examples
///
/// ```
/// use kernel::entry::preempt;
///
/// // A doctest runs in a KUnit kernel thread: task context.
/// assert!(!preempt::in_nmi());
/// assert!(!preempt::in_hardirq());
/// ```
#[inline(always)]
pub fn in_nmi() -> bool {
    preempt_count() & NMI_MASK != 0
}

/// Returns true in hard interrupt context, NMIs included (C `in_hardirq()`).
#[inline(always)]
pub fn in_hardirq() -> bool {
    preempt_count() & HARDIRQ_MASK != 0
}

/// Returns the preemption model the kernel runs with, as the boot log names it (C
/// `preempt_model_str()`): `NONE`, `VOLUNTARY`, `PREEMPT`, `PREEMPT_RT`, and with
/// `CONFIG_PREEMPT_DYNAMIC` the mode chosen at boot, as in `PREEMPT(full)`.
///
/// Not for noinstr code: an ordinary out-of-line call.
///
/// # Examples
///
/// ```
/// let model = kernel::entry::preempt::model().to_bytes();
/// assert!(model.starts_with(b"PREEMPT") || model == b"VOLUNTARY" || model == b"NONE");
/// ```
pub fn model() -> &'static CStr {
    // SAFETY: `preempt_model_str()` has no preconditions and returns a NUL-terminated string:
    // a literal, or a static buffer that each call fills with the same text (the model is
    // fixed at boot), so the string stays valid and unchanged.
    unsafe { CStr::from_char_ptr(bindings::preempt_model_str()) }
}

// The NMI accounting, C `__preempt_count_nmi_enter()`/`__preempt_count_nmi_exit()`
// (`__preempt_count_add/sub(NMI_OFFSET + HARDIRQ_OFFSET)`): one per-CPU instruction each, the
// architecture's. Crate-private: only the typed NMI context ([`super::nmi`]) takes these steps.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
pub(crate) use super::arch::{
    preempt_count_add_nmi as preempt_count_nmi_enter,
    preempt_count_sub_nmi as preempt_count_nmi_exit, //
};
