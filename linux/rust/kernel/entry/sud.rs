// SPDX-License-Identifier: GPL-2.0

//! Syscall user dispatch: a task's configuration, its selector and the `SIGSYS`.
//!
//! C: [`kernel/entry/syscall_user_dispatch.c`](srctree/kernel/entry/syscall_user_dispatch.c),
//! [`include/linux/syscall_user_dispatch.h`](srctree/include/linux/syscall_user_dispatch.h).
//! Documentation:
//! [`syscall-user-dispatch.rst`](srctree/Documentation/admin-guide/syscall-user-dispatch.rst).
//!
//! A task that turned syscall user dispatch on gets a `SIGSYS` for every system call made from
//! outside its allowed range of addresses while its selector byte (in user memory) says
//! "block"; the system call is rolled back and not run. The configuration lives in
//! `task->syscall_dispatch` and is changed by the task itself (`prctl()`) or by its tracer
//! while the task is stopped (`PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG`).
//!
//! [`Dispatch`] is the configuration of one task, reached through layout-checked members only;
//! the few C services it needs (the user access of the selector, the signals) are wrapped here
//! with their preconditions as types, so `kernel/entry/sud_rs.rs` needs `unsafe` only where C
//! hands it a task or a register frame.

use super::{arch::current, syscall::bits, PtRegs};
use crate::{bindings, error::Result};
use core::{
    mem::MaybeUninit,
    sync::atomic::{AtomicUsize, Ordering},
};

/// `PR_SYS_DISPATCH_OFF`.
pub const MODE_OFF: usize = bindings::ENTRY_PR_SYS_DISPATCH_OFF;
/// `PR_SYS_DISPATCH_EXCLUSIVE_ON` (`PR_SYS_DISPATCH_ON`): dispatch outside `[offset, offset +
/// len)`.
pub const MODE_EXCLUSIVE_ON: usize = bindings::ENTRY_PR_SYS_DISPATCH_EXCLUSIVE_ON;
/// `PR_SYS_DISPATCH_INCLUSIVE_ON`: dispatch inside `[offset, offset + len)`.
pub const MODE_INCLUSIVE_ON: usize = bindings::ENTRY_PR_SYS_DISPATCH_INCLUSIVE_ON;
/// `SYSCALL_DISPATCH_FILTER_ALLOW`: the selector lets system calls through.
pub const FILTER_ALLOW: u8 = bindings::ENTRY_SYSCALL_DISPATCH_FILTER_ALLOW;
/// `SYSCALL_DISPATCH_FILTER_BLOCK`: the selector dispatches them to the `SIGSYS` handler.
pub const FILTER_BLOCK: u8 = bindings::ENTRY_SYSCALL_DISPATCH_FILTER_BLOCK;

/// The syscall user dispatch configuration of a task (C `task->syscall_dispatch` and the
/// `SYSCALL_WORK_SYSCALL_USER_DISPATCH` bit of its `syscall_work`).
///
/// # Invariants
///
/// `task` is a valid task that outlives `'a`, and it is the current task or a tracee stopped
/// by the current task (the only two that change or read a configuration in C).
pub struct Dispatch<'a> {
    task: *mut bindings::task_struct,
    _task: core::marker::PhantomData<&'a bindings::task_struct>,
}

impl Dispatch<'static> {
    /// The configuration of the current task.
    #[inline(always)]
    pub fn current() -> Self {
        // INVARIANT: `current()` is valid for as long as code runs in its context.
        Dispatch {
            task: current(),
            _task: core::marker::PhantomData,
        }
    }
}

impl<'a> Dispatch<'a> {
    /// The configuration of `task`.
    ///
    /// # Safety
    ///
    /// `task` must be valid for `'a` and be the current task or a tracee that the current task
    /// has stopped (C `ptrace_check_attach()`).
    #[inline(always)]
    pub unsafe fn of(task: *mut bindings::task_struct) -> Self {
        // INVARIANT: The caller's guarantee.
        Dispatch {
            task,
            _task: core::marker::PhantomData,
        }
    }

