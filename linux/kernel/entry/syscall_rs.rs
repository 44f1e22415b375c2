// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of the system call work of the generic entry code.
//!
//! With `CONFIG_RUST_GENERIC_ENTRY=y`, `include/linux/entry-common.h` declares the two
//! functions below instead of defining them as `static __always_inline`, and this object
//! defines them with the same C ABI:
//!
//! - `syscall_trace_enter()`: from `syscall_enter_from_user_mode_work()`, when the task's
//!   `syscall_work` has a bit of `SYSCALL_WORK_ENTER`;
//! - `syscall_exit_work()`: from `syscall_exit_to_user_mode_work()`, when it has a bit of
//!   `SYSCALL_WORK_EXIT`.
//!
//! Both are ordinary instrumentable `.text`: the architecture calls them inside an
//! instrumentation region, with interrupts enabled, in the context of the current task. The
//! fast path of a system call without work never gets here; its cost does not change.
//!
//! The order of the steps is the one of `kernel::entry::syscall`'s typed work (see there): each
//! step consumes the work and returns it in the next state, so the chains below are the only
//! order that compiles. The `// mirror:` and `// C:` comments name the C statements each step
//! stands for; `scripts/rust_entry_mirror.py` checks them against the C code of the tree before
//! this object is built (`kernel/entry/Makefile`).

use kernel::{
    bindings,
    entry::{
        syscall::{Done, EnterWork, ExitWork, Permit, Skip},
        Instr, PtRegs,
    },
    ffi::{c_long, c_ulong},
    macros::export,
};

/// C `syscall_trace_enter()`: the entry work of a system call. Returns the number of the
/// system call to run, read again after the work (C `syscall_get_nr()` in
/// `syscall_enter_from_user_mode_work()`: a tracer may have changed it), or -1 if the work
/// vetoed it; the caller then skips it and leaves the return value as the work set it.
///
/// A tracer that sets the number to -1 makes the caller skip the system call as well, which is
/// what the architectures do with the number -1 (they leave the return value).
///
/// # Safety
///
/// Called by `syscall_enter_from_user_mode_work()` only: in task context, interrupts enabled,
/// `regs` the valid user registers of the current task's system call and `work` its
/// `syscall_work` word.
#[export]
pub unsafe extern "C" fn syscall_trace_enter(
    regs: *mut bindings::pt_regs,
    work: c_ulong,
    syscall: c_long,
) -> c_long {
    // SAFETY: Ordinary instrumentable `.text` (this function is not `noinstr`); `regs` are the
    // current task's valid system call registers (the caller).
    let (ins, regs) = unsafe { (Instr::assume_instrumentable(), PtRegs::from_raw(regs)) };
    // SAFETY: Called once per system call entry, interrupts enabled, task context (the caller).
    let work = unsafe { EnterWork::new(&ins, regs, work) };
    match trace_enter(work, syscall) {
        // The C caller's "Reread the syscall number as it might have been modified" (C
        // `*syscall = syscall_get_nr(current, regs);`), done here so that the number the work
        // leaves is the one that runs.
        Ok(Permit { .. }) => regs.syscall_nr() as c_long,
        Err(Skip { .. }) => -1,
    }
}

/// The steps of `syscall_trace_enter()`, in the one order [`EnterWork`] allows.
#[inline(always)]
fn trace_enter(
    work: EnterWork<'_, kernel::entry::syscall::enter::Start>,
    syscall: c_long,
) -> Result<Permit, Skip> {
    // mirror: include/linux/entry-common.h syscall_trace_enter()
    // C: if (work & SYSCALL_WORK_SYSCALL_USER_DISPATCH) {
    // C:         if (syscall_user_dispatch(regs))
    // C:                 return false;
    // C: }
    let work = work.user_dispatch()?;

    // C: if (work & SYSCALL_WORK_SYSCALL_RSEQ_SLICE)
    // C:         rseq_syscall_enter_work(syscall);
    let work = work.rseq_slice(syscall);

    // C: if (work & (SYSCALL_WORK_SYSCALL_TRACE | SYSCALL_WORK_SYSCALL_EMU)) {
    // C:         if (!arch_ptrace_report_syscall_permit_entry(regs) ||
    // C:             (work & SYSCALL_WORK_SYSCALL_EMU))
    // C:                 return false;
    // C:         work = READ_ONCE(current_thread_info()->syscall_work);
    // C: }
    let work = work.ptrace()?;

    // C: if (work & SYSCALL_WORK_SECCOMP) {
    // C:         if (!__seccomp_permit_syscall())
    // C:                 return false;
    // C: }
    let work = work.seccomp()?;

    // C: if (unlikely(work & SYSCALL_WORK_SYSCALL_TRACEPOINT))
    // C:         trace_syscall_enter(regs);
    let work = work.tracepoint();

    // C: if (IS_ENABLED(CONFIG_AUDITSYSCALL) && unlikely(audit_context()))
    // C:         syscall_enter_audit(regs);
    // C: return true;
    Ok(work.audit())
}

/// C `syscall_exit_work()`: the exit work of a system call.
///
/// # Safety
///
/// Called by `syscall_exit_to_user_mode_work()` only: in task context, interrupts enabled,
/// `regs` the valid user registers of the current task's system call with its return value in
/// place, and `work` its `syscall_work` word.
#[export]
pub unsafe extern "C" fn syscall_exit_work(regs: *mut bindings::pt_regs, work: c_ulong) {
    // SAFETY: As in `syscall_trace_enter()`.
    let (ins, regs) = unsafe { (Instr::assume_instrumentable(), PtRegs::from_raw(regs)) };
    // SAFETY: Called once per system call exit, interrupts enabled, task context (the caller).
    let work = unsafe { ExitWork::new(&ins, regs, work) };

    // mirror: include/linux/entry-common.h syscall_exit_work()
    // C: bool step;
    // C: if (work & SYSCALL_WORK_SYSCALL_USER_DISPATCH) {
    // C:         if (syscall_user_dispatch_clear_on_dispatch())
    // C:                 return;
    // C: }
    let work = match work.user_dispatch() {
        Ok(work) => work,
        Err(Done { .. }) => return,
    };

    // C: audit_syscall_exit(regs);
    let work = work.audit();

    // C: if (work & SYSCALL_WORK_SYSCALL_TRACEPOINT)
    // C:         trace_syscall_exit(regs, syscall_get_return_value(current, regs));
    let work = work.tracepoint();

    // C: step = report_single_step(work);
    // C: if (step || work & SYSCALL_WORK_SYSCALL_TRACE)
    // C:         arch_ptrace_report_syscall_exit(regs, step);
    let Done { .. } = work.ptrace();
}
