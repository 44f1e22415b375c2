// SPDX-License-Identifier: GPL-2.0

//! KUnit tests for the guest-transfer work, `xfer_to_guest_mode_handle_work()`.
//!
//! The tests call the C-ABI symbol through `bindings`, so they test whichever implementation is
//! linked: `kernel/entry/virt.c` (`RUST_GENERIC_ENTRY=n`) or `kernel/entry/virt_rs.rs`
//! (`RUST_GENERIC_ENTRY=y`). KVM calls the function before it enters guest mode; here a KUnit
//! case (a kernel thread, interrupts and preemption enabled, like a vCPU's task in KVM's outer
//! loop) sets the thread flags a signal, a reschedule or a task work would set, and checks what
//! the function returns and what it leaves behind.
//!
//! A kernel thread has no real signal to take: the tests set and clear `TIF_SIGPENDING` and
//! `TIF_NOTIFY_SIGNAL` themselves, around the call only.

use core::{
    ffi::c_int,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{
    bindings,
    entry::{self, work},
    entry_field,
    macros::kunit_tests,
};

/// The current task's thread flags, as the atomic C treats them as.
fn flags() -> &'static AtomicUsize {
    // SAFETY: `current()` is the valid current task, which outlives the test; `thread_info.flags`
    // is an aligned `unsigned long` (layout checked by `entry_field!()`) that others only change
    // with atomic bit operations.
    unsafe {
        AtomicUsize::from_ptr(entry_field!(
            entry::current(),
            task_struct,
            thread_info_flags: thread_info.flags
        ))
    }
}

/// Sets `mask` in the current task's thread flags.
fn set_flags(mask: usize) {
    flags().fetch_or(mask, Ordering::Relaxed);
}

/// Clears `mask` in the current task's thread flags.
fn clear_flags(mask: usize) {
    flags().fetch_and(!mask, Ordering::Relaxed);
}

/// C `xfer_to_guest_mode_handle_work()`, from a KUnit case's kernel thread.
fn xfer() -> c_int {
    // SAFETY: Task context, interrupts and preemption enabled, no locks held: the context of a
    // vCPU's task in the outer loop of its run, which is all the function needs.
    unsafe { bindings::xfer_to_guest_mode_handle_work() }
}

/// How often [`count_run`] ran.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// A task work that counts its runs.
///
/// # Safety
///
/// Called by `task_work_run()` only.
unsafe extern "C" fn count_run(_head: *mut bindings::callback_head) {
    RUNS.fetch_add(1, Ordering::Relaxed);
}

/// A task work that counts its runs and then makes a signal pending, as a task work that sends
/// one would.
///
/// # Safety
///
/// Called by `task_work_run()` only.
unsafe extern "C" fn count_run_then_signal(_head: *mut bindings::callback_head) {
    RUNS.fetch_add(1, Ordering::Relaxed);
    set_flags(work::TIF_SIGPENDING);
}

/// A task work queued on the current task with `TWA_RESUME` (which sets `TIF_NOTIFY_RESUME`),
/// cancelled on drop if it has not run.
struct QueuedWork {
    head: bindings::callback_head,
}

impl QueuedWork {
    /// Queues `func` on the current task; `RUNS` is reset to 0 first.
    fn queue(
        func: unsafe extern "C" fn(*mut bindings::callback_head),
    ) -> Option<kernel::alloc::KBox<Self>> {
        RUNS.store(0, Ordering::Relaxed);
        let mut w = kernel::alloc::KBox::new(
            QueuedWork {
                head: bindings::callback_head {
                    next: core::ptr::null_mut(),
                    func: Some(func),
                },
            },
            kernel::alloc::flags::GFP_KERNEL,
        )
        .ok()?;
        // SAFETY: `current()` is the valid current task; `w.head` lives in a box that is only
        // freed after the work ran or was cancelled (`Drop`).
        let ret = unsafe {
            bindings::task_work_add(
                entry::current(),
                &mut w.head,
                bindings::task_work_notify_mode_TWA_RESUME,
            )
        };
        (ret == 0).then_some(w)
    }
}

