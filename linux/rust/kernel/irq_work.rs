// SPDX-License-Identifier: GPL-2.0

//! Work run from hard interrupt context.
//!
//! C header: [`include/linux/irq_work.h`](srctree/include/linux/irq_work.h)

use crate::{bindings, container_of, prelude::*, types::Opaque};

/// A `struct irq_work` that runs a function in hard interrupt context (C `IRQ_WORK_INIT_HARD()`).
///
/// [`IrqWork::queue`] queues it on the current CPU; on architectures with an irq_work
/// interrupt, such as x86, the function then runs from that interrupt, with interrupts disabled.
/// An [`IrqWork`] is always pinned, and dropping it waits until it is no longer queued or running
/// (`irq_work_sync()`), so the C code never sees it freed.
///
/// # Examples
///
/// ```
/// use kernel::{irq_work::IrqWork, sync::atomic::{Atomic, Relaxed}};
///
/// static RUNS: Atomic<u32> = Atomic::new(0);
/// fn count() {
///     RUNS.fetch_add(1, Relaxed);
/// }
///
/// let w = KBox::pin_init(IrqWork::new_hard(count), GFP_KERNEL)?;
/// let before = RUNS.load(Relaxed);
/// assert!(w.queue());
/// w.sync();
/// assert_eq!(RUNS.load(Relaxed), before + 1);
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct IrqWork {
    #[pin]
    work: Opaque<bindings::irq_work>,
    func: fn(),
}

// SAFETY: `irq_work_queue()` and `irq_work_sync()` may be called from any CPU on the same work:
// the irq_work core claims it atomically. `func` is a plain function pointer.
unsafe impl Send for IrqWork {}
// SAFETY: As for `Send`: the methods taking `&self` are safe to call concurrently.
unsafe impl Sync for IrqWork {}

impl IrqWork {
    /// Creates an irq_work that runs `func` in hard interrupt context, also with
    /// `CONFIG_PREEMPT_RT` (which runs other irq_work in a kernel thread).
    pub fn new_hard(func: fn()) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `init_irq_work_hard()` initialises all of it.
            work <- Opaque::ffi_init(|slot| unsafe {
                bindings::init_irq_work_hard(slot, Some(Self::run))
            }),
            func,
        })
    }

    /// The C function of the work: calls `func`.
    ///
    /// # Safety
    ///
    /// `work` is the `work` member of a live [`IrqWork`].
    unsafe extern "C" fn run(work: *mut bindings::irq_work) {
        // SAFETY: By the function's safety requirements, `work` is inside an `IrqWork`, which
        // `Opaque` wraps transparently.
        let this =
            unsafe { &*container_of!(work.cast::<Opaque<bindings::irq_work>>(), Self, work) };
        (this.func)();
    }

    /// Queues the work on the current CPU. Returns false if it was already queued (it then runs
    /// once for both). May be called from any context, also with interrupts disabled.
    pub fn queue(&self) -> bool {
        // SAFETY: `work` was initialised by `new_hard()` and is pinned; it stays valid until
        // `drop()` waited for it.
        unsafe { bindings::irq_work_queue(self.work.get()) }
    }

    /// Waits until the work is neither queued nor running. Must be called from task context
    /// with interrupts enabled: it may sleep.
    pub fn sync(&self) {
        // SAFETY: `work` was initialised by `new_hard()` and is pinned.
        unsafe { bindings::irq_work_sync(self.work.get()) }
    }
}

#[pinned_drop]
impl PinnedDrop for IrqWork {
    fn drop(self: Pin<&mut Self>) {
        // Once this returns the irq_work core no longer uses `work`.
        self.sync();
    }
}
