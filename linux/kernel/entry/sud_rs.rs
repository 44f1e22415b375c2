// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of syscall user dispatch.
//!
//! With `CONFIG_RUST_GENERIC_ENTRY=y`, `kernel/entry/syscall_user_dispatch.c` keeps only the
//! `kernel.syscall_user_dispatch` sysctl, and this object defines its functions with the same C
//! ABI:
//!
//! - `syscall_user_dispatch()`: from the system call entry work (`syscall_trace_enter()`), when
//!   the task has `SYSCALL_WORK_SYSCALL_USER_DISPATCH`;
//! - `set_syscall_user_dispatch()`: `prctl(PR_SET_SYSCALL_USER_DISPATCH)`;
//! - `syscall_user_dispatch_get_config()` and `syscall_user_dispatch_set_config()`:
//!   `PTRACE_{GET,SET}_SYSCALL_USER_DISPATCH_CONFIG` on a stopped tracee.
//!
//! All are ordinary instrumentable `.text` in task context. The task's configuration is
//! `kernel::entry::sud::Dispatch` (layout-checked members); the selector is read with the
//! `kernel` crate's user slices. Every function mirrors its C counterpart statement by
//! statement (`// mirror:` and `// C:` tags, checked by `scripts/rust_entry_mirror.py`).

use core::mem::size_of;
use kernel::{
    bindings,
    entry::{
        sud::{
            self,
            Dispatch,
            FILTER_ALLOW,
            FILTER_BLOCK,
            MODE_EXCLUSIVE_ON,
            MODE_INCLUSIVE_ON,
            MODE_OFF, //
        },
        PtRegs,
    },
    error::code::{EFAULT, EINVAL, EPERM},
    ffi::{c_char, c_int, c_ulong, c_void},
    macros::export,
    uaccess::{UserPtr, UserSlice},
};

kernel::entry_struct!(ptrace_sud_config);

/// C `syscall_user_dispatch()`: true if the system call must not run (it was dispatched to the
/// `SIGSYS` handler, or the task is being killed for a bad selector).
///
/// # Safety
///
/// Called by the system call entry work only: task context, interrupts enabled, `regs` the
/// valid registers of the current task's system call.
#[export]
pub unsafe extern "C" fn syscall_user_dispatch(regs: *mut bindings::pt_regs) -> bool {
    // SAFETY: The current task's valid system call registers (the caller).
    let regs = unsafe { PtRegs::from_raw(regs) };

    // mirror: kernel/entry/syscall_user_dispatch.c syscall_user_dispatch()
    // C: struct syscall_user_dispatch *sd = &current->syscall_dispatch;
    // C: char state;
    let sd = Dispatch::current();

    // C: if (likely(instruction_pointer(regs) - sd->offset < sd->len))
    // C:         return false;
    if regs.ip().wrapping_sub(sd.offset()) < sd.range_len() {
        return false;
    }

    // C: if (unlikely(arch_syscall_is_vdso_sigreturn(regs)))
    // C:         return false;
    if regs.syscall_is_vdso_sigreturn() {
        return false;
    }

    // C: if (likely(sd->selector)) {
    let selector = sd.selector();
    if selector != 0 {
        // C: if (unlikely(__get_user(state, sd->selector))) {
        // C:         force_exit_sig(SIGSEGV);
        // C:         return true;
        // C: }
        let Ok(state) = sud::read_selector(selector) else {
            sud::force_exit_sig(bindings::ENTRY_SIGSEGV);
            return true;
        };

        // C: if (likely(state == SYSCALL_DISPATCH_FILTER_ALLOW))
        // C:         return false;
        if state == FILTER_ALLOW {
            return false;
        }

        // C: if (state != SYSCALL_DISPATCH_FILTER_BLOCK) {
        // C:         force_exit_sig(SIGSYS);
        // C:         return true;
        // C: }
        if state != FILTER_BLOCK {
            sud::force_exit_sig(bindings::ENTRY_SIGSYS);
            return true;
        }
        // C: }
    }

    // C: sd->on_dispatch = true;
    sd.set_on_dispatch();
    // C: syscall_rollback(current, regs);
    regs.syscall_rollback();
    // C: trigger_sigsys(regs);
    sud::trigger_sigsys(regs);

    // C: return true;
    true
}