impl Drop for QueuedWork {
    fn drop(&mut self) {
        // SAFETY: `current()` is the task the work was queued on; cancelling a work that already
        // ran finds nothing and returns false.
        unsafe { bindings::task_work_cancel(entry::current(), &mut self.head) };
    }
}

#[kunit_tests(generic_entry_virt)]
mod tests {
    use super::*;

    /// The work bits of the tests are clear at the start of each (a kernel thread has no
    /// signals, and a KUnit case queues no task work).
    fn no_test_bits() -> bool {
        read_bits() == 0
    }

    /// The thread flags of the tests that are set now.
    fn read_bits() -> usize {
        work::read_thread_flags()
            & (work::TIF_SIGPENDING | work::TIF_NOTIFY_SIGNAL | work::TIF_NOTIFY_RESUME)
    }

    #[test]
    fn xfer_without_work_returns_zero() {
        assert!(no_test_bits());
        assert_eq!(xfer(), 0);
        assert_eq!(read_bits(), 0);
    }

    /// A pending signal ends the work with `-EINTR` before anything else runs: the queued task
    /// work does not run and `TIF_NOTIFY_RESUME` stays set; the signal flag is left for the
    /// signal delivery. Without the signal, the next call runs the task work and clears
    /// `TIF_NOTIFY_RESUME`.
    #[test]
    fn xfer_signal_first_then_task_work() {
        assert!(no_test_bits());
        let w = QueuedWork::queue(count_run);
        assert!(w.is_some());
        let queued = read_bits();

        set_flags(work::TIF_SIGPENDING);
        let with_signal = xfer();
        let after_signal = read_bits();
        let runs_with_signal = RUNS.load(Ordering::Relaxed);
        clear_flags(work::TIF_SIGPENDING);

        let without_signal = xfer();
        let after = read_bits();
        let runs = RUNS.load(Ordering::Relaxed);
        drop(w);

        assert_eq!(queued, work::TIF_NOTIFY_RESUME);
        assert_eq!(with_signal, -(bindings::EINTR as c_int));
        assert_eq!(after_signal, work::TIF_SIGPENDING | work::TIF_NOTIFY_RESUME);
        assert_eq!(runs_with_signal, 0);
        assert_eq!(without_signal, 0);
        assert_eq!(after, 0);
        assert_eq!(runs, 1);
    }

    /// `TIF_NOTIFY_SIGNAL` (task work queued with `TWA_SIGNAL`) ends the work like a signal.
    #[test]
    fn xfer_notify_signal_is_eintr() {
        assert!(no_test_bits());
        set_flags(work::TIF_NOTIFY_SIGNAL);
        let ret = xfer();
        let after = read_bits();
        clear_flags(work::TIF_NOTIFY_SIGNAL);

        assert_eq!(ret, -(bindings::EINTR as c_int));
        assert_eq!(after, work::TIF_NOTIFY_SIGNAL);
    }

    /// A requested reschedule schedules: `schedule()` clears `TIF_NEED_RESCHED`, and the work
    /// returns 0.
    #[test]
    fn xfer_need_resched_schedules() {
        assert!(no_test_bits());
        set_flags(work::TIF_NEED_RESCHED);
        let ret = xfer();
        let resched_after = work::need_resched();

        assert_eq!(ret, 0);
        assert!(!resched_after);
        assert_eq!(read_bits(), 0);
    }

    /// The flags are read again after each round: a signal made pending by the task work of
    /// the first round ends the second with `-EINTR`.
    #[test]
    fn xfer_reads_flags_again_after_work() {
        assert!(no_test_bits());
        let w = QueuedWork::queue(count_run_then_signal);
        assert!(w.is_some());

        let ret = xfer();
        let after = read_bits();
        let runs = RUNS.load(Ordering::Relaxed);
        clear_flags(work::TIF_SIGPENDING);
        drop(w);

        assert_eq!(ret, -(bindings::EINTR as c_int));
        assert_eq!(after, work::TIF_SIGPENDING);
        assert_eq!(runs, 1);
    }
}
