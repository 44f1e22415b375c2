// SPDX-License-Identifier: GPL-2.0

//! Rust entry probe sample: the generic entry code at work, seen from the kernel side.
//!
//! Writing to `/sys/kernel/debug/rust_entry_probe/record` runs a fixed workload; reading the
//! file prints what each entry path saw. The workload:
//!
//! - `irq_work`: [`IRQS`] irq_work items queued on CPU 0; each raises a self-IPI, so the
//!   callback runs in `sysvec_irq_work()` between `irqentry_enter()` and `irqentry_exit()`
//!   (kernel mode, interrupts were enabled);
//! - `ipi`: [`IRQS`] `smp_call_function_single()` calls from CPU 0 to CPU 1
//!   (`sysvec_call_function_single()`), skipped on a single CPU;
//! - `hrtimer`: a hard-mode high resolution timer that fires [`IRQS`] times, 500 us apart
//!   (`sysvec_apic_timer_interrupt()`);
//! - `preempt`: two kernel threads bound to the last CPU, each spinning for [`SPIN_MS`] ms
//!   without calling `schedule()`. Whether they preempt each other is decided by
//!   `irqentry_exit()` through the `irqentry_exit_cond_resched` static call, that is by the
//!   preemption model (`preempt=` on the command line): with `full` and `lazy` the spinners'
//!   involuntary context switch count grows, with `none` and `voluntary` (not offered by
//!   architectures with `ARCH_HAS_PREEMPT_LAZY`, such as x86) it stays 0.
//!
//! For the three interrupt paths each callback records whether it ran in hard interrupt
//! context, in NMI context, with interrupts disabled and with RCU watching; in every kernel
//! `hardirq` + `polled`, `irqs_off` and `rcu` must read `runs`, and `nmi` 0. `polled` counts
//! IPI functions that a polling idle CPU ran from its idle loop without an interrupt (the
//! sender then only sets `TIF_NEED_RESCHED`); it is 0 for the other paths. The record
//! is the same whichever entry implementation is built (`CONFIG_RUST_GENERIC_ENTRY`), which is
//! what makes it useful to compare them.
//!
//! ```text
//! # echo 1 > /sys/kernel/debug/rust_entry_probe/record
//! # cat /sys/kernel/debug/rust_entry_probe/record
//! irq_work runs=20 hardirq=20 polled=0 irqs_off=20 nmi=0 rcu=20
//! ipi runs=20 hardirq=18 polled=2 irqs_off=20 nmi=0 rcu=20
//! hrtimer runs=20 hardirq=20 polled=0 irqs_off=20 nmi=0 rcu=20
//! preempt model=PREEMPT(full) spinners=2 involuntary=9 preempt_count=0x0
//! ```

use core::ffi::{c_int, c_void};
use kernel::{
    bindings,
    cpu::nr_cpu_ids,
    debugfs::{Dir, File},
    entry::{self, preempt, work},
    error::from_err_ptr,
    impl_has_hr_timer,
    prelude::*,
    sync::{
        atomic::{ordering::Relaxed, Atomic},
        Arc, ArcBorrow, Mutex,
    },
    time::{
        delay::fsleep,
        hrtimer::{
            HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerPointer, HrTimerRestart,
            RelativeHardMode,
        },
        Delta, Instant, Monotonic,
    },
    uaccess::UserSliceReader,
};

module! {
    type: RustEntryProbe,
    name: "rust_entry_probe",
    authors: ["Rust Entry Team"],
    description: "Rust entry probe sample: entry paths and the state they run in",
    license: "GPL",
}

/// Interrupts per path.
const IRQS: u64 = 20;
/// How long each preemption spinner runs, in milliseconds.
const SPIN_MS: i64 = 100;
/// `HARDIRQ_MASK`: `HARDIRQ_BITS` (4) bits from `HARDIRQ_SHIFT` (include/linux/preempt.h).
const HARDIRQ_MASK: usize = preempt::HARDIRQ_OFFSET * 0xf;

/// What the callbacks of one entry path saw.
struct PathStats {
    runs: Atomic<u64>,
    hardirq: Atomic<u64>,
    irqs_off: Atomic<u64>,
    nmi: Atomic<u64>,
    rcu: Atomic<u64>,
    /// Ran in the idle task outside hard interrupt context: a polling idle CPU runs queued
    /// IPI functions from its idle loop instead of taking the interrupt.
    polled: Atomic<u64>,
}

