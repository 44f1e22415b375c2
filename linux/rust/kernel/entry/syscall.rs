// SPDX-License-Identifier: GPL-2.0

//! The work of a system call on entry and on exit, as typed steps.
//!
//! C header: [`include/linux/entry-common.h`](srctree/include/linux/entry-common.h)
//! (`syscall_trace_enter()`, `syscall_exit_work()`).
//!
//! The architecture's system call entry calls that work with interrupts enabled, inside an
//! instrumentation region, when the current task's `syscall_work` word has a bit of
//! `SYSCALL_WORK_ENTER` or `SYSCALL_WORK_EXIT` set. Its order is an ABI:
//!
//! - **Entry**: syscall user dispatch first (the system call may not be a Linux one at all, so
//!   nothing else may look at it), then the rseq time slice, then ptrace (the tracer may change
//!   the registers and the work word, which is read again), then seccomp (after ptrace, so a
//!   filter sees what the tracer made of the call), then the `sys_enter` tracepoint, then audit.
//!   Every step but the last two may veto the system call; the rest of the work is then skipped.
//! - **Exit**: the roll-back of a dispatched system call first (its ABI is unknown, so the
//!   tracers below are not told, as on entry), then audit, then the `sys_exit` tracepoint, then
//!   the ptrace exit stop or the single-step report.
//!
//! [`EnterWork`] and [`ExitWork`] hold the state of that work; each step consumes the work in
//! one state and returns it in the next, so only the order above compiles, and a veto is a
//! value ([`Skip`]) the caller has to pass on. A work that is dropped half done does not
//! compile either (see `Drop`). The C calls the steps make are methods of these types: nothing
//! else in the crate can make them.

use super::{arch::current, work::read_thread_flags, Instr, PtRegs};
use crate::{
    bindings,
    ffi::{c_int, c_long},
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    sync::atomic::{AtomicUsize, Ordering},
};

/// The `SYSCALL_WORK_*` bits of `thread_info.syscall_work` (`include/linux/thread_info.h`).
///
/// They are `BIT()` expressions over an enum, which bindgen cannot evaluate; the values come
/// from `RUST_CONST_HELPER_ENTRY_*` constants of `rust/bindings/bindings_helper.h`.
pub mod bits {
    use crate::bindings;

    /// `SYSCALL_WORK_SECCOMP`: a seccomp filter or strict mode is installed.
    pub const SECCOMP: usize = bindings::ENTRY_SYSCALL_WORK_SECCOMP;
    /// `SYSCALL_WORK_SYSCALL_TRACEPOINT`: the `sys_enter`/`sys_exit` tracepoints are on.
    pub const TRACEPOINT: usize = bindings::ENTRY_SYSCALL_WORK_SYSCALL_TRACEPOINT;
    /// `SYSCALL_WORK_SYSCALL_TRACE`: `PTRACE_SYSCALL`.
    pub const TRACE: usize = bindings::ENTRY_SYSCALL_WORK_SYSCALL_TRACE;
    /// `SYSCALL_WORK_SYSCALL_EMU`: `PTRACE_SYSEMU`.
    pub const EMU: usize = bindings::ENTRY_SYSCALL_WORK_SYSCALL_EMU;
    /// `SYSCALL_WORK_SYSCALL_AUDIT`.
    pub const AUDIT: usize = bindings::ENTRY_SYSCALL_WORK_SYSCALL_AUDIT;
    /// `SYSCALL_WORK_SYSCALL_USER_DISPATCH`.
    pub const USER_DISPATCH: usize = bindings::ENTRY_SYSCALL_WORK_SYSCALL_USER_DISPATCH;
    /// `SYSCALL_WORK_SYSCALL_EXIT_TRAP`: single-stepping (`TIF_SINGLESTEP` for the generic code).
    pub const EXIT_TRAP: usize = bindings::ENTRY_SYSCALL_WORK_SYSCALL_EXIT_TRAP;
    /// `SYSCALL_WORK_SYSCALL_RSEQ_SLICE`: an rseq time slice extension was granted.
    pub const RSEQ_SLICE: usize = bindings::ENTRY_SYSCALL_WORK_SYSCALL_RSEQ_SLICE;
    /// `SYSCALL_WORK_ENTER`: the bits `syscall_trace_enter()` handles.
    pub const ENTER: usize = bindings::ENTRY_SYSCALL_WORK_ENTER;
    /// `SYSCALL_WORK_EXIT`: the bits `syscall_exit_work()` handles.
    pub const EXIT: usize = bindings::ENTRY_SYSCALL_WORK_EXIT;
}

