// SPDX-License-Identifier: GPL-2.0

//! KUnit tests for the out-of-line generic entry functions.
//!
//! The tests call the C-ABI symbols `irqentry_enter()`, `irqentry_exit()`,
//! `irqentry_nmi_enter()`, `irqentry_nmi_exit()` and `raw_irqentry_exit_cond_resched()` through
//! `bindings`, so they test whichever implementation is linked: `kernel/entry/common.c`
//! (`RUST_GENERIC_ENTRY=n`) or `kernel/entry/entry_rs.rs` (`RUST_GENERIC_ENTRY=y`). Build them in
//! both variants and compare.
//!
//! The tests only use paths that are safe to drive from task context with a synthetic
//! `pt_regs`:
//!
//! * kernel mode (`cs` = `__KERNEL_CS`, RPL 0) with IF clear in the saved flags: `irqentry_exit()`
//!   then neither preempts nor tells lockdep/tracing that interrupts get enabled (the real
//!   interrupts stay disabled, so lying about it would corrupt lockdep state);
//! * NMI enter/exit with interrupts disabled, which is what a real NMI on top of an
//!   irqs-off region looks like.
//!
//! Nothing is asserted while "in NMI": values are recorded and checked after the exit, so a
//! failing assertion never prints from NMI context.
//!
//! Members of C structs are reached through [`kernel::entry_field!`], which checks bindgen's
//! layout against C at build time.

use core::ffi::{c_int, c_void};
use kernel::{
    bindings,
    cpu::CpuId,
    entry::{self, preempt, work},
    entry_field,
    error::from_err_ptr,
    interrupt::local_interrupt_disable,
    macros::kunit_tests,
    str::CStrExt,
    sync::rcu,
};

/// Builds a kernel-mode register frame with interrupts disabled in the saved flags.
#[cfg(CONFIG_X86_64)]
fn kernel_regs() -> bindings::pt_regs {
    // SAFETY: `pt_regs` is plain old data; all-zeroes is a valid value.
    let mut regs: bindings::pt_regs = unsafe { core::mem::zeroed() };
    // SAFETY: `regs` is a valid `pt_regs`; `cs` and `ss` are plain integers in unions of
    // integers and bitfields over the same bytes.
    unsafe {
        *entry_field!(&mut regs, pt_regs, cs: __bindgen_anon_1.cs) =
            bindings::ENTRY_KERNEL_CS as u16;
        *entry_field!(&mut regs, pt_regs, ss: __bindgen_anon_2.ss) =
            bindings::ENTRY_KERNEL_DS as u16;
        // Saved flags: reserved bit 1 set, IF clear.
        *entry_field!(&mut regs, pt_regs, flags) = 0x2;
    }
    regs
}

/// Builds a kernel-mode register frame with interrupts disabled in the saved flags: `PSTATE`
/// of EL1 with the SP_EL1 stack (`EL1h`) and `I` set; the saved GIC priority mask is 0, which
/// is "masked" too where the kernel masks by priority (pseudo-NMIs).
#[cfg(CONFIG_ARM64)]
fn kernel_regs() -> bindings::pt_regs {
    // SAFETY: `pt_regs` is plain old data; all-zeroes is a valid value.
    let mut regs: bindings::pt_regs = unsafe { core::mem::zeroed() };
    // SAFETY: `regs` is a valid `pt_regs`; `pstate` is a plain `u64`.
    unsafe {
        *entry_field!(&mut regs, pt_regs, pstate: __bindgen_anon_1.__bindgen_anon_1.pstate) =
            (bindings::ENTRY_PSR_MODE_EL1H | bindings::ENTRY_PSR_I_BIT) as u64;
    }
    regs
}

/// Reads `irqentry_state_t` as its single byte.
fn state_byte(mut s: bindings::irqentry_state_t) -> u8 {
    // SAFETY: `exit_rcu` is the one byte of `irqentry_state_t` (checked against C by
    // `entry_field!()`); any bit pattern is a valid `u8`.
    unsafe {
        entry_field!(&mut s, irqentry_state, exit_rcu: __bindgen_anon_1.exit_rcu)
            .cast::<u8>()
            .read()
    }
}