impl PathStats {
    const fn new() -> Self {
        Self {
            runs: Atomic::new(0),
            hardirq: Atomic::new(0),
            irqs_off: Atomic::new(0),
            nmi: Atomic::new(0),
            rcu: Atomic::new(0),
            polled: Atomic::new(0),
        }
    }

    fn reset(&self) {
        for a in [
            &self.runs,
            &self.hardirq,
            &self.irqs_off,
            &self.nmi,
            &self.rcu,
            &self.polled,
        ] {
            a.store(0, Relaxed);
        }
    }

    /// Records the context of the calling callback.
    fn observe(&self) {
        let count = |a: &Atomic<u64>, yes: bool| {
            if yes {
                a.fetch_add(1, Relaxed);
            }
        };
        let hardirq = preempt::preempt_count() & HARDIRQ_MASK != 0;
        count(&self.hardirq, hardirq);
        count(&self.polled, !hardirq && work::is_idle_task_current());
        count(&self.irqs_off, entry::native_irqs_disabled());
        count(&self.nmi, preempt::in_nmi());
        // SAFETY: `rcu_is_watching()` has no preconditions.
        count(&self.rcu, unsafe { bindings::rcu_is_watching() });
        self.runs.fetch_add(1, Relaxed);
    }

    fn print(&self, f: &mut core::fmt::Formatter<'_>, name: &str) -> core::fmt::Result {
        writeln!(
            f,
            "{name} runs={} hardirq={} polled={} irqs_off={} nmi={} rcu={}",
            self.runs.load(Relaxed),
            self.hardirq.load(Relaxed),
            self.polled.load(Relaxed),
            self.irqs_off.load(Relaxed),
            self.nmi.load(Relaxed),
            self.rcu.load(Relaxed)
        )
    }
}

static IRQ_WORK: PathStats = PathStats::new();
static IPI: PathStats = PathStats::new();
static HRTIMER: PathStats = PathStats::new();
/// Involuntary context switches of the spinners, summed.
static INVOLUNTARY: Atomic<u64> = Atomic::new(0);
/// Spinners that ran to the end.
static SPINNERS: Atomic<u64> = Atomic::new(0);
/// Set when both spinners exist, so that they spin at the same time.
static GO: Atomic<u64> = Atomic::new(0);
/// The highest preemption count the spinners saw: 0 when they were preemptible.
static SPIN_PREEMPT_COUNT: Atomic<u64> = Atomic::new(0);

/// Serializes runs of the workload (the statistics are global).
#[pin_data]
struct Runner {
    #[pin]
    lock: Mutex<()>,
}

struct RustEntryProbe {
    _dir: Dir,
    _record: Pin<KBox<File<Runner>>>,
}

impl kernel::Module for RustEntryProbe {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dir = Dir::new(c"rust_entry_probe");
        let record = KBox::pin_init(
            dir.read_write_callback_file(
                c"record",
                try_pin_init!(Runner {
                    lock <- kernel::new_mutex!(()),
                }),
                &show,
                &run,
            ),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _dir: dir,
            _record: record,
        })
    }
}

/// `read()` of the record file.
fn show(_r: &Runner, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    IRQ_WORK.print(f, "irq_work")?;
    IPI.print(f, "ipi")?;
    HRTIMER.print(f, "hrtimer")?;
    // SAFETY: `preempt_model_str()` returns a NUL-terminated string in a static buffer.
    let model = unsafe { CStr::from_char_ptr(bindings::preempt_model_str()) };
    writeln!(
        f,
        "preempt model={} spinners={} involuntary={} preempt_count={:#x}",
        model.to_str().unwrap_or("?"),
        SPINNERS.load(Relaxed),
        INVOLUNTARY.load(Relaxed),
        SPIN_PREEMPT_COUNT.load(Relaxed)
    )
}