/// Reads the current task's `syscall_work` word (C
/// `READ_ONCE(current_thread_info()->syscall_work)`).
///
/// Other tasks (a tracer, a seccomp filter installed with `TSYNC`) set and clear its bits with
/// atomic bit operations; a relaxed atomic load is the `READ_ONCE()`.
#[inline(always)]
pub fn read_syscall_work() -> usize {
    // SAFETY: `current()` is the valid current task, which outlives this call; `thread_info` is
    // embedded in it and `syscall_work` is an `unsigned long` (layout checked by
    // `entry_field!()`), suitably aligned and only written atomically by others.
    let word = unsafe {
        AtomicUsize::from_ptr(crate::entry_field!(
            current(),
            task_struct,
            thread_info_syscall_work: thread_info.syscall_work
        ))
    };
    word.load(Ordering::Relaxed)
}

/// The verdict of a step that vetoed the system call (C `return false` of
/// `syscall_trace_enter()`): the caller must not run it and must leave the return value in the
/// registers as the work set it (`-ENOSYS`, a seccomp `errno`, a tracer's value).
#[must_use = "a vetoed system call must not run"]
pub struct Skip(());

/// The verdict of a completed entry work: the system call may run (C `return true`).
#[must_use = "the caller must know whether to run the system call"]
pub struct Permit(());

/// The end of the exit work, reached by running every step or by a roll-back.
#[must_use = "the exit work must be carried to its end"]
pub struct Done(());

/// A state of [`EnterWork`] or [`ExitWork`]. Every state is an unfinished work.
pub trait Step {
    /// True for every state: a work in it must be carried on, not dropped.
    const OPEN: bool = true;
}

/// The states of the entry work, named by the last step taken.
pub mod enter {
    /// Nothing done yet.
    pub struct Start;
    /// Syscall user dispatch did not take the system call.
    pub struct Dispatched;
    /// The rseq time slice is relinquished, if one was granted.
    pub struct Sliced;
    /// The ptrace entry stop let the system call through; the work word is read anew.
    pub struct Traced;
    /// seccomp allowed the system call.
    pub struct Filtered;
    /// The `sys_enter` tracepoint ran, if it is on.
    pub struct Announced;

    impl super::Step for Start {}
    impl super::Step for Dispatched {}
    impl super::Step for Sliced {}
    impl super::Step for Traced {}
    impl super::Step for Filtered {}
    impl super::Step for Announced {}
}

/// The states of the exit work, named by the last step taken.
pub mod exit {
    /// Nothing done yet.
    pub struct Start;
    /// The system call was not a dispatched one (no roll-back).
    pub struct Kept;
    /// Audit recorded the result.
    pub struct Audited;
    /// The `sys_exit` tracepoint ran, if it is on.
    pub struct Announced;

    impl super::Step for Start {}
    impl super::Step for Kept {}
    impl super::Step for Audited {}
    impl super::Step for Announced {}
}

/// The work on entry of a system call, in state `S` (one of [`enter`]).
///
/// Holds the [`Instr`] token: every step calls instrumentable C code.
#[must_use = "the entry work must be carried to a verdict"]
pub struct EnterWork<'a, S: Step> {
    ins: &'a Instr,
    regs: &'a PtRegs,
    work: usize,
    _state: PhantomData<S>,
}

impl<S: Step> Drop for EnterWork<'_, S> {
    #[inline(always)]
    fn drop(&mut self) {
        const {
            assert!(
                !S::OPEN,
                "a system call entry work was dropped half done: carry it to a verdict"
            )
        };
    }
}

impl<'a, S: Step> EnterWork<'a, S> {
    /// Moves the work into the next state without running `Drop` for this one.
    #[inline(always)]
    fn step<T: Step>(self) -> EnterWork<'a, T> {
        let this = ManuallyDrop::new(self);
        EnterWork {
            ins: this.ins,
            regs: this.regs,
            work: this.work,
            _state: PhantomData,
        }
    }

    /// Ends the work with a veto.
    #[inline(always)]
    fn skip(self) -> Skip {
        let _ = ManuallyDrop::new(self);
        Skip(())
    }

    /// True if any bit of `mask` is set in the work word as this state knows it.
    #[inline(always)]
    fn has(&self, mask: usize) -> bool {
        self.work & mask != 0
    }
}