    /// The user address of the selector byte (C `sd->selector`), 0 if there is none.
    #[inline(always)]
    pub fn selector(&self) -> usize {
        // SAFETY: `task` is valid (type invariant); the member's layout is checked.
        let p = unsafe {
            crate::entry_field!(self.task, task_struct, sud_selector: syscall_dispatch.selector)
                .read()
        };
        p as usize
    }

    /// The start of the range (C `sd->offset`).
    #[inline(always)]
    pub fn offset(&self) -> usize {
        // SAFETY: As for `selector()`.
        unsafe {
            crate::entry_field!(self.task, task_struct, sud_offset: syscall_dispatch.offset).read()
        }
    }

    /// The length of the range (C `sd->len`; for `PR_SYS_DISPATCH_INCLUSIVE_ON` that of the
    /// inverted range, see `task_set_syscall_user_dispatch()`).
    #[inline(always)]
    pub fn range_len(&self) -> usize {
        // SAFETY: As for `selector()`.
        unsafe { crate::entry_field!(self.task, task_struct, sud_len: syscall_dispatch.len).read() }
    }

    /// True if `SYSCALL_WORK_SYSCALL_USER_DISPATCH` is set for the task (C
    /// `test_task_syscall_work(task, SYSCALL_USER_DISPATCH)`).
    #[inline(always)]
    pub fn is_on(&self) -> bool {
        self.syscall_work().load(Ordering::Relaxed) & bits::USER_DISPATCH != 0
    }

    /// Stores a new configuration and clears `on_dispatch` (C
    /// `task_set_syscall_user_dispatch()`'s stores), then sets or clears
    /// `SYSCALL_WORK_SYSCALL_USER_DISPATCH` (C `set_task_syscall_work()` and
    /// `clear_task_syscall_work()`, atomic bit operations).
    #[inline(always)]
    pub fn store(&self, selector: usize, offset: usize, len: usize, on: bool) {
        // SAFETY: `task` is valid (type invariant) and either runs this code or is stopped by
        // it, so nothing else writes these members meanwhile; layouts are checked.
        unsafe {
            crate::entry_field!(self.task, task_struct, sud_selector: syscall_dispatch.selector)
                .write(selector as *mut _);
            crate::entry_field!(self.task, task_struct, sud_offset: syscall_dispatch.offset)
                .write(offset);
            crate::entry_field!(self.task, task_struct, sud_len: syscall_dispatch.len).write(len);
            crate::entry_field!(
                self.task,
                task_struct,
                syscall_dispatch_on_dispatch: syscall_dispatch.on_dispatch
            )
            .write(false);
        }
        if on {
            self.syscall_work()
                .fetch_or(bits::USER_DISPATCH, Ordering::Relaxed);
        } else {
            self.syscall_work()
                .fetch_and(!bits::USER_DISPATCH, Ordering::Relaxed);
        }
    }

    /// The task's `syscall_work` word, as the atomic C treats it as.
    #[inline(always)]
    fn syscall_work(&self) -> &AtomicUsize {
        // SAFETY: `task` is valid for `'a` (type invariant); `syscall_work` is an `unsigned
        // long` changed only with atomic bit operations; layout checked.
        unsafe {
            AtomicUsize::from_ptr(crate::entry_field!(
                self.task,
                task_struct,
                thread_info_syscall_work: thread_info.syscall_work
            ))
        }
    }
}

impl Dispatch<'static> {
    /// Marks the current system call as dispatched (C `sd->on_dispatch = true`): the exit work
    /// then skips the tracers (see `syscall::ExitWork::user_dispatch()`).
    #[inline(always)]
    pub fn set_on_dispatch(&self) {
        // SAFETY: `task` is the current task (`current()`), the only writer of the member in a
        // system call; layout checked.
        unsafe {
            crate::entry_field!(
                self.task,
                task_struct,
                syscall_dispatch_on_dispatch: syscall_dispatch.on_dispatch
            )
            .write(true)
        };
    }
}

