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
