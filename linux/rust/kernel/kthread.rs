// SPDX-License-Identifier: GPL-2.0

//! Kernel threads.
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h)

use crate::{
    bindings,
    cpu::CpuId,
    error::{from_err_ptr, Result},
    prelude::*,
    sync::aref::ARef,
    task::Task,
};
use core::{
    ffi::{c_int, c_void},
    ptr::NonNull,
};

/// A kernel thread bound to one CPU, running a closure once.
///
/// The thread is created with `kthread_create_on_node()`, bound with `kthread_bind()` before it
/// first runs and then woken up. It runs the closure and exits. Dropping a [`KThread`] stops it
/// with `kthread_stop()`, which waits for the closure to return; if the thread had not started
/// the closure yet, the closure is dropped without running.
///
/// # Invariants
///
/// - `task` is a kernel thread created by [`KThread::new_on_cpu`], and the [`ARef`] keeps its
///   `task_struct` (and so its `struct kthread`) alive until `kthread_stop()` is called, even
///   when the thread has exited by then.
/// - `data` is the closure box handed to the thread, and `free` drops it. The thread owns it
///   once it runs the closure; until then, or when it never does, it belongs to this value.
/// - `stopped` is true once `kthread_stop()` was called (and the box dropped if it was ours).
///
/// # Examples
///
/// ```
/// use kernel::{
///     cpu::CpuId,
///     kthread::KThread,
///     sync::{
///         atomic::{Atomic, Relaxed},
///         Arc, Completion,
///     },
/// };
///
/// let cpu = CpuId::current();
/// let seen = Arc::new(Atomic::new(u32::MAX), GFP_KERNEL)?;
/// let started = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
/// let (s, c) = (seen.clone(), started.clone());
/// let t = KThread::new_on_cpu(cpu, c"kthread_doctest", move || {
///     s.store(CpuId::current().as_u32(), Relaxed);
///     c.complete_all();
/// })?;
/// // Once the closure signalled, stopping the thread reports that it ran, on `cpu`.
/// started.wait_for_completion();
/// assert!(t.stop());
/// assert_eq!(seen.load(Relaxed), cpu.as_u32());
///
/// // A thread stopped at once may not have started its closure: then it never runs it.
/// let seen = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
/// let s = seen.clone();
/// let t = KThread::new_on_cpu(cpu, c"kthread_doctest", move || s.store(1, Relaxed))?;
/// let ran = t.stop();
/// assert_eq!(seen.load(Relaxed), u32::from(ran));
/// # Ok::<(), Error>(())
/// ```
pub struct KThread {
    task: ARef<Task>,
    data: *mut c_void,
    free: unsafe fn(*mut c_void),
    stopped: bool,
}

// SAFETY: The thread may be stopped from any task; the closure it owns is `Send`.
unsafe impl Send for KThread {}
// SAFETY: `&KThread` gives no access to the closure or the thread.
unsafe impl Sync for KThread {}

/// The thread function: runs the closure once.
///
/// # Safety
///
/// `data` is a `KBox<F>` turned into a raw pointer, owned by the caller.
unsafe extern "C" fn run<F: FnOnce() + Send + 'static>(data: *mut c_void) -> c_int {
    // SAFETY: By the function's safety requirements; the thread now owns the closure.
    let f = unsafe { KBox::<F>::from_raw(data.cast()) };
    KBox::into_inner(f)();
    // Never `-EINTR`: that result of `kthread_stop()` means that the closure did not run.
    0
}

/// Drops a closure box that its thread never took.
///
/// # Safety
///
/// `data` is a `KBox<F>` turned into a raw pointer, owned by the caller.
unsafe fn free<F>(data: *mut c_void) {
    // SAFETY: By the function's safety requirements.
    drop(unsafe { KBox::<F>::from_raw(data.cast()) });
}

impl KThread {
    /// Creates a kernel thread named `name` bound to `cpu`, and starts it running `f`.
    ///
    /// Must be called from task context: creating a thread sleeps.
    pub fn new_on_cpu<F>(cpu: CpuId, name: &CStr, f: F) -> Result<Self>
    where
        F: FnOnce() + Send + 'static,
    {
        let data = KBox::into_raw(KBox::new(f, GFP_KERNEL)?).cast::<c_void>();
        // SAFETY: `run::<F>` takes the `KBox<F>` that `data` is; `"%s"` consumes exactly the one
        // variadic argument, a NUL-terminated string that outlives the call.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(run::<F>),
                data,
                bindings::NUMA_NO_NODE,
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        let task = match from_err_ptr(task) {
            Ok(task) => task,
            Err(e) => {
                // SAFETY: No thread was created, so `run()` never takes `data`.
                unsafe { free::<F>(data) };
                return Err(e);
            }
        };
        // SAFETY: `kthread_create_on_node()` returned a valid task, which cannot exit before it
        // is woken up, so it is alive here.
        unsafe { bindings::get_task_struct(task) };
        // SAFETY: `task` is valid and not null (it is not an error pointer), `Task` is a
        // transparent wrapper of `task_struct`, and the reference just taken is handed over.
        let task: ARef<Task> = unsafe { ARef::from_raw(NonNull::new_unchecked(task.cast())) };
        // SAFETY: The thread was created and has not been woken up: it is inactive, as
        // `kthread_bind()` requires. `cpu` is a valid CPU (`CpuId` invariant).
        unsafe { bindings::kthread_bind(task.as_ptr(), cpu.as_u32()) };
        // SAFETY: `task` is a valid task.
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        // INVARIANT: `task` is the thread just created, with a reference of our own; `data` and
        // `free::<F>` are its closure and the function that drops it.
        Ok(Self {
            task,
            data,
            free: free::<F>,
            stopped: false,
        })
    }

    /// Returns the thread's task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// Stops the thread and waits until it exited; returns whether it ran the closure.
    ///
    /// A thread that had not started the closure when asked to stop never runs it: the closure
    /// is dropped and this returns `false`. Dropping a [`KThread`] does the same.
    pub fn stop(mut self) -> bool {
        self.do_stop()
    }

    /// Stops the thread once: the second call (from `drop()` after `stop()`) does nothing.
    fn do_stop(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        self.stopped = true;
        // SAFETY: `task` is a kernel thread and its `task_struct` is alive (type invariants).
        // `kthread_stop()` wakes it, waits until it exited and returns `-EINTR` only if it was
        // stopped before it called `run()`, which always returns 0.
        let ret = unsafe { bindings::kthread_stop(self.task.as_ptr()) };
        if ret == -(bindings::EINTR as c_int) {
            // SAFETY: The thread never ran `run()`, so the closure box is still ours; it is
            // dropped once, as `stopped` makes this code run once per value.
            unsafe { (self.free)(self.data) };
            return false;
        }
        true
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        self.do_stop();
    }
}