/// The `kernel.syscall_user_dispatch` sysctl (C `syscall_user_dispatch_allowed`, defined in
/// `syscall_user_dispatch.c` with the sysctl table): false when arming is denied at runtime.
fn allowed() -> bool {
    // SAFETY: A `bool` that the sysctl handler writes; C reads it without a lock too, a racy
    // read sees the old or the new setting.
    unsafe { core::ptr::read_volatile(&raw const bindings::syscall_user_dispatch_allowed) }
}

/// C `task_set_syscall_user_dispatch()`: checks and stores a configuration. Returns 0 or a
/// negative errno.
fn task_set(sd: &Dispatch<'_>, mode: usize, offset: usize, len: usize, selector: usize) -> c_int {
    // mirror: kernel/entry/syscall_user_dispatch.c task_set_syscall_user_dispatch()
    let (mut offset, mut len) = (offset, len);
    // C: switch (mode) {
    match mode {
        // C: case PR_SYS_DISPATCH_OFF:
        // C:         if (offset || len || selector)
        // C:                 return -EINVAL;
        MODE_OFF => {
            if offset != 0 || len != 0 || selector != 0 {
                return EINVAL.to_errno();
            }
            // C: break;
        }
        // C: case PR_SYS_DISPATCH_EXCLUSIVE_ON:
        // C:         if (offset && offset + len <= offset)
        // C:                 return -EINVAL;
        MODE_EXCLUSIVE_ON => {
            if offset != 0 && offset.wrapping_add(len) <= offset {
                return EINVAL.to_errno();
            }
            // C: break;
        }
        // C: case PR_SYS_DISPATCH_INCLUSIVE_ON:
        // C:         if (len == 0 || offset + len <= offset)
        // C:                 return -EINVAL;
        MODE_INCLUSIVE_ON => {
            if len == 0 || offset.wrapping_add(len) <= offset {
                return EINVAL.to_errno();
            }
            // C: offset = offset + len;
            // C: len = -len;
            // The range is inverted: the check in `syscall_user_dispatch()` wraps around.
            offset = offset.wrapping_add(len);
            len = len.wrapping_neg();
            // C: break;
        }
        // C: default:
        // C:         return -EINVAL;
        _ => return EINVAL.to_errno(),
    }
    // C: }

    // C: if (mode != PR_SYS_DISPATCH_OFF && !syscall_user_dispatch_allowed)
    // C:         return -EPERM;
    // Arming can be denied at runtime via sysctl, disarming is allowed.
    if mode != MODE_OFF && !allowed() {
        return EPERM.to_errno();
    }

    // C: if (mode != PR_SYS_DISPATCH_OFF && selector &&
    // C:     !access_ok(untagged_addr(selector), sizeof(*selector)))
    // C:         return -EFAULT;
    // The address is untagged so that an untagged tracer can set a tagged tracee's selector.
    if mode != MODE_OFF && selector != 0 && !sud::selector_access_ok(selector) {
        return EFAULT.to_errno();
    }

    // C: task->syscall_dispatch.selector = selector;
    // C: task->syscall_dispatch.offset = offset;
    // C: task->syscall_dispatch.len = len;
    // C: task->syscall_dispatch.on_dispatch = false;
    // C: if (mode != PR_SYS_DISPATCH_OFF)
    // C:         set_task_syscall_work(task, SYSCALL_USER_DISPATCH);
    // C: else
    // C:         clear_task_syscall_work(task, SYSCALL_USER_DISPATCH);
    sd.store(selector, offset, len, mode != MODE_OFF);

    // C: return 0;
    0
}

/// C `set_syscall_user_dispatch()`: `prctl(PR_SET_SYSCALL_USER_DISPATCH)` for the current task.
///
/// # Safety
///
/// Called by `prctl()` in the current task's context; `selector` is a user address (never
/// dereferenced here).
#[export]
pub unsafe extern "C" fn set_syscall_user_dispatch(
    mode: c_ulong,
    offset: c_ulong,
    len: c_ulong,
    selector: *mut c_char,
) -> c_int {
    // mirror: kernel/entry/syscall_user_dispatch.c set_syscall_user_dispatch()
    // C: return task_set_syscall_user_dispatch(current, mode, offset, len, selector);
    task_set(&Dispatch::current(), mode, offset, len, selector as usize)
}