/// Reads the selector byte at the user address `selector` (C `__get_user(state, selector)`;
/// `prctl()` checked the address with `access_ok()`).
///
/// Through a C shim rather than [`UserSlice`](crate::uaccess::UserSlice): this runs on every
/// system call of a task with syscall user dispatch on, and `UserSlice` reads through
/// `copy_from_user()`, which checks the range again and the object size (42 instructions more
/// than C per system call, over 1,000 with lockdep; `./entry-lab bench`, figure `syscall_sud`).
#[inline(always)]
pub fn read_selector(selector: usize) -> Result<u8> {
    let mut state: crate::ffi::c_char = 0;
    // SAFETY: `state` is a valid byte to write; `selector` is only used as a user address, which
    // `__get_user()` may fault on (the exception table turns that into `-EFAULT`).
    let ret = unsafe { bindings::entry_rs_sud_get_selector(selector as *const _, &mut state) };
    // Not `to_result()`: it is out of line in the `kernel` crate. `__get_user()` fails only
    // with `-EFAULT`.
    if ret == 0 {
        Ok(state as u8)
    } else {
        Err(crate::error::code::EFAULT)
    }
}

/// C `access_ok(untagged_addr(selector), 1)`: the selector may be read later without a check.
#[inline(always)]
pub fn selector_access_ok(selector: usize) -> bool {
    // SAFETY: Only computes whether the address range is a user one; dereferences nothing.
    unsafe { bindings::entry_rs_sud_selector_access_ok(selector as *const _) }
}

/// C `force_exit_sig(sig)`: kills the current task's thread group with `sig`.
#[inline(always)]
pub fn force_exit_sig(sig: i32) {
    // SAFETY: Called in the current task's system call; the signal is queued for it.
    unsafe { bindings::force_exit_sig(sig) };
}

/// C `trigger_sigsys(regs)`: forces a `SIGSYS` with `si_code` `SYS_USER_DISPATCH` on the
/// current task, naming the system call of `regs` and where it was made.
///
/// Out of line, as the C compiler leaves it: its `siginfo` on the stack would otherwise make
/// every dispatched system call set up a frame.
#[inline(never)]
pub fn trigger_sigsys(regs: &PtRegs) {
    // mirror: kernel/entry/syscall_user_dispatch.c trigger_sigsys()
    // C: struct kernel_siginfo info;
    // C: clear_siginfo(&info);
    // SAFETY: `kernel_siginfo` is plain C data: all zeroes is a valid value, and what
    // `clear_siginfo()` (a `memset()`) makes.
    let mut info = unsafe { MaybeUninit::<bindings::kernel_siginfo>::zeroed().assume_init() };
    let p: *mut bindings::kernel_siginfo = &mut info;
    // SAFETY: `p` points to `info`, alive and exclusively ours; every member is checked against
    // the C layout (`si_call_addr` and the others are C macros for the `_sigsys` members).
    unsafe {
        // C: info.si_signo = SIGSYS;
        crate::entry_field!(p, kernel_siginfo, si_signo: __bindgen_anon_1.si_signo)
            .write(bindings::ENTRY_SIGSYS);
        // C: info.si_code = SYS_USER_DISPATCH;
        crate::entry_field!(p, kernel_siginfo, si_code: __bindgen_anon_1.si_code)
            .write(bindings::ENTRY_SYS_USER_DISPATCH);
        // C: info.si_call_addr = (void __user *)KSTK_EIP(current);
        // (`KSTK_EIP(current)` is `task_pt_regs(current)->ip`: `regs` of a system call.)
        crate::entry_field!(
            p,
            kernel_siginfo,
            si_call_addr: __bindgen_anon_1._sifields._sigsys._call_addr
        )
        .write(regs.ip() as *mut _);
        // C: info.si_errno = 0;
        crate::entry_field!(p, kernel_siginfo, si_errno: __bindgen_anon_1.si_errno).write(0);
        // C: info.si_arch = syscall_get_arch(current);
        crate::entry_field!(
            p,
            kernel_siginfo,
            si_arch: __bindgen_anon_1._sifields._sigsys._arch
        )
        .write(super::arch::syscall_get_arch());
        // C: info.si_syscall = syscall_get_nr(current, regs);
        crate::entry_field!(
            p,
            kernel_siginfo,
            si_syscall: __bindgen_anon_1._sifields._sigsys._syscall
        )
        .write(regs.syscall_nr());
    }

    // C: force_sig_info(&info);
    // SAFETY: `info` is a complete siginfo for the current task, which the call copies.
    unsafe { bindings::force_sig_info(p) };
}