/// `write()` of the record file: runs the workload, whatever was written.
fn run(r: &Runner, data: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 8];
    let n = data.len().min(buf.len());
    data.read_slice(&mut buf[..n])?;
    let _guard = r.lock.lock();
    for s in [&IRQ_WORK, &IPI, &HRTIMER] {
        s.reset();
    }
    for a in [&INVOLUNTARY, &SPINNERS, &SPIN_PREEMPT_COUNT, &GO] {
        a.store(0, Relaxed);
    }

    // irq_work and IPIs from CPU 0, so that CPU 1 is always remote.
    let w = [Worker::spawn(0, interrupts)?];
    Worker::join_all(&w)?;
    hrtimer()?;
    // Two spinners on the last CPU compete for it.
    let last = nr_cpu_ids().saturating_sub(1);
    let spinners = [Worker::spawn(last, spin)?, Worker::spawn(last, spin)?];
    // Creating a kernel thread can take longer than a spin under emulation: start both only
    // when both exist.
    GO.store(1, Relaxed);
    Worker::join_all(&spinners)
}

// ---------------------------------------------------------------------------------------------
// Kernel threads bound to a CPU
// ---------------------------------------------------------------------------------------------

/// A kernel thread bound to one CPU that runs one job.
struct Worker {
    task: *mut bindings::task_struct,
    /// Set by the thread when the job is done; boxed so that its address is stable.
    done: KBox<Atomic<i32>>,
}

/// What the thread runs: the job and where it reports completion.
struct Job {
    f: fn() -> i32,
    done: *const Atomic<i32>,
}

impl Worker {
    fn spawn(cpu: u32, f: fn() -> i32) -> Result<Worker> {
        let done = KBox::new(Atomic::new(i32::MIN), GFP_KERNEL)?;
        let job = KBox::new(Job { f, done: &*done }, GFP_KERNEL)?;
        let job = KBox::into_raw(job);
        // SAFETY: `worker_fn` matches `threadfn`; the name is a NUL-terminated format string
        // without conversions, so no variadic argument is read.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(worker_fn),
                job.cast(),
                bindings::NUMA_NO_NODE,
                c"rust_entry_probe".as_char_ptr(),
            )
        };
        let task = match from_err_ptr(task) {
            Ok(t) => t,
            Err(e) => {
                // SAFETY: The thread was not created, so `job` is still ours.
                drop(unsafe { KBox::from_raw(job) });
                return Err(e);
            }
        };
        // SAFETY: `task` was just created and has not run yet, so it may be bound.
        unsafe {
            bindings::kthread_bind(task, cpu);
            bindings::wake_up_process(task);
        }
        Ok(Worker { task, done })
    }

    /// Waits until every worker finished its job (the threads are stopped when dropped).
    fn join_all(workers: &[Worker]) -> Result {
        let mut ret = Ok(());
        for w in workers {
            // Bounded: a job that does not finish in 10 s is reported, not waited for forever.
            let start = Instant::<Monotonic>::now();
            while w.done.load(Relaxed) == i32::MIN {
                if start.elapsed() > Delta::from_secs(10) {
                    pr_err!("a worker did not finish in 10 s\n");
                    return Err(ETIMEDOUT);
                }
                fsleep(Delta::from_millis(1));
            }
            if w.done.load(Relaxed) != 0 {
                ret = Err(EIO);
            }
        }
        ret
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // SAFETY: The thread runs `worker_fn()`, which does not exit before it is told to stop,
        // so `task` is still valid. If the job still runs, this waits for it to finish.
        unsafe { bindings::kthread_stop(self.task) };
    }
}

/// The thread function: runs the job, reports, then waits to be stopped.
///
/// # Safety
///
/// `data` is a `KBox<Job>` turned into a raw pointer whose `done` outlives the thread.
unsafe extern "C" fn worker_fn(data: *mut c_void) -> c_int {
    // SAFETY: By the function's safety requirements.
    let job = unsafe { KBox::from_raw(data.cast::<Job>()) };
    let r = (job.f)();
    // SAFETY: `done` outlives the thread: `Worker::drop()` stops it before `done` is freed.
    unsafe { (*job.done).store(r, Relaxed) };
    loop {
        // SAFETY: `kthread_should_stop()` is called from a kthread.
        let stop = unsafe { bindings::kthread_should_stop() };
        if stop {
            break;
        }
        fsleep(Delta::from_millis(1));
    }
    0
}

// ---------------------------------------------------------------------------------------------
// The paths
// ---------------------------------------------------------------------------------------------

/// The irq_work function: records its context.
///
/// # Safety
///
/// Called by the irq_work core only.
unsafe extern "C" fn irq_work_fn(_w: *mut bindings::irq_work) {
    IRQ_WORK.observe();
}