impl<'a> EnterWork<'a, enter::Start> {
    /// Starts the entry work of a system call.
    ///
    /// # Safety
    ///
    /// Called once per system call from the architecture's entry (C
    /// `syscall_enter_from_user_mode_work()`), in task context with interrupts enabled and
    /// after the entry from user mode is complete; `regs` are the current task's user registers
    /// of this system call and `work` is the task's `syscall_work` word read there.
    #[inline(always)]
    pub unsafe fn new(ins: &'a Instr, regs: &'a PtRegs, work: usize) -> Self {
        EnterWork {
            ins,
            regs,
            work,
            _state: PhantomData,
        }
    }

    /// C `syscall_user_dispatch(regs)` if `SYSCALL_WORK_SYSCALL_USER_DISPATCH` is set: a system
    /// call from outside the allowed range while the selector says "block" is not run; the
    /// task gets `SIGSYS` instead.
    #[inline(always)]
    pub fn user_dispatch(self) -> Result<EnterWork<'a, enter::Dispatched>, Skip> {
        #[cfg(CONFIG_SYSCALL_USER_DISPATCH)]
        if self.has(bits::USER_DISPATCH)
            // SAFETY: Task context, interrupts enabled, the registers of this system call
            // (`new()`); the function may send a signal and rewrite them for the roll-back.
            && unsafe { bindings::syscall_user_dispatch(self.regs.as_raw()) }
        {
            return Err(self.skip());
        }
        Ok(self.step())
    }
}

impl<'a> EnterWork<'a, enter::Dispatched> {
    /// C `rseq_syscall_enter_work(syscall)` if `SYSCALL_WORK_SYSCALL_RSEQ_SLICE` is set: the
    /// task gives back an extended time slice. Empty without `CONFIG_RSEQ_SLICE_EXTENSION`.
    #[inline(always)]
    pub fn rseq_slice(self, _syscall: c_long) -> EnterWork<'a, enter::Sliced> {
        #[cfg(CONFIG_RSEQ_SLICE_EXTENSION)]
        if self.has(bits::RSEQ_SLICE) {
            // SAFETY: Task context, interrupts enabled (`new()`).
            unsafe { bindings::rseq_syscall_enter_work(_syscall) };
        }
        self.step()
    }
}

impl<'a> EnterWork<'a, enter::Sliced> {
    /// The ptrace entry stop if `SYSCALL_WORK_SYSCALL_TRACE` or `SYSCALL_WORK_SYSCALL_EMU` is
    /// set (C `arch_ptrace_report_syscall_permit_entry()`, which x86 does not override). A
    /// fatal signal during the stop, or `PTRACE_SYSEMU`, vetoes the system call. The tracer may
    /// have changed the work word during the stop, so it is read again.
    #[inline(always)]
    pub fn ptrace(mut self) -> Result<EnterWork<'a, enter::Traced>, Skip> {
        if self.has(bits::TRACE | bits::EMU) {
            if !ptrace_report_syscall(self.ins, bindings::ENTRY_PTRACE_EVENTMSG_SYSCALL_ENTRY)
                || self.has(bits::EMU)
            {
                return Err(self.skip());
            }
            self.work = read_syscall_work();
        }
        Ok(self.step())
    }
}

impl<'a> EnterWork<'a, enter::Traced> {
    /// C `__seccomp_permit_syscall()` if `SYSCALL_WORK_SECCOMP` is set: runs the filters on the
    /// system call as the tracer left it. A verdict other than "allow" vetoes it; the filter
    /// has set the return value or sent the signal.
    #[inline(always)]
    pub fn seccomp(self) -> Result<EnterWork<'a, enter::Filtered>, Skip> {
        #[cfg(CONFIG_SECCOMP)]
        if self.has(bits::SECCOMP)
            // SAFETY: Task context, interrupts enabled, in a system call of the current task
            // (`new()`).
            && !unsafe { bindings::__seccomp_permit_syscall() }
        {
            return Err(self.skip());
        }
        Ok(self.step())
    }
}

impl<'a> EnterWork<'a, enter::Filtered> {
    /// C `trace_syscall_enter(regs)` if `SYSCALL_WORK_SYSCALL_TRACEPOINT` is set.
    #[inline(always)]
    pub fn tracepoint(self) -> EnterWork<'a, enter::Announced> {
        if self.has(bits::TRACEPOINT) {
            // SAFETY: Task context, the registers of this system call (`new()`).
            unsafe { bindings::trace_syscall_enter(self.regs.as_raw()) };
        }
        self.step()
    }
}