/// The current task's count of voluntary context switches (`current->nvcsw`).
fn nvcsw() -> usize {
    // SAFETY: `current()` is the valid current task; the scheduler updates the count on this
    // CPU only, a volatile read is `READ_ONCE()`.
    unsafe { entry_field!(entry::current(), task_struct, nvcsw).read_volatile() }
}

/// The current task's count of involuntary context switches (`current->nivcsw`).
fn nivcsw() -> usize {
    // SAFETY: As for `nvcsw()`.
    unsafe { entry_field!(entry::current(), task_struct, nivcsw).read_volatile() }
}

/// The current task's voluntary and involuntary context switch counts (`nvcsw + nivcsw`).
fn switch_count() -> usize {
    nvcsw().wrapping_add(nivcsw())
}

/// Sleeps (a voluntary context switch) until `nvcsw` moves, at most ten times; returns how far
/// it moved. A sleep whose timer fires before the task blocks does not switch, hence the retry.
fn nvcsw_across_sleep() -> usize {
    let before = nvcsw();
    for _ in 0..10 {
        // SAFETY: Task context, may sleep.
        unsafe { bindings::msleep(1) };
        if nvcsw() != before {
            break;
        }
    }
    nvcsw().wrapping_sub(before)
}

/// The real-time thread of [`nivcsw_across_preemption`]: sleeps until it is stopped.
///
/// # Safety
///
/// Only called by the kthread core, as the thread function.
unsafe extern "C" fn rt_thread_fn(_data: *mut c_void) -> c_int {
    // SAFETY: Called by a kthread.
    while !unsafe { bindings::kthread_should_stop() } {
        // SAFETY: A kthread may sleep; `kthread_stop()` wakes it up.
        unsafe { bindings::schedule_timeout_interruptible(1) };
    }
    0
}

/// Lets a real-time thread bound to this CPU preempt the current task (an involuntary context
/// switch); returns how far `nivcsw` moved, or `None` if no attempt kept the task on the CPU
/// the thread was bound to.
///
/// The thread is woken with interrupts disabled, so the task cannot migrate before it is marked
/// for preemption: it is preempted when interrupts are enabled again or, at the latest, by the
/// `schedule()` that follows, which switches to the runnable real-time thread while the task
/// stays runnable (involuntary).
fn nivcsw_across_preemption() -> Option<usize> {
    for _ in 0..10 {
        // SAFETY: `rt_thread_fn` has the signature of `threadfn`; the name is a format string
        // without conversions.
        let t = from_err_ptr(unsafe {
            bindings::kthread_create_on_node(
                Some(rt_thread_fn),
                core::ptr::null_mut(),
                bindings::NUMA_NO_NODE,
                c"rust_entry_rt".as_char_ptr(),
            )
        })
        .ok()?;
        // SAFETY: `t` is a valid kthread that has not run yet.
        unsafe { bindings::sched_set_fifo_low(t) };
        // The CPU is read after the creation, which sleeps until kthreadd has made the thread:
        // the wakeup may move this task to another CPU, and read before, every attempt could
        // find the task on the other CPU (seen under TCG with two CPUs: all ten attempts).
        let cpu = CpuId::current().as_u32();
        // SAFETY: `t` is a valid kthread that has not run yet.
        unsafe { bindings::kthread_bind(t, cpu) };

        let irqs = local_interrupt_disable();
        let on_cpu = CpuId::current().as_u32() == cpu;
        let before = nivcsw();
        // SAFETY: `t` is a valid kthread.
        unsafe { bindings::wake_up_process(t) };
        drop(irqs);
        // SAFETY: Task context, may schedule.
        unsafe { bindings::schedule() };
        let moved = nivcsw().wrapping_sub(before);

        // SAFETY: `t` was created by `kthread_create_on_cpu()` and is stopped only here.
        unsafe { bindings::kthread_stop(t) };
        if on_cpu {
            return Some(moved);
        }
    }
    None
}

#[kunit_tests(generic_entry)]
mod tests {
    use super::*;