/// The IPI function: records its context.
///
/// # Safety
///
/// Called by `smp_call_function_single()` only.
unsafe extern "C" fn ipi_fn(_info: *mut c_void) {
    IPI.observe();
}

/// irq_work self-IPIs and IPIs to CPU 1, from CPU 0.
fn interrupts() -> i32 {
    // SAFETY: An all-zero `irq_work` is `IRQ_WORK_INIT()` without a function.
    let mut w: bindings::irq_work = unsafe { core::mem::zeroed() };
    // SAFETY: `w` is a valid `irq_work`, not queued yet.
    unsafe { *kernel::entry_field!(&mut w, irq_work, func) = Some(irq_work_fn) };
    // `IRQ_WORK_INIT_HARD()`: PREEMPT_RT runs irq_work without `IRQ_WORK_HARD_IRQ` in a kernel
    // thread, not in the interrupt, and the interrupt path is what this records.
    // SAFETY: `w` is a valid `irq_work`, not queued yet.
    unsafe {
        kernel::entry_field!(&mut w, irq_work, node_u_flags: node.__bindgen_anon_1.u_flags)
            .write(bindings::IRQ_WORK_HARD_IRQ)
    };
    for _ in 0..IRQS {
        // SAFETY: `w` is initialised and lives until `irq_work_sync()` returned, after which
        // it is no longer queued or running.
        unsafe {
            bindings::irq_work_queue(&mut w);
            bindings::irq_work_sync(&mut w);
        }
    }
    if nr_cpu_ids() < 2 {
        return 0;
    }
    for _ in 0..IRQS {
        // SAFETY: `ipi_fn` takes no data; `wait` is set, so the call has finished on return.
        let r = unsafe {
            bindings::smp_call_function_single(1, Some(ipi_fn), core::ptr::null_mut(), true)
        };
        if r != 0 {
            return r;
        }
    }
    0
}

#[pin_data]
struct Timer {
    #[pin]
    timer: HrTimer<Self>,
}

impl HrTimerCallback for Timer {
    type Pointer<'a> = Arc<Self>;

    fn run(
        _this: ArcBorrow<'_, Self>,
        mut ctx: HrTimerCallbackContext<'_, Self>,
    ) -> HrTimerRestart {
        HRTIMER.observe();
        if HRTIMER.runs.load(Relaxed) >= IRQS {
            HrTimerRestart::NoRestart
        } else {
            ctx.forward_now(Delta::from_micros(500));
            HrTimerRestart::Restart
        }
    }
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Timer {
        mode: RelativeHardMode<Monotonic>, field: self.timer
    }
}

/// A hard-mode hrtimer that fires `IRQS` times.
fn hrtimer() -> Result {
    let t = Arc::pin_init(pin_init!(Timer { timer <- HrTimer::new() }), GFP_KERNEL)?;
    let _handle = t.clone().start(Delta::from_micros(500));
    let start = Instant::<Monotonic>::now();
    while HRTIMER.runs.load(Relaxed) < IRQS {
        if start.elapsed() > Delta::from_secs(10) {
            return Err(ETIMEDOUT);
        }
        fsleep(Delta::from_millis(1));
    }
    Ok(())
}

/// Raises `a` to `v` if it is lower.
fn store_max(a: &Atomic<u64>, v: u64) {
    let mut cur = a.load(Relaxed);
    while cur < v {
        match a.cmpxchg(cur, v, Relaxed) {
            Ok(_) => break,
            Err(seen) => cur = seen,
        }
    }
}

/// Spins for `SPIN_MS` without scheduling; counts the involuntary context switches.
fn spin() -> i32 {
    while GO.load(Relaxed) == 0 {
        fsleep(Delta::from_millis(1));
    }
    store_max(&SPIN_PREEMPT_COUNT, preempt::preempt_count() as u64);
    let before = work::current_nivcsw();
    let start = Instant::<Monotonic>::now();
    while start.elapsed() < Delta::from_millis(SPIN_MS) {
        core::hint::spin_loop();
    }
    let after = work::current_nivcsw();
    INVOLUNTARY.fetch_add(after.wrapping_sub(before) as u64, Relaxed);
    SPINNERS.fetch_add(1, Relaxed);
    0
}