impl<'a> EnterWork<'a, enter::Announced> {
    /// C `syscall_enter_audit(regs)` if the task has an audit context, the last step: the
    /// system call may run.
    #[inline(always)]
    pub fn audit(self) -> Permit {
        #[cfg(CONFIG_AUDITSYSCALL)]
        if has_audit_context() {
            // SAFETY: Task context, the registers of this system call (`new()`).
            unsafe { bindings::syscall_enter_audit(self.regs.as_raw()) };
        }
        let _ = ManuallyDrop::new(self);
        Permit(())
    }
}

/// The work on exit of a system call, in state `S` (one of [`exit`]).
#[must_use = "the exit work must be carried to its end"]
pub struct ExitWork<'a, S: Step> {
    ins: &'a Instr,
    regs: &'a PtRegs,
    work: usize,
    _state: PhantomData<S>,
}

impl<S: Step> Drop for ExitWork<'_, S> {
    #[inline(always)]
    fn drop(&mut self) {
        const {
            assert!(
                !S::OPEN,
                "a system call exit work was dropped half done: carry it to `ptrace()`"
            )
        };
    }
}

impl<'a, S: Step> ExitWork<'a, S> {
    /// Moves the work into the next state without running `Drop` for this one.
    #[inline(always)]
    fn step<T: Step>(self) -> ExitWork<'a, T> {
        let this = ManuallyDrop::new(self);
        ExitWork {
            ins: this.ins,
            regs: this.regs,
            work: this.work,
            _state: PhantomData,
        }
    }

    /// Ends the work.
    #[inline(always)]
    fn done(self) -> Done {
        let _ = ManuallyDrop::new(self);
        Done(())
    }

    /// True if any bit of `mask` is set in the work word.
    #[inline(always)]
    fn has(&self, mask: usize) -> bool {
        self.work & mask != 0
    }
}

impl<'a> ExitWork<'a, exit::Start> {
    /// Starts the exit work of a system call.
    ///
    /// # Safety
    ///
    /// Called once per system call from the architecture's exit (C
    /// `syscall_exit_to_user_mode_work()`), in task context with interrupts enabled; `regs`
    /// are the current task's user registers of this system call, its return value in place,
    /// and `work` is the task's `syscall_work` word read there.
    #[inline(always)]
    pub unsafe fn new(ins: &'a Instr, regs: &'a PtRegs, work: usize) -> Self {
        ExitWork {
            ins,
            regs,
            work,
            _state: PhantomData,
        }
    }

    /// C `syscall_user_dispatch_clear_on_dispatch()` if `SYSCALL_WORK_SYSCALL_USER_DISPATCH` is
    /// set: a system call that syscall user dispatch rolled back ends the work here (the
    /// tracers were not told of its entry either).
    #[inline(always)]
    pub fn user_dispatch(self) -> Result<ExitWork<'a, exit::Kept>, Done> {
        if self.has(bits::USER_DISPATCH) && clear_on_dispatch() {
            return Err(self.done());
        }
        Ok(self.step())
    }
}

impl<'a> ExitWork<'a, exit::Kept> {
    /// C `audit_syscall_exit(regs)`: records the result if the task has an audit context.
    #[inline(always)]
    pub fn audit(self) -> ExitWork<'a, exit::Audited> {
        #[cfg(CONFIG_AUDITSYSCALL)]
        if has_audit_context() {
            let ret = self.regs.syscall_return_value();
            // C `is_syscall_success()`: `!IS_ERR_VALUE(regs_return_value(regs))`.
            let success = (ret as usize) < bindings::ENTRY_MAX_ERRNO.wrapping_neg();
            // SAFETY: Task context, interrupts enabled, in the exit of a system call of the
            // current task, which has an audit context (`new()`).
            unsafe { bindings::__audit_syscall_exit(c_int::from(success), ret) };
        }
        self.step()
    }
}

impl<'a> ExitWork<'a, exit::Audited> {
    /// C `trace_syscall_exit(regs, syscall_get_return_value(current, regs))` if
    /// `SYSCALL_WORK_SYSCALL_TRACEPOINT` is set.
    #[inline(always)]
    pub fn tracepoint(self) -> ExitWork<'a, exit::Announced> {
        if self.has(bits::TRACEPOINT) {
            // SAFETY: Task context, the registers of this system call (`new()`).
            unsafe {
                bindings::trace_syscall_exit(self.regs.as_raw(), self.regs.syscall_return_value())
            };
        }
        self.step()
    }
}