    #[test]
    fn irqentry_kernel_mode_pair() {
        let mut regs = kernel_regs();
        let irqs = local_interrupt_disable();

        let pc_before = preempt::preempt_count();
        // SAFETY: Interrupts are disabled, `regs` is a valid kernel-mode frame, and this task is
        // not the idle task, so RCU is watching (the precondition of `irqentry_enter()`).
        let state = unsafe { bindings::irqentry_enter(&mut regs) };
        let watching_inside = rcu::is_watching();
        // SAFETY: Matching exit for the enter above, same frame and state.
        unsafe { bindings::irqentry_exit(&mut regs, state) };
        let pc_after = preempt::preempt_count();
        let disabled_after = entry::native_irqs_disabled();
        let watching_after = rcu::is_watching();

        drop(irqs);

        // Non-idle kernel entry: `.exit_rcu = false`.
        assert_eq!(state_byte(state), 0);
        assert!(watching_inside);
        assert!(watching_after);
        assert_eq!(pc_before, pc_after);
        assert!(disabled_after);
    }

    #[test]
    fn irqentry_nmi_pair_and_nesting() {
        let mut regs = kernel_regs();
        let irqs = local_interrupt_disable();

        let pc0 = preempt::preempt_count();
        let nmi0 = preempt::in_nmi();

        // SAFETY: Interrupts disabled; an NMI-like entry on top of task context. Balanced below.
        let s1 = unsafe { bindings::irqentry_nmi_enter(&mut regs) };
        let pc1 = preempt::preempt_count();
        let nmi1 = preempt::in_nmi();

        // SAFETY: Nested NMI-like entry (as #DB/#BP inside an NMI). Balanced below.
        let s2 = unsafe { bindings::irqentry_nmi_enter(&mut regs) };
        let pc2 = preempt::preempt_count();
        let nmi2 = preempt::in_nmi();

        // SAFETY: Matching exits, innermost first.
        unsafe { bindings::irqentry_nmi_exit(&mut regs, s2) };
        let pc3 = preempt::preempt_count();
        let nmi3 = preempt::in_nmi();
        // SAFETY: As above.
        unsafe { bindings::irqentry_nmi_exit(&mut regs, s1) };
        let pc4 = preempt::preempt_count();
        let nmi4 = preempt::in_nmi();
        let disabled_after = entry::native_irqs_disabled();

        drop(irqs);

        let step = preempt::NMI_OFFSET + preempt::HARDIRQ_OFFSET;
        assert!(!nmi0);
        assert!(nmi1);
        assert!(nmi2);
        assert!(nmi3);
        assert!(!nmi4);
        assert_eq!(pc1, pc0.wrapping_add(step));
        assert_eq!(pc2, pc0.wrapping_add(step).wrapping_add(step));
        assert_eq!(pc3, pc1);
        assert_eq!(pc4, pc0);
        // Lockdep saw interrupts disabled before both entries: `.lockdep = false`.
        assert_eq!(state_byte(s1), 0);
        assert_eq!(state_byte(s2), 0);
        assert!(disabled_after);
    }

    #[test]
    fn cond_resched_with_preemption_disabled_does_not_schedule() {
        // `local_interrupt_disable()` disables interrupts and raises the hardirq-disable count
        // in `preempt_count()`, so preemption is disabled as well.
        let irqs = local_interrupt_disable();
        let pc_before = preempt::preempt_count();

        // Request a reschedule, so that only the preempt count check stands between the call
        // and `preempt_schedule_irq()`. A spurious TIF_NEED_RESCHED is harmless: the task just
        // schedules at its next scheduling point.
        // SAFETY: `thread_info.flags` of the current task is a valid, aligned `unsigned long`
        // that other CPUs only modify with atomic bit operations.
        unsafe {
            core::sync::atomic::AtomicUsize::from_ptr(entry_field!(
                entry::current(),
                task_struct,
                thread_info_flags: thread_info.flags
            ))
            .fetch_or(
                bindings::ENTRY_TIF_NEED_RESCHED,
                core::sync::atomic::Ordering::Relaxed,
            )
        };
        let switches_before = switch_count();

        // SAFETY: Interrupts disabled, as required. With a non-zero preempt count the function
        // must return without scheduling.
        unsafe { bindings::raw_irqentry_exit_cond_resched() };

        let switches_after = switch_count();
        let pc_after = preempt::preempt_count();
        let need_resched_seen = work::need_resched();

        drop(irqs);

        assert!(pc_before != 0);
        assert!(need_resched_seen);
        assert_eq!(pc_before, pc_after);
        assert_eq!(switches_before, switches_after);
    }