/// C `syscall_user_dispatch_get_config()`: `PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG`.
///
/// # Safety
///
/// Called by `ptrace()` only: `task` is a valid tracee stopped by the current task, `data` a
/// user address of `size` bytes (never dereferenced here).
#[export]
pub unsafe extern "C" fn syscall_user_dispatch_get_config(
    task: *mut bindings::task_struct,
    size: c_ulong,
    data: *mut c_void,
) -> c_int {
    // mirror: kernel/entry/syscall_user_dispatch.c syscall_user_dispatch_get_config()
    // C: struct syscall_user_dispatch *sd = &task->syscall_dispatch;
    // C: struct ptrace_sud_config cfg;
    // SAFETY: A valid tracee stopped by the current task (the caller).
    let sd = unsafe { Dispatch::of(task) };

    // C: if (size != sizeof(cfg))
    // C:         return -EINVAL;
    if size != size_of::<bindings::ptrace_sud_config>() {
        return EINVAL.to_errno();
    }

    // C: if (test_task_syscall_work(task, SYSCALL_USER_DISPATCH))
    // C:         cfg.mode = PR_SYS_DISPATCH_ON;
    // C: else
    // C:         cfg.mode = PR_SYS_DISPATCH_OFF;
    // C: cfg.offset = sd->offset;
    // C: cfg.len = sd->len;
    // C: cfg.selector = (__u64)(uintptr_t)sd->selector;
    let mut cfg = bindings::ptrace_sud_config::default();
    let p: *mut bindings::ptrace_sud_config = &mut cfg;
    // SAFETY: `p` points to `cfg`, alive and exclusively ours; layouts checked.
    unsafe {
        kernel::entry_field!(p, ptrace_sud_config, mode).write(if sd.is_on() {
            MODE_EXCLUSIVE_ON as u64
        } else {
            MODE_OFF as u64
        });
        kernel::entry_field!(p, ptrace_sud_config, offset).write(sd.offset() as u64);
        kernel::entry_field!(p, ptrace_sud_config, len).write(sd.range_len() as u64);
        kernel::entry_field!(p, ptrace_sud_config, selector).write(sd.selector() as u64);
    }

    // C: if (copy_to_user(data, &cfg, sizeof(cfg)))
    // C:         return -EFAULT;
    // SAFETY: `cfg` is four `__u64` without padding (size checked against C): all its bytes
    // are initialised.
    let bytes = unsafe { core::slice::from_raw_parts(p.cast::<u8>(), size) };
    if UserSlice::new(UserPtr::from_ptr(data), size)
        .writer()
        .write_slice(bytes)
        .is_err()
    {
        return EFAULT.to_errno();
    }

    // C: return 0;
    0
}

/// C `syscall_user_dispatch_set_config()`: `PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG`.
///
/// # Safety
///
/// As for [`syscall_user_dispatch_get_config`].
#[export]
pub unsafe extern "C" fn syscall_user_dispatch_set_config(
    task: *mut bindings::task_struct,
    size: c_ulong,
    data: *mut c_void,
) -> c_int {
    // mirror: kernel/entry/syscall_user_dispatch.c syscall_user_dispatch_set_config()
    // C: struct ptrace_sud_config cfg;
    let mut cfg = bindings::ptrace_sud_config::default();
    let p: *mut bindings::ptrace_sud_config = &mut cfg;

    // C: if (size != sizeof(cfg))
    // C:         return -EINVAL;
    if size != size_of::<bindings::ptrace_sud_config>() {
        return EINVAL.to_errno();
    }

    // C: if (copy_from_user(&cfg, data, sizeof(cfg)))
    // C:         return -EFAULT;
    // SAFETY: `cfg` is four `__u64` (size checked against C): any bytes are a valid value, and
    // `p` is exclusively ours for the slice's lifetime.
    let bytes = unsafe { core::slice::from_raw_parts_mut(p.cast::<u8>(), size) };
    if UserSlice::new(UserPtr::from_ptr(data), size)
        .reader()
        .read_slice(bytes)
        .is_err()
    {
        return EFAULT.to_errno();
    }

    // C: return task_set_syscall_user_dispatch(task, cfg.mode, cfg.offset, cfg.len,
    // C:                                       (char __user *)(uintptr_t)cfg.selector);
    // SAFETY: A valid tracee stopped by the current task (the caller); `p` points to `cfg`;
    // layouts checked.
    let (sd, mode, offset, len, selector) = unsafe {
        (
            Dispatch::of(task),
            kernel::entry_field!(p, ptrace_sud_config, mode).read(),
            kernel::entry_field!(p, ptrace_sud_config, offset).read(),
            kernel::entry_field!(p, ptrace_sud_config, len).read(),
            kernel::entry_field!(p, ptrace_sud_config, selector).read(),
        )
    };
    task_set(
        &sd,
        mode as usize,
        offset as usize,
        len as usize,
        selector as usize,
    )
}
