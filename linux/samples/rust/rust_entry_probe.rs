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

use kernel::{
    cpu::{nr_cpu_ids, CpuId},
    debugfs::{Dir, File},
    entry::{self, preempt, work},
    impl_has_hr_timer,
    irq_work::IrqWork,
    kthread::KThread,
    prelude::*,
    smp,
    sync::{
        atomic::{ordering::Relaxed, Atomic},
        rcu, Arc, ArcBorrow, Mutex,
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
        let hardirq = preempt::in_hardirq();
        count(&self.hardirq, hardirq);
        count(&self.polled, !hardirq && work::is_idle_task_current());
        count(&self.irqs_off, entry::native_irqs_disabled());
        count(&self.nmi, preempt::in_nmi());
        count(&self.rcu, rcu::is_watching());
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
    let model = preempt::model();
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

/// A job run by a kernel thread bound to one CPU.
struct Worker {
    /// Stopped (and waited for) when dropped.
    _thread: KThread,
    /// The job's result, `i32::MIN` until it is done.
    done: Arc<Atomic<i32>>,
}

impl Worker {
    fn spawn(cpu: u32, f: fn() -> i32) -> Result<Worker> {
        let cpu = CpuId::from_u32(cpu).ok_or(EINVAL)?;
        let done = Arc::new(Atomic::new(i32::MIN), GFP_KERNEL)?;
        let d = done.clone();
        let thread = KThread::new_on_cpu(cpu, c"rust_entry_probe", move || d.store(f(), Relaxed))?;
        Ok(Worker {
            _thread: thread,
            done,
        })
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

// ---------------------------------------------------------------------------------------------
// The paths
// ---------------------------------------------------------------------------------------------

/// The irq_work function: records its context.
fn irq_work_fn() {
    IRQ_WORK.observe();
}

/// irq_work self-IPIs and IPIs to CPU 1, from CPU 0.
fn interrupts() -> i32 {
    match interrupts_result() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

fn interrupts_result() -> Result {
    // A hard irq_work: PREEMPT_RT runs the others in a kernel thread, not in the interrupt, and
    // the interrupt path is what this records.
    let w = KBox::pin_init(IrqWork::new_hard(irq_work_fn), GFP_KERNEL)?;
    for _ in 0..IRQS {
        w.queue();
        w.sync();
    }
    let Some(cpu1) = CpuId::from_u32(1) else {
        return Ok(());
    };
    for _ in 0..IRQS {
        smp::call_function_single(cpu1, &|| IPI.observe())?;
    }
    Ok(())
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