    /// The counts compared by the test above really are the context switch counts: they move
    /// by a few when the task sleeps and when it is preempted. Read at a wrong offset (bindgen
    /// 0.73's `task_struct`: 48 bytes early, in the `vtime`/`prev_cputime` time accounting
    /// data) they would not move, or by nanoseconds.
    #[test]
    fn context_switch_counts_move() {
        let voluntary = nvcsw_across_sleep();
        let involuntary = nivcsw_across_preemption();

        assert!(voluntary >= 1);
        assert!(voluntary <= 16);
        assert!(involuntary.is_some());
        let involuntary = involuntary.unwrap_or(0);
        assert!(involuntary >= 1);
        assert!(involuntary <= 1000);
    }

    /// `PREEMPT_DYNAMIC` with a static key (arm64): `dynamic_irqentry_exit_cond_resched()`, the
    /// C function arm64's interrupt return calls, tests the key `preempt=` switches and then
    /// calls `raw_irqentry_exit_cond_resched()`, which must not schedule while the preempt
    /// count is raised. The boot's model says whether the key is on.
    #[cfg(all(CONFIG_PREEMPT_DYNAMIC, CONFIG_HAVE_PREEMPT_DYNAMIC_KEY))]
    #[test]
    fn dynamic_cond_resched_key_follows_the_model() {
        let full = preempt::model().to_bytes().starts_with(b"PREEMPT(full)")
            || preempt::model().to_bytes().starts_with(b"PREEMPT(lazy)");
        // SAFETY: The key is a valid `struct static_key_true` for the kernel's lifetime; its
        // `enabled` count is an `atomic_t` (place checked by `entry_field!()`), read once.
        let enabled = unsafe {
            entry_field!(
                &raw mut bindings::sk_dynamic_irqentry_exit_cond_resched,
                static_key_true,
                key_enabled: key.enabled.counter
            )
            .read_volatile()
        };
        let irqs = local_interrupt_disable();
        let pc_before = preempt::preempt_count();
        let switches_before = switch_count();
        // SAFETY: Interrupts disabled, as required; the raised preempt count keeps it from
        // scheduling.
        unsafe { bindings::dynamic_irqentry_exit_cond_resched() };
        let switches_after = switch_count();
        let pc_after = preempt::preempt_count();
        drop(irqs);

        let key_on = enabled > 0;
        assert_eq!(key_on, full);
        assert!(pc_before != 0);
        assert_eq!(pc_before, pc_after);
        assert_eq!(switches_before, switches_after);
    }

    /// `lockdep_hardirq_enter()` in `irqentry_nmi_enter()` clears `current->hardirq_threaded`
    /// on the outermost hardirq entry (C: `if (__this_cpu_inc_return(hardirq_context) == 1)
    /// current->hardirq_threaded = 0;`).
    #[cfg(CONFIG_TRACE_IRQFLAGS)]
    #[test]
    fn irqentry_nmi_enter_clears_hardirq_threaded() {
        let mut regs = kernel_regs();
        let task = entry::current();
        let irqs = local_interrupt_disable();

        // SAFETY: `task` is the current task; with interrupts disabled, only this code and NMI
        // entries on top of it (which leave it 0 or unchanged) write `hardirq_threaded`.
        let saved = unsafe { entry_field!(task, task_struct, hardirq_threaded).replace(1) };
        // SAFETY: Interrupts disabled; an NMI-like entry on top of task context. Balanced below.
        let s = unsafe { bindings::irqentry_nmi_enter(&mut regs) };
        // SAFETY: As above.
        let inside = unsafe { entry_field!(task, task_struct, hardirq_threaded).read() };
        // SAFETY: Matching exit.
        unsafe { bindings::irqentry_nmi_exit(&mut regs, s) };
        // SAFETY: As above; put the value of before the test back.
        let after = unsafe { entry_field!(task, task_struct, hardirq_threaded).replace(saved) };

        drop(irqs);

        assert_eq!(inside, 0);
        assert_eq!(after, 0);
    }
}
