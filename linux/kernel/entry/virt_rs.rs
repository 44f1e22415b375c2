// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of the guest-transfer work of the generic entry code.
//!
//! With `CONFIG_RUST_GENERIC_ENTRY=y`, `kernel/entry/virt.c` keeps only the export of
//! `xfer_to_guest_mode_handle_work()` (for KVM, which may be a module), and this object defines
//! the function with the same C ABI. It is ordinary instrumentable `.text`, called by the
//! hypervisor in the outer loop of a vCPU run, where the task may sleep (see
//! `kernel::entry::virt`).
//!
//! The `// mirror:` and `// C:` comments name the C statements each part stands for;
//! `scripts/rust_entry_mirror.py` checks them against the C code of the tree before this object
//! is built (`kernel/entry/Makefile`).

use kernel::{
    bindings,
    entry::{
        arch,
        virt::{ToGuest, XFER_RESCHED, XFER_SIGNAL, XFER_TO_GUEST_MODE_WORK},
        work::{self, TIF_NOTIFY_RESUME},
        Instr,
    },
    ffi::c_int,
    macros::export,
};

/// C `xfer_to_guest_mode_handle_work()`: handles the work that is pending before the current
/// task enters guest mode. Returns 0 when the task may enter guest mode, `-EINTR` when a signal
/// is pending (the vCPU run ends so that it is delivered), or the error of the architecture's
/// work.
///
/// Ordering: a pending signal is checked first and ends the work before anything else runs;
/// then a requested reschedule, then the notify-resume work, then the architecture's; the flags
/// are read again after each round, until none of `XFER_TO_GUEST_MODE_WORK` is set.
///
/// # Safety
///
/// Called by the hypervisor from the outer loop of a vCPU run: task context, interrupts and
/// preemption enabled, no locks held.
#[export]
pub unsafe extern "C" fn xfer_to_guest_mode_handle_work() -> c_int {
    // SAFETY: Ordinary instrumentable `.text` (not `noinstr`); the context is the one of a vCPU
    // run's outer loop (the caller).
    let (ins, guest) = unsafe { (Instr::assume_instrumentable(), ToGuest::assume()) };

    // mirror: kernel/entry/virt.c xfer_to_guest_mode_handle_work()
    // C: unsigned long ti_work;
    // C: ti_work = read_thread_flags();
    let ti_work = work::read_thread_flags();
    // C: if (!(ti_work & XFER_TO_GUEST_MODE_WORK))
    // C:         return 0;
    if ti_work & XFER_TO_GUEST_MODE_WORK == 0 {
        return 0;
    }
    // C: return xfer_to_guest_mode_work(ti_work);
    xfer_to_guest_mode_work(&ins, &guest, ti_work)
}

/// C `xfer_to_guest_mode_work(ti_work)`: the loop of [`xfer_to_guest_mode_handle_work`].
#[inline(always)]
fn xfer_to_guest_mode_work(ins: &Instr, guest: &ToGuest, mut ti_work: usize) -> c_int {
    // mirror: kernel/entry/virt.c xfer_to_guest_mode_work()
    // C: do {
    // C:         int ret;
    loop {
        // C: if (ti_work & (_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL))
        // C:         return -EINTR;
        if ti_work & XFER_SIGNAL != 0 {
            return -(bindings::EINTR as c_int);
        }

        // C: if (ti_work & (_TIF_NEED_RESCHED | _TIF_NEED_RESCHED_LAZY))
        // C:         schedule();
        if ti_work & XFER_RESCHED != 0 {
            work::schedule(ins, guest);
        }

        // C: if (ti_work & _TIF_NOTIFY_RESUME)
        // C:         resume_user_mode_work(NULL);
        if ti_work & TIF_NOTIFY_RESUME != 0 {
            work::resume_user_mode_work(ins, guest, None);
        }

        // C: ret = arch_xfer_to_guest_mode_handle_work(ti_work);
        // C: if (ret)
        // C:         return ret;
        let ret = arch::arch_xfer_to_guest_mode_handle_work(ins, guest, ti_work);
        if ret != 0 {
            return ret;
        }

        // C: ti_work = read_thread_flags();
        // C: } while (ti_work & XFER_TO_GUEST_MODE_WORK);
        // C: return 0;
        ti_work = work::read_thread_flags();
        if ti_work & XFER_TO_GUEST_MODE_WORK == 0 {
            return 0;
        }
    }
}