impl<'a> ExitWork<'a, exit::Announced> {
    /// The last step: the ptrace exit stop if `SYSCALL_WORK_SYSCALL_TRACE` is set, or the
    /// single-step report if the task single-steps and is not under `PTRACE_SYSEMU` (C
    /// `report_single_step()` and `arch_ptrace_report_syscall_exit()`, which x86 does not
    /// override; the `SYSEMU` call was reported on entry already).
    #[inline(always)]
    pub fn ptrace(self) -> Done {
        let step = !self.has(bits::EMU) && self.has(bits::EXIT_TRAP);
        if step {
            // SAFETY: Task context, interrupts enabled, the registers of this system call
            // (`new()`): the report queues a `SIGTRAP` for the current task.
            unsafe { bindings::user_single_step_report(self.regs.as_raw()) };
        } else if self.has(bits::TRACE) {
            let _ = ptrace_report_syscall(self.ins, bindings::ENTRY_PTRACE_EVENTMSG_SYSCALL_EXIT);
        }
        self.done()
    }
}

/// C `ptrace_report_syscall(message)` (`include/linux/ptrace.h`): the ptrace stop of a system
/// call entry or exit. Returns false if the task has a fatal signal pending after the stop.
#[inline(always)]
fn ptrace_report_syscall(_ins: &Instr, message: usize) -> bool {
    // mirror: include/linux/ptrace.h ptrace_report_syscall()
    // C: int ptrace = current->ptrace;
    // C: int signr;
    // SAFETY: `current()` is the valid current task; `ptrace` is written by the tracer under
    // `siglock` while this task is stopped or by the task itself, a plain read is what C does.
    let ptrace = unsafe { crate::entry_field!(current(), task_struct, ptrace).read() };

    // C: if (!(ptrace & PT_PTRACED))
    // C:         return true;
    if ptrace & bindings::ENTRY_PT_PTRACED == 0 {
        return true;
    }

    // C: signr = ptrace_notify(SIGTRAP | ((ptrace & PT_TRACESYSGOOD) ? 0x80 : 0), message);
    let sysgood = if ptrace & bindings::ENTRY_PT_TRACESYSGOOD != 0 {
        0x80
    } else {
        0
    };
    // SAFETY: Task context with interrupts enabled (the callers' `new()`): the task stops until
    // the tracer resumes it.
    let signr = unsafe { bindings::ptrace_notify(bindings::ENTRY_SIGTRAP | sysgood, message) };

    // C: if (signr)
    // C:         send_sig(signr, current, 1);
    if signr != 0 {
        // SAFETY: `current()` is the valid current task; the tracer's signal is queued for it.
        unsafe { bindings::send_sig(signr, current(), 1) };
    }

    // C: return !fatal_signal_pending(current);
    !fatal_signal_pending()
}

/// C `fatal_signal_pending(current)`: `TIF_SIGPENDING` is set and `SIGKILL` is in the task's
/// private pending set.
#[inline(always)]
fn fatal_signal_pending() -> bool {
    if read_thread_flags() & super::work::TIF_SIGPENDING == 0 {
        return false;
    }
    // SAFETY: `current()` is the valid current task. `pending.signal` is changed under
    // `siglock`; C reads it without the lock too (`sigismember()`), a racy read only delays
    // the answer to the next check.
    let set = unsafe {
        crate::entry_field!(current(), task_struct, pending_signal: pending.signal.sig).read()
    };
    // `_NSIG_WORDS` is 1 on 64-bit: the set is one word, `SIGKILL` is bit `SIGKILL - 1`.
    let [word] = set;
    word & (1 << (bindings::ENTRY_SIGKILL - 1)) != 0
}

/// C `audit_context() != NULL` for the current task.
#[cfg(CONFIG_AUDITSYSCALL)]
#[inline(always)]
fn has_audit_context() -> bool {
    // SAFETY: `current()` is the valid current task; only the task itself sets or frees its
    // audit context.
    !unsafe { crate::entry_field!(current(), task_struct, audit_context).read() }.is_null()
}

/// C `syscall_user_dispatch_clear_on_dispatch()`: true, and the mark cleared, if syscall user
/// dispatch rolled this system call back on entry. False without
/// `CONFIG_SYSCALL_USER_DISPATCH`.
#[inline(always)]
fn clear_on_dispatch() -> bool {
    #[cfg(CONFIG_SYSCALL_USER_DISPATCH)]
    {
        // SAFETY: `current()` is the valid current task; `on_dispatch` is only written by the
        // task itself, in its own system calls.
        let on = unsafe {
            crate::entry_field!(
                current(),
                task_struct,
                syscall_dispatch_on_dispatch: syscall_dispatch.on_dispatch
            )
        };
        // SAFETY: As above: `on` is valid for the task's lifetime.
        if unsafe { on.read() } {
            // SAFETY: As above.
            unsafe { on.write(false) };
            return true;
        }
    }
    false
}
