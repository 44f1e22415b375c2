// SPDX-License-Identifier: GPL-2.0

//! The work a task does before it enters guest mode.
//!
//! C header: [`include/linux/entry-virt.h`](srctree/include/linux/entry-virt.h).
//!
//! A hypervisor (KVM) runs a vCPU in a loop of its task: it enters guest mode, handles the exit,
//! and enters again. Before each entry, in the outer part of that loop where the task may still
//! sleep, it hands the work that would otherwise be done on the way to user mode to
//! `xfer_to_guest_mode_handle_work()`:
//!
//! - a pending signal (or `TIF_NOTIFY_SIGNAL`) ends the vCPU run with `-EINTR`, so that the
//!   signal is delivered on the way back to the task's user mode; nothing else is done then;
//! - a requested reschedule schedules;
//! - `TIF_NOTIFY_RESUME` runs the task work and the other notify-resume callbacks;
//!
//! and does so again while work is pending (a new signal, a new reschedule).
//!
//! [`ToGuest`] is the proof of that context; with it, the work of the exit loop that needs a
//! task that may sleep ([`MaySleep`]) can be called.

use super::{
    irqflags::MaySleep,
    work::{
        TIF_NEED_RESCHED, TIF_NEED_RESCHED_LAZY, TIF_NOTIFY_RESUME, TIF_NOTIFY_SIGNAL,
        TIF_SIGPENDING,
    },
};
use crate::bindings;
use core::marker::PhantomData;

/// C `XFER_TO_GUEST_MODE_WORK`: the thread flags that make the task do work before it enters
/// guest mode (with the architecture's `ARCH_XFER_TO_GUEST_MODE_WORK`, none on x86).
pub const XFER_TO_GUEST_MODE_WORK: usize = bindings::ENTRY_XFER_TO_GUEST_MODE_WORK;

/// A signal ends the run: `_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL`.
pub const XFER_SIGNAL: usize = TIF_SIGPENDING | TIF_NOTIFY_SIGNAL;

/// A reschedule was requested: `_TIF_NEED_RESCHED | _TIF_NEED_RESCHED_LAZY`.
pub const XFER_RESCHED: usize = TIF_NEED_RESCHED | TIF_NEED_RESCHED_LAZY;

// The three groups the loop handles are the whole mask: a bit added to `XFER_TO_GUEST_MODE_WORK`
// (by the architecture or in C) that the loop would not handle fails the build here instead of
// spinning in the loop.
const _: () = assert!(XFER_TO_GUEST_MODE_WORK == XFER_SIGNAL | XFER_RESCHED | TIF_NOTIFY_RESUME);

/// Proof that the current task is a vCPU's task about to enter guest mode, in the outer loop:
/// task context, interrupts and preemption enabled, no locks held. The task may sleep.
pub struct ToGuest {
    _not_send_sync: PhantomData<*mut ()>,
}

impl ToGuest {
    /// Creates the proof.
    ///
    /// # Safety
    ///
    /// The caller is `xfer_to_guest_mode_handle_work()`, which the hypervisor calls from the
    /// outer loop of a vCPU run (see the type): interrupts and preemption enabled, no locks
    /// held, in task context.
    #[inline(always)]
    pub const unsafe fn assume() -> Self {
        Self {
            _not_send_sync: PhantomData,
        }
    }
}

impl MaySleep for ToGuest {}
