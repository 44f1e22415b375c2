//! The instruction-exact benchmark behind `entry-lab bench`: boots a flavor
//! under TCG with `-icount shift=0,sleep=off,align=off` and `-smp 1` with an
//! initramfs that runs only `lab/guest/entry_bench.c`, parses its figures
//! (TSC ticks per operation; under icount one tick is one guest instruction),
//! checks that two boots agree, compares c with rust, measures the entry
//! symbols of both vmlinux images (sizes, calls), and writes the table,
//! `results/bench.json` and the SVG chart of the ratios.

use crate::build;
use crate::guest;
use crate::lab::{Flavor, Lab, Variant, LLVM_BIN};
use crate::qemu::{self, Entry, Outcome, RunSpec};
use crate::symbols::ENTRY_SYMBOLS;
use crate::util::{bail, fmt_dur, read, run, say, write, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The guest's real-time clock: a fixed date that advances with the virtual
/// clock. With the host's time (QEMU's default) every boot starts from a
/// different date, which the kernel mixes into its random pool, and so into
/// KASLR, hash seeds and the scheduler's choices; icount alone then does not
/// make two boots of one kernel execute the same instructions.
pub const RTC: &str = "base=2026-01-01T00:00:00,clock=vm";

/// Two runs of a figure must agree to this (percent).
pub const AGREEMENT_PCT: f64 = 0.1;

/// How the guest is run: TCG only (icount exists only there), one CPU,
/// the TSC tied to the instruction count.
pub const ICOUNT: &str = "shift=0,sleep=off,align=off";

/// The kernel command line's preemption model for the benchmark. `lazy`
/// makes a wakeup of a fair task set TIF_NEED_RESCHED_LAZY, which only the
/// exit to user mode acts on: the pipe ping-pong then reschedules in
/// exit_to_user_mode_loop() instead of at a preempt_enable() in the kernel.
pub const PREEMPT: &str = "preempt=lazy";

/// One figure the benchmark prints.
pub struct FigureInfo {
    pub name: &'static str,
    /// What one round does.
    pub what: &'static str,
    /// The out-of-line entry functions (C or Rust) the round runs, or "" when
    /// it runs none of them (then c and rust run the same code).
    pub entry: &'static str,
}

/// Every figure, in the order of the table.
pub const FIGURES: [FigureInfo; 14] = [
    FigureInfo { name: "syscall", what: "getppid(), no syscall work", entry: "" },
    FigureInfo {
        name: "syscall_seccomp",
        what: "getppid(), seccomp filter that allows",
        entry: "syscall_trace_enter, syscall_exit_work",
    },
    FigureInfo {
        name: "syscall_tracepoint",
        what: "getppid(), raw_syscalls:sys_enter enabled",
        entry: "syscall_trace_enter, syscall_exit_work",
    },
    FigureInfo {
        name: "syscall_audit",
        what: "getppid(), audit on (no rules)",
        entry: "syscall_trace_enter, syscall_exit_work",
    },
    FigureInfo {
        name: "syscall_sud",
        what: "getppid(), syscall user dispatch on, selector ALLOW",
        entry: "syscall_trace_enter, syscall_user_dispatch, syscall_exit_work",
    },
    FigureInfo {
        name: "syscall_ptrace",
        what: "getppid() under PTRACE_SYSCALL: entry and exit stops, the tracer resumes",
        entry: "syscall_trace_enter, syscall_exit_work (ptrace stops)",
    },
    FigureInfo { name: "signal_kill", what: "kill(getpid(), SIGUSR1), handler", entry: "exit_to_user_mode_loop" },
    FigureInfo {
        name: "exc_ud",
        what: "ud2 -> #UD -> SIGILL, handler skips it",
        entry: "irqentry_enter/exit, exit_to_user_mode_loop",
    },
    FigureInfo {
        name: "exc_pf",
        what: "load from 0x10 -> #PF -> SIGSEGV, handler skips it",
        entry: "irqentry_enter/exit, exit_to_user_mode_loop",
    },
    FigureInfo {
        name: "exc_gp",
        what: "hlt in user mode -> #GP -> SIGSEGV, handler skips it",
        entry: "irqentry_enter/exit, exit_to_user_mode_loop",
    },
    FigureInfo {
        name: "resched_pipe",
        what: "pipe ping-pong round trip, 2 tasks on 1 CPU",
        entry: "exit_to_user_mode_loop (schedule)",
    },
    FigureInfo { name: "irq_user", what: "APIC timer irq (timerfd expiry) in user mode", entry: "irqentry_enter/exit" },
    FigureInfo {
        name: "irq_kernel",
        what: "APIC timer irq (timerfd expiry) in kernel mode",
        entry: "irqentry_enter/exit, raw_irqentry_exit_cond_resched",
    },
    FigureInfo { name: "nmi", what: "self-NMI (local APIC) in the kernel, IRQs off", entry: "irqentry_nmi_enter/exit" },
];

/// What is not measured, and why (printed under the table, in the JSON).
/// Empty since the NMI figure came (a module raises and times self-NMIs).
pub const NOT_MEASURED: &[(&str, &str)] = &[];

/// One figure as the guest printed it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figure {
    /// Minimum over the repetitions (ticks per round).
    pub min: f64,
    pub reps: u32,
    pub rounds: u64,
    /// Every repetition.
    pub all: Vec<f64>,
    /// Other `key=value` fields (e.g. `preemptions_per_round`).
    pub extra: BTreeMap<String, String>,
}

/// Everything the benchmark printed on one console.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Printed {
    pub figures: BTreeMap<String, Figure>,
    /// Figures it could not take: name -> why.
    pub skips: BTreeMap<String, String>,
    /// `BENCH-ERROR` lines.
    pub errors: Vec<String>,
    /// The count on `BENCH-DONE` (None: it never finished).
    pub done: Option<usize>,
    /// Figure names in the order they were printed.
    #[serde(default)]
    pub order: Vec<String>,
}

/// Parses one `BENCH name min=.. reps=.. rounds=.. all=a,b [k=v ...]` line.
pub fn parse_figure(line: &str) -> Option<(String, Figure)> {
    let mut words = line.strip_prefix("BENCH ")?.split_whitespace();
    let name = words.next()?.to_string();
    let mut kv: BTreeMap<String, String> =
        words.filter_map(|w| w.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let min = kv.remove("min")?.parse::<f64>().ok().filter(|v| v.is_finite())?;
    let reps = kv.remove("reps")?.parse().ok()?;
    let rounds = kv.remove("rounds")?.parse().ok()?;
    let all =
        kv.remove("all")?.split(',').map(|v| v.parse::<f64>()).collect::<std::result::Result<Vec<_>, _>>().ok()?;
    Some((name, Figure { min, reps, rounds, all, extra: kv }))
}

/// Reads the benchmark's lines from a console log (kernel lines, with a
/// printk time stamp, are not its output).
pub fn parse(console: &str) -> Printed {
    let mut p = Printed::default();
    for l in console.lines().map(str::trim_end).filter(|l| !l.starts_with('[')) {
        if let Some((name, f)) = parse_figure(l) {
            p.order.push(name.clone());
            p.figures.insert(name, f);
        } else if let Some(rest) = l.strip_prefix("BENCH-SKIP ") {
            let (name, why) = rest.split_once(' ').unwrap_or((rest, ""));
            p.skips.insert(name.to_string(), why.to_string());
        } else if let Some(rest) = l.strip_prefix("BENCH-ERROR ") {
            p.errors.push(rest.to_string());
        } else if let Some(rest) = l.strip_prefix("BENCH-DONE ") {
            p.done = rest.trim().parse().ok();
        }
    }
    p
}

/// What is wrong with a console's figures: errors, skips, missing ones, an
/// unfinished run. Empty when every figure of [`FIGURES`] came out.
pub fn problems(p: &Printed) -> Vec<String> {
    let mut v: Vec<String> = p.errors.iter().map(|e| format!("error: {e}")).collect();
    for f in &FIGURES {
        if !p.figures.contains_key(f.name) {
            match p.skips.get(f.name) {
                Some(why) => v.push(format!("{} skipped: {why}", f.name)),
                None => v.push(format!("{} missing", f.name)),
            }
        }
    }
    if p.done.is_none() {
        v.push("the benchmark did not finish (no BENCH-DONE)".into());
    }
    v
}

// ------------------------------------------------------------- boots --

/// How the benchmark runs in a boot (`entrylab.bench=` on the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    /// 5 repetitions after a warm-up, full round counts.
    Full,
    /// One short repetition: every figure must come out.
    Smoke,
    /// As smoke, with a getcpu() marker before each figure, in a boot that
    /// logs every instruction executed in the entry code.
    Trace,
}

impl Mode {
    pub fn word(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Smoke => "smoke",
            Mode::Trace => "trace",
        }
    }
}

/// One boot of a flavor with the benchmark.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Run {
    pub flavor: String,
    /// 1 or 2.
    pub run: u32,
    pub mode: Mode,
    pub printed: Printed,
    /// Everything that went wrong (empty: a complete run).
    pub problems: Vec<String>,
    pub splats: Vec<String>,
    pub cmdline: String,
    pub kernel_sha256: Option<String>,
    pub seconds: u64,
    pub log: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn mins(&self) -> BTreeMap<String, f64> {
        self.printed.figures.iter().map(|(k, f)| (k.clone(), f.min)).collect()
    }
}

/// The benchmark's NMI source, `lab/guest/entry_bench_nmi/`, built as a
/// module against the kernel of `f` (`make M=`, a few seconds; make keeps
/// it when nothing changed). Not part of the series: lab tooling.
pub fn nmi_module(lab: &Lab, f: Flavor) -> Result<PathBuf> {
    let dir = lab.cache.join("guest").join(format!("entry_bench_nmi-{}", f.name()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for name in ["Kbuild", "entry_bench_nmi.c"] {
        let text = read(&lab.repo.join("lab/guest/entry_bench_nmi").join(name))?;
        // Rewritten only when it changed, so that make can keep the module.
        if read(&dir.join(name)).ok().as_deref() != Some(text.as_str()) {
            write(&dir.join(name), &text)?;
        }
    }
    let mut make = lab.make(f);
    make.arg(format!("M={}", dir.display())).arg("modules");
    run(&mut make).with_context(|| format!("{}: building the NMI benchmark module", f.name()))?;
    Ok(dir.join("entry_bench_nmi.ko"))
}

/// The initramfs of the benchmark for `f`: busybox, the lab's /init, a plan
/// with the benchmark alone, the program and the NMI module built for `f`
/// (a module loads only into the kernel it was built against). Written next
/// to the lab's initramfs.
pub fn initramfs(lab: &Lab, f: Flavor) -> Result<PathBuf> {
    let p = guest::bench_program(lab)?;
    let plan = format!(
        "# GROUP NAME TIMEOUT COMMAND (written by entry-lab bench)\n{} {} {} {}\n",
        p.group.name(),
        p.name,
        p.limit,
        p.cmd
    );
    let mut entries = qemu::base_entries(lab, &["tests"], Path::new("/bin/busybox"), plan)?;
    for (inside, host) in &p.files {
        entries.push(Entry::File(inside.clone(), guest::file_bytes(host)?, 0o755));
    }
    let ko = nmi_module(lab, f)?;
    entries.push(Entry::File("tests/entry_bench_nmi.ko".into(), guest::file_bytes(&ko)?, 0o644));
    let path = lab.cache.join(format!("bench-initramfs-{}.cpio", f.name()));
    write(&path, qemu::cpio(&entries))?;
    Ok(path)
}

/// The kernel command line of a benchmark boot. A trace boot has no KASLR,
/// so that the traced addresses are the ones of vmlinux.
pub fn cmdline(mode: Mode) -> String {
    format!(
        "console=ttyS0 panic=-1 kunit.enable=0 entrylab.groups=bench entrylab.bench={} {PREEMPT}{}",
        mode.word(),
        if mode == Mode::Trace { " nokaslr" } else { "" }
    )
}

/// The QEMU command of a benchmark boot; `trace` adds the instruction log
/// (`-d exec,nochain` with one instruction per translation block, only for
/// the address ranges of the filter, into the given file).
pub fn qemu_command(kernel: &Path, initrd: &Path, cmdline: &str, trace: Option<(&str, &Path)>) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    let accel = if trace.is_some() { "tcg,one-insn-per-tb=on" } else { "tcg" };
    cmd.args(["-nodefaults", "-nographic", "-no-reboot", "-m", "1024", "-accel", accel])
        .args(["-icount", ICOUNT, "-smp", "1", "-serial", "stdio", "-bios", "qboot.rom"])
        .args(["-rtc", RTC])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(cmdline);
    if let Some((filter, log)) = trace {
        cmd.args(["-d", "exec,nochain", "-dfilter", filter, "-D"]).arg(log);
    }
    cmd
}

/// Boots a flavor's existing kernel image with the benchmark once.
pub fn boot(lab: &Lab, f: Flavor, initrd: &Path, run_no: u32, mode: Mode) -> Result<Run> {
    boot_with(lab, f, initrd, run_no, mode, None)
}

fn boot_with(
    lab: &Lab,
    f: Flavor,
    initrd: &Path,
    run_no: u32,
    mode: Mode,
    trace: Option<(&str, &Path)>,
) -> Result<Run> {
    let kernel = build::kernel_image(lab, f);
    if !kernel.exists() {
        bail!("{}: no kernel at {}", f.name(), kernel.display());
    }
    let suffix = if mode == Mode::Full { String::new() } else { format!("-{}", mode.word()) };
    let tag = format!("bench-{}{suffix}-{run_no}", f.name());
    let log = lab.results.join("logs").join(format!("{tag}.log"));
    let cmdline = cmdline(mode);
    let cmd = qemu_command(&kernel, initrd, &cmdline, trace);
    let spec = RunSpec {
        log: log.clone(),
        first_output: Duration::from_secs(60),
        overall: Duration::from_secs(if mode == Mode::Full { 1200 } else { 600 }),
        done_marker: "ENTRY-LAB: DONE".into(),
    };
    say(&tag, &format!("booting (tcg, -icount {ICOUNT}, -smp 1, {PREEMPT}; log: {})", log.display()));
    let start = Instant::now();
    let (outcome, console) = qemu::run_console(cmd, &spec, &tag)?;
    let printed = parse(&console);
    let mut problems = vec![];
    if let Some(e) = qemu::explain(&outcome, &log) {
        problems.push(e);
    }
    match crate::boot::guest_results(&console).get("entry_bench") {
        Some(0) => {}
        Some(rc) => problems.push(format!("entry_bench exited with {rc}")),
        None if outcome == Outcome::Completed => problems.push("entry_bench did not run".into()),
        None => {}
    }
    problems.extend(self::problems(&printed));
    let splats = qemu::splats(&console);
    problems.extend(splats.iter().map(|s| format!("console splat: {s}")));
    let r = Run {
        flavor: f.name(),
        run: run_no,
        mode,
        printed,
        problems,
        splats,
        cmdline,
        kernel_sha256: crate::memo::file_hash(&kernel),
        seconds: start.elapsed().as_secs(),
        log: log.display().to_string(),
    };
    say_figures(&tag, &r.printed, start.elapsed(), &r.problems);
    Ok(r)
}

/// Says how many figures a benchmark boot printed, how long it took and
/// what went wrong.
pub fn say_figures(tag: &str, printed: &Printed, took: Duration, problems: &[String]) {
    let bad = if problems.is_empty() { String::new() } else { format!("; PROBLEMS: {}", problems.join("; ")) };
    say(tag, &format!("{} figures in {}{bad}", printed.figures.len(), fmt_dur(took)));
}

/// The test job's check: both plain variants boot with a short run of the
/// benchmark and print every figure (the values are not looked at). Builds
/// nothing: the test job has built both kernels before. Returns a summary.
pub fn smoke(lab: &Lab) -> Result<String> {
    let mut bad = vec![];
    let mut secs = vec![];
    for variant in Variant::ALL {
        let f = Flavor { variant, debug: false };
        let initrd = initramfs(lab, f)?;
        let r = boot(lab, f, &initrd, 1, Mode::Smoke)?;
        secs.push(format!("{} {} s", r.flavor, r.seconds));
        if !r.ok() {
            bad.push(format!("{}: {} (log: {})", r.flavor, r.problems.join("; "), r.log));
        }
    }
    if !bad.is_empty() {
        bail!("{}", bad.join("; "));
    }
    Ok(format!("{} figures on each ({})", FIGURES.len(), secs.join(", ")))
}

// ------------------------------------------------------------- trace --

/// Function start addresses of a vmlinux (`llvm-nm -n`), to name the
/// function an instruction address belongs to.
#[derive(Debug, Default)]
pub struct Functions {
    addrs: Vec<u64>,
    names: Vec<String>,
}

impl Functions {
    /// From `llvm-nm -n` (sorted by address); text symbols only.
    pub fn parse(nm: &str) -> Functions {
        let mut f = Functions::default();
        for l in nm.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if let [addr, kind, name] = w[..] {
                if matches!(kind, "t" | "T" | "w" | "W") && !name.starts_with("__pfx_") {
                    if let Ok(a) = u64::from_str_radix(addr, 16) {
                        f.addrs.push(a);
                        f.names.push(name.to_string());
                    }
                }
            }
        }
        f
    }

    pub fn of(&self, pc: u64) -> Option<&str> {
        let i = self.addrs.partition_point(|&a| a <= pc);
        i.checked_sub(1).map(|i| self.names[i].as_str())
    }
}

/// The guest pc of a QEMU `-d exec` line:
/// `Trace 0: 0x7f.. [00000000/ffffffff81872010/0000c290/ff022201] `.
pub fn trace_pc(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("Trace ")?;
    let inside = rest.split_once('[')?.1.split_once(']')?.0;
    u64::from_str_radix(inside.split('/').nth(1)?, 16).ok()
}

/// Instructions executed per function in each window of a trace: a window
/// starts at each execution of `marker` (the guest's getcpu() marks);
/// whatever runs before the first one (the boot) is not counted.
pub fn count_windows(trace: impl std::io::BufRead, funcs: &Functions, marker: u64) -> Vec<BTreeMap<String, u64>> {
    let mut windows: Vec<BTreeMap<String, u64>> = vec![];
    for line in trace.lines() {
        let Ok(line) = line else { break };
        let Some(pc) = trace_pc(&line) else { continue };
        if pc == marker {
            windows.push(BTreeMap::new());
            continue;
        }
        if let (Some(w), Some(f)) = (windows.last_mut(), funcs.of(pc)) {
            *w.entry(f.to_string()).or_default() += 1;
        }
    }
    windows
}

/// What a trace boot logs: all of `.noinstr.text`, the entry code in
/// `.text` (from 2 KiB before exit_to_user_mode_loop to 2 KiB after
/// raw_irqentry_exit_cond_resched: C's outlined helpers and Rust's shims sit
/// there) and the marker, `__x64_sys_getcpu`. Everything else is the same C
/// code in both variants. Returns the -dfilter value and the marker.
pub fn trace_filter(nm_sizes: &BTreeMap<String, (u64, Option<u64>)>) -> Result<(String, u64)> {
    let addr = |n: &str| nm_sizes.get(n).map(|s| s.0).with_context(|| format!("{n} not in vmlinux"));
    let (marker, msize) =
        nm_sizes.get("__x64_sys_getcpu").map(|s| (s.0, s.1.unwrap_or(1))).context("__x64_sys_getcpu not in vmlinux")?;
    let mut filter = format!(
        "{:#x}..{:#x},{:#x}..{:#x},{marker:#x}+{msize:#x}",
        addr("__noinstr_text_start")?,
        addr("__noinstr_text_end")?,
        addr("exit_to_user_mode_loop")? - 0x800,
        addr("raw_irqentry_exit_cond_resched")? + 0x800,
    );
    // The system call work: out of line in `rust` (.text), inlined into
    // do_syscall_64() (.noinstr.text) in `c`; syscall user dispatch.
    for n in SYSCALL_WORK {
        if let Some(&(a, Some(size))) = nm_sizes.get(n) {
            filter.push_str(&format!(",{a:#x}+{size:#x}"));
        }
    }
    Ok((filter, marker))
}

/// The system call work functions the trace follows when they are out of
/// line: the first two only in `rust` (C inlines them into
/// `do_syscall_64()`), `syscall_user_dispatch()` in both (C or Rust).
const SYSCALL_WORK: [&str; 3] = ["syscall_trace_enter", "syscall_exit_work", "syscall_user_dispatch"];

/// One trace boot: the benchmark in trace mode with every instruction of
/// the entry code logged to a FIFO and counted as it comes (a boot logs
/// about 20 million lines). Returns the boot and the windows, one per
/// figure in the order printed, then one for the end.
pub fn trace(lab: &Lab, f: Flavor, initrd: &Path) -> Result<(Run, Vec<BTreeMap<String, u64>>)> {
    let vmlinux = lab.build_dir(f).join("vmlinux");
    let nm = |args: &[&str]| {
        run(llvm("llvm-nm").args(args).arg(&vmlinux)).with_context(|| format!("llvm-nm {}", vmlinux.display()))
    };
    let (filter, marker) = trace_filter(&nm_sizes(&nm(&["-S"])?))?;
    let funcs = Functions::parse(&nm(&["-n"])?);
    let fifo = lab.cache.join(format!("bench-trace-{}.fifo", f.name()));
    let _ = std::fs::remove_file(&fifo);
    run(Command::new("mkfifo").arg(&fifo))?;
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || -> Result<Vec<BTreeMap<String, u64>>> {
            let file = std::fs::File::open(&fifo).with_context(|| format!("cannot open {}", fifo.display()))?;
            Ok(count_windows(std::io::BufReader::with_capacity(1 << 20, file), &funcs, marker))
        })
    };
    let r = boot_with(lab, f, initrd, 1, Mode::Trace, Some((&filter, &fifo)));
    if r.is_err() {
        // QEMU never opened the FIFO: open it for writing so the reader ends.
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
    }
    let windows = reader.join().map_err(|_| crate::util::anyhow!("the trace reader panicked"))?;
    let _ = std::fs::remove_file(&fifo);
    Ok((r?, windows?))
}

/// One function's share of a figure, in instructions per round.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Share {
    pub function: String,
    pub c: f64,
    pub rust: f64,
}

/// Where the rust - c difference of a figure is, from the traces.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Account {
    pub figure: String,
    pub rounds: u64,
    /// The traced difference per round in the entry code: the entry
    /// symbols and the functions only one of the two kernels runs (C's
    /// outlined helpers of common.c, Rust's shims).
    pub entry: f64,
    /// The traced difference per round in the rest of the traced code (the
    /// same C code in both kernels: an interrupt landing in one window and
    /// not in the other, console output).
    pub other: f64,
    /// The difference the trace boots themselves measured (ticks per round).
    pub measured: Option<f64>,
    /// Every entry function whose count differs, largest difference first.
    pub functions: Vec<Share>,
}

/// The entry code of two traces: the entry symbols and whatever runs in
/// only one of the two kernels.
fn entry_functions(cw: &[BTreeMap<String, u64>], rw: &[BTreeMap<String, u64>]) -> BTreeSet<String> {
    let names = |w: &[BTreeMap<String, u64>]| w.iter().flat_map(|m| m.keys().cloned()).collect::<BTreeSet<_>>();
    let (c, r) = (names(cw), names(rw));
    c.symmetric_difference(&r)
        .cloned()
        .chain(ENTRY_SYMBOLS.iter().chain(&SYSCALL_WORK).chain(&["do_syscall_64"]).map(|s| s.to_string()))
        .collect()
}

/// Lines the windows up with the figures of each trace boot and compares.
pub fn account(c: &Run, cw: &[BTreeMap<String, u64>], rust: &Run, rw: &[BTreeMap<String, u64>]) -> Vec<Account> {
    let entry = entry_functions(cw, rw);
    let mut out = vec![];
    for (i, name) in c.printed.order.iter().enumerate() {
        if rust.printed.order.get(i) != Some(name) {
            break;
        }
        let (Some(cwin), Some(rwin)) = (cw.get(i), rw.get(i)) else { break };
        let rounds = c.printed.figures[name].rounds.max(1);
        let per = |v: u64| v as f64 / rounds as f64;
        let shares: Vec<Share> = cwin
            .keys()
            .chain(rwin.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|f| Share {
                function: f.clone(),
                c: per(cwin.get(f).copied().unwrap_or(0)),
                rust: per(rwin.get(f).copied().unwrap_or(0)),
            })
            .collect();
        let diff = |keep: bool| {
            shares.iter().filter(|s| entry.contains(&s.function) == keep).map(|s| s.rust - s.c).sum::<f64>()
        };
        let mut functions: Vec<Share> =
            shares.iter().filter(|s| entry.contains(&s.function) && (s.rust - s.c).abs() >= 0.05).cloned().collect();
        functions
            .sort_by(|a, b| (b.rust - b.c).abs().total_cmp(&(a.rust - a.c).abs()).then(a.function.cmp(&b.function)));
        let measured = c.printed.figures[name].min;
        out.push(Account {
            figure: name.clone(),
            rounds,
            entry: diff(true),
            other: diff(false),
            measured: rust.printed.figures.get(name).map(|r| r.min - measured),
            functions,
        });
    }
    out
}

/// The accounting as text: per figure, the entry functions whose
/// instruction counts per round differ.
pub fn account_table(accounts: &[Account]) -> String {
    let mut s = String::from(
        "instructions per round executed in the entry code (QEMU -d exec, one instruction per block): c, rust, rust-c\n",
    );
    for a in accounts {
        s.push_str(&format!(
            "\n{}: rust-c {:+.1} in the entry code, {:+.1} elsewhere in the traced code; {} measured ({} rounds)\n",
            a.figure,
            a.entry,
            a.other,
            a.measured.map_or("-".into(), |m| format!("{m:+.1}")),
            a.rounds
        ));
        for f in &a.functions {
            s.push_str(&format!("  {:<48} {:>8.1} {:>8.1} {:>+8.1}\n", f.function, f.c, f.rust, f.rust - f.c));
        }
    }
    s
}

// -------------------------------------------------------- comparisons --

/// How two runs of one flavor agree on a figure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Agreement {
    pub figure: String,
    pub first: Option<f64>,
    pub second: Option<f64>,
    /// |first - second| relative to the smaller, in percent.
    pub pct: Option<f64>,
    pub ok: bool,
}

/// Relative difference in percent (0 when both are 0).
pub fn rel_pct(a: f64, b: f64) -> f64 {
    let base = a.abs().min(b.abs());
    if a == b {
        0.0
    } else if base == 0.0 {
        f64::INFINITY
    } else {
        (a - b).abs() / base * 100.0
    }
}

/// Compares two runs figure by figure; a figure missing from either does
/// not agree.
pub fn agreement(first: &BTreeMap<String, f64>, second: &BTreeMap<String, f64>) -> Vec<Agreement> {
    FIGURES
        .iter()
        .map(|f| {
            let (a, b) = (first.get(f.name).copied(), second.get(f.name).copied());
            let pct = a.zip(b).map(|(a, b)| rel_pct(a, b));
            Agreement { figure: f.name.into(), first: a, second: b, pct, ok: pct.is_some_and(|p| p <= AGREEMENT_PCT) }
        })
        .collect()
}

/// The smaller of each figure over the runs.
pub fn best(runs: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for r in runs {
        for (k, v) in r {
            let e = out.entry(k.clone()).or_insert(*v);
            *e = e.min(*v);
        }
    }
    out
}

/// One figure of c against rust.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// "plain" or "debug".
    pub kernel: String,
    pub figure: String,
    pub c: f64,
    pub rust: f64,
    /// rust - c (ticks).
    pub diff: f64,
    /// rust / c.
    pub ratio: f64,
}

pub fn compare(kernel: &str, c: &BTreeMap<String, f64>, rust: &BTreeMap<String, f64>) -> Vec<Comparison> {
    FIGURES
        .iter()
        .filter_map(|f| {
            let (c, rust) = (*c.get(f.name)?, *rust.get(f.name)?);
            Some(Comparison {
                kernel: kernel.into(),
                figure: f.name.into(),
                c,
                rust,
                diff: rust - c,
                ratio: if c == 0.0 { f64::NAN } else { rust / c },
            })
        })
        .collect()
}

// ------------------------------------------------------------- sizes --

/// An entry function in vmlinux: its size and what it calls.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SymbolCode {
    pub size: u64,
    /// `call` instructions, in order, by target (`*%rax` for indirect).
    pub calls: Vec<String>,
    /// `jmp` to another function (tail calls), by target.
    pub tail_calls: Vec<String>,
    /// Returns through `__x86_return_thunk`.
    pub returns: usize,
}

/// The entry code of one vmlinux.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct EntryCode {
    /// `__noinstr_text_end - __noinstr_text_start`.
    pub noinstr_text: u64,
    pub symbols: BTreeMap<String, SymbolCode>,
}

/// `llvm-nm -S` lines: name -> (address, size if given).
pub fn nm_sizes(nm: &str) -> BTreeMap<String, (u64, Option<u64>)> {
    nm.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let addr = u64::from_str_radix(w.first()?, 16).ok()?;
            match w.len() {
                4 => Some((w[3].to_string(), (addr, u64::from_str_radix(w[1], 16).ok()))),
                3 => Some((w[2].to_string(), (addr, None))),
                _ => None,
            }
        })
        .collect()
}

/// The target of a call or jump: `<name>` or `<name+0x12>` -> `name`
/// (offsets into the same function are kept), `*%rax` as is.
fn target(operands: &str) -> String {
    match (operands.find('<'), operands.rfind('>')) {
        (Some(a), Some(b)) if a < b => operands[a + 1..b].to_string(),
        _ => operands.trim().to_string(),
    }
}

/// Calls, tail calls and return thunks of each function in `llvm-objdump
/// -d --no-show-raw-insn` output.
pub fn calls(objdump: &str) -> BTreeMap<String, SymbolCode> {
    let mut out: BTreeMap<String, SymbolCode> = BTreeMap::new();
    let mut current: Option<String> = None;
    for l in objdump.lines() {
        let t = l.trim();
        // "ffffffff81f2b6a0 <irqentry_enter>:"
        if let Some(head) = t.strip_suffix(">:") {
            current = head.split_once(" <").map(|(_, n)| n.to_string());
            if let Some(n) = &current {
                out.entry(n.clone()).or_default();
            }
            continue;
        }
        let (Some(func), Some((_, insn))) = (&current, t.split_once(':')) else { continue };
        let insn = insn.trim();
        let (mnemonic, operands) = insn.split_once(char::is_whitespace).unwrap_or((insn, ""));
        let code = out.entry(func.clone()).or_default();
        if mnemonic.starts_with("call") {
            code.calls.push(target(operands));
        } else if mnemonic.starts_with("jmp") {
            let to = target(operands);
            if to == "__x86_return_thunk" {
                code.returns += 1;
            } else if to.split('+').next() != Some(func.as_str()) {
                code.tail_calls.push(to);
            }
        } else if mnemonic.starts_with('j') && target(operands) == "__x86_return_thunk" {
            // A conditional return (jcc to the thunk).
            code.returns += 1;
        }
    }
    out
}

fn llvm(tool: &str) -> Command {
    Command::new(Path::new(LLVM_BIN).join(tool))
}

/// Sizes and calls of the entry symbols of a vmlinux.
pub fn entry_code(vmlinux: &Path) -> Result<EntryCode> {
    let nm = run(llvm("llvm-nm").arg("-S").arg(vmlinux)).with_context(|| format!("llvm-nm {}", vmlinux.display()))?;
    let syms = nm_sizes(&nm);
    let addr = |n: &str| syms.get(n).map(|s| s.0).with_context(|| format!("{n} not in {}", vmlinux.display()));
    let noinstr_text = addr("__noinstr_text_end")? - addr("__noinstr_text_start")?;
    let dis = run(llvm("llvm-objdump")
        .args(["-d", "--no-show-raw-insn", "--no-print-imm-hex"])
        .arg(format!("--disassemble-symbols={}", ENTRY_SYMBOLS.join(",")))
        .arg(vmlinux))
    .with_context(|| format!("llvm-objdump -d {}", vmlinux.display()))?;
    let mut code = calls(&dis);
    let mut symbols = BTreeMap::new();
    for s in ENTRY_SYMBOLS {
        let mut c = code.remove(s).with_context(|| format!("{s} not disassembled from {}", vmlinux.display()))?;
        c.size = syms.get(s).and_then(|x| x.1).unwrap_or(0);
        symbols.insert(s.to_string(), c);
    }
    Ok(EntryCode { noinstr_text, symbols })
}

// ------------------------------------------------------------ report --

/// Everything one `bench` run measured (results/bench.json).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub method: String,
    pub qemu: String,
    pub runs: Vec<Run>,
    /// Per flavor: run 1 against run 2.
    pub agreement: BTreeMap<String, Vec<Agreement>>,
    pub comparisons: Vec<Comparison>,
    /// Per flavor.
    pub entry_code: BTreeMap<String, EntryCode>,
    pub not_measured: BTreeMap<String, String>,
    pub seconds: u64,
}

impl Report {
    pub fn agree(&self) -> bool {
        self.agreement.values().flatten().all(|a| a.ok)
    }

    pub fn ok(&self) -> bool {
        self.agree() && self.runs.iter().all(Run::ok) && !self.comparisons.is_empty()
    }
}

fn what(name: &str) -> &'static str {
    FIGURES.iter().find(|f| f.name == name).map_or("", |f| f.what)
}

/// The plain kernels' figures of a `bench` report (results/bench.json) as
/// a table for the cover letter (mail width), or None when it has none.
pub fn cover_table(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let rows: Vec<&serde_json::Value> = v
        .get("comparisons")?
        .as_array()?
        .iter()
        .filter(|c| c.get("kernel").and_then(|k| k.as_str()) == Some("plain"))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut t = String::from("  figure                    c        rust    rust-c   rust/c\n");
    for c in rows {
        let f = |k: &str| c.get(k).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN);
        t.push_str(&format!(
            "  {:<18} {:>9.1} {:>11.1} {:>9.1} {:>8.3}\n",
            c.get("figure").and_then(|x| x.as_str()).unwrap_or("?"),
            f("c"),
            f("rust"),
            f("diff"),
            f("ratio")
        ));
    }
    Some(t)
}

/// The table on the terminal (and in the README).
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let kernels: Vec<&str> = {
        let mut k: Vec<&str> = r.comparisons.iter().map(|c| c.kernel.as_str()).collect();
        k.dedup();
        k
    };
    for k in kernels {
        s.push_str(&format!(
            "ticks per round, {k} kernels (1 tick = 1 guest instruction; min over reps and both runs)\n"
        ));
        s.push_str(&format!(
            "| {:<18} | {:<52} | {:>9} | {:>9} | {:>8} | {:>6} |\n",
            "figure", "one round", "c", "rust", "rust-c", "rust/c"
        ));
        s.push_str(&format!("|{:-<20}|{:-<54}|{:->11}|{:->11}|{:->10}|{:->8}|\n", "", "", ":", ":", ":", ":"));
        for c in r.comparisons.iter().filter(|c| c.kernel == k) {
            s.push_str(&format!(
                "| {:<18} | {:<52} | {:>9.1} | {:>9.1} | {:>+8.1} | {:>6.4} |\n",
                c.figure,
                what(&c.figure),
                c.c,
                c.rust,
                c.diff,
                c.ratio
            ));
        }
        s.push('\n');
    }
    for (flavor, ags) in &r.agreement {
        let worst =
            ags.iter().filter_map(|a| a.pct.map(|p| (p, &a.figure))).fold(None, |m: Option<(f64, &String)>, x| {
                if m.is_some_and(|m| m.0 >= x.0) {
                    m
                } else {
                    Some(x)
                }
            });
        let bad: Vec<String> = ags
            .iter()
            .filter(|a| !a.ok)
            .map(|a| match a.pct {
                Some(p) => format!("{} {:.3}%", a.figure, p),
                None => format!("{} missing", a.figure),
            })
            .collect();
        s.push_str(&format!(
            "{flavor}: two boots agree {}: largest difference {}{}\n",
            if bad.is_empty() { "to 0.1%" } else { "NOT to 0.1%" },
            worst.map_or("-".into(), |(p, f)| format!("{p:.3}% ({f})")),
            if bad.is_empty() { String::new() } else { format!("; over the limit: {}", bad.join(", ")) }
        ));
    }
    let flavors: Vec<&String> = r.entry_code.keys().collect();
    if !flavors.is_empty() {
        s.push_str("\nentry code in vmlinux: size in bytes / calls made (llvm-nm -S, llvm-objdump -d)\n");
        s.push_str(&format!("| {:<30} |", "symbol"));
        for f in &flavors {
            s.push_str(&format!(" {f:>14} |"));
        }
        s.push_str(&format!("\n|{:-<32}|", ""));
        for _ in &flavors {
            s.push_str(&format!("{:->16}|", ":"));
        }
        s.push('\n');
        s.push_str(&format!("| {:<30} |", ".noinstr.text"));
        for f in &flavors {
            s.push_str(&format!(" {:>14} |", r.entry_code[*f].noinstr_text));
        }
        s.push('\n');
        for sym in ENTRY_SYMBOLS {
            s.push_str(&format!("| {sym:<30} |"));
            for f in &flavors {
                let c = r.entry_code[*f].symbols.get(sym);
                let cell = c.map_or("-".into(), |c| format!("{} / {}", c.size, c.calls.len()));
                s.push_str(&format!(" {cell:>14} |"));
            }
            s.push('\n');
        }
    }
    for (what, why) in &r.not_measured {
        s.push_str(&format!("\nnot measured: {what}: {why}\n"));
    }
    s
}

/// The bar chart of the rust/c ratios (one bar per figure and kernel),
/// with 1.0 marked.
pub fn chart(comparisons: &[Comparison]) -> svg::Document {
    use svg::node::element::{Line, Rectangle, Text};
    let (left, bar_h, gap, width) = (330.0, 18.0, 6.0, 360.0);
    // The axis spans the ratios with 1.0 in it, a little wider.
    let (mut lo, mut hi) = (1.0f64, 1.0f64);
    for c in comparisons.iter().filter(|c| c.ratio.is_finite()) {
        lo = lo.min(c.ratio);
        hi = hi.max(c.ratio);
    }
    let pad = ((hi - lo) * 0.15).max(0.005);
    let (lo, hi) = (lo - pad, hi + pad);
    let x = |v: f64| left + (v - lo) / (hi - lo) * width;
    let top = 40.0;
    let height = top + comparisons.len() as f64 * (bar_h + gap) + 40.0;
    let mut doc = svg::Document::new()
        .set("width", left + width + 90.0)
        .set("height", height)
        .set("viewBox", (0, 0, (left + width + 90.0) as i64, height as i64))
        .set("font-family", "sans-serif")
        .set("font-size", 12);
    doc = doc.add(Rectangle::new().set("width", "100%").set("height", "100%").set("fill", "white"));
    doc = doc.add(
        Text::new("Rust / C entry cost (ticks per round under QEMU -icount; 1.0 = same)")
            .set("x", 10)
            .set("y", 20)
            .set("font-size", 14),
    );
    for (i, c) in comparisons.iter().enumerate() {
        let y = top + i as f64 * (bar_h + gap);
        let label = format!("{} ({})", c.figure, c.kernel);
        doc = doc.add(Text::new(label).set("x", left - 8.0).set("y", y + bar_h * 0.75).set("text-anchor", "end"));
        if !c.ratio.is_finite() {
            continue;
        }
        let (a, b) = (x(1.0).min(x(c.ratio)), x(1.0).max(x(c.ratio)));
        let colour = if c.ratio > 1.0005 {
            "#c0504d"
        } else if c.ratio < 0.9995 {
            "#4f81bd"
        } else {
            "#999999"
        };
        doc = doc.add(
            Rectangle::new()
                .set("x", a)
                .set("y", y)
                .set("width", (b - a).max(1.0))
                .set("height", bar_h)
                .set("fill", colour),
        );
        doc = doc.add(
            Text::new(format!("{:.4} ({:+.1})", c.ratio, c.diff))
                .set("x", b + 4.0)
                .set("y", y + bar_h * 0.75)
                .set("font-size", 11),
        );
    }
    let bottom = top + comparisons.len() as f64 * (bar_h + gap);
    doc = doc.add(
        Line::new()
            .set("x1", x(1.0))
            .set("x2", x(1.0))
            .set("y1", top - 5.0)
            .set("y2", bottom)
            .set("stroke", "black")
            .set("stroke-width", 1),
    );
    // Ticks at round ratios, at most about six across the axis.
    let step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
        .into_iter()
        .find(|s| (hi - lo) / s <= 6.0)
        .unwrap_or(1.0);
    let mut v = (lo / step).ceil() * step;
    while v <= hi {
        doc = doc
            .add(
                Line::new()
                    .set("x1", x(v))
                    .set("x2", x(v))
                    .set("y1", bottom)
                    .set("y2", bottom + 4.0)
                    .set("stroke", "black")
                    .set("stroke-width", 1),
            )
            .add(Text::new(format!("{v:.3}")).set("x", x(v)).set("y", bottom + 16.0).set("text-anchor", "middle"));
        v += step;
    }
    doc
}

/// Writes results/bench.json and results/bench.svg; returns their paths.
pub fn save(lab: &Lab, r: &Report) -> Result<(PathBuf, PathBuf)> {
    let json = lab.results.join("bench.json");
    write(&json, serde_json::to_string_pretty(r)?)?;
    let svg_path = lab.results.join("bench.svg");
    write(&svg_path, chart(&r.comparisons).to_string())?;
    Ok((json, svg_path))
}

#[cfg(test)]
mod cover_tests {
    #[test]
    fn the_cover_letter_table_has_the_plain_figures() {
        let j = r#"{"comparisons":[
            {"kernel":"plain","figure":"syscall","c":100.0,"rust":99.0,"diff":-1.0,"ratio":0.99},
            {"kernel":"debug","figure":"syscall","c":500.0,"rust":501.0,"diff":1.0,"ratio":1.002}]}"#;
        let t = super::cover_table(j).unwrap();
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(t.contains("syscall                100.0        99.0      -1.0    0.990"), "{t}");
        assert!(super::cover_table(r#"{"comparisons":[]}"#).is_none());
        assert!(super::cover_table("not json").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSOLE: &str = "\
[    1.0] Linux version 7.3.4
BENCH-START mode=full reps=5 warmup=1
BENCH syscall min=323.20 reps=5 rounds=20000 all=323.20,323.21,323.20,323.20,323.25
[    2.0] BENCH syscall min=1.00 reps=1 rounds=1 all=1
BENCH resched_pipe min=9000.50 reps=5 rounds=2000 all=9000.50,9001.00,9000.50,9000.50,9000.50 preemptions_per_round=1.00
BENCH-SKIP syscall_audit AUDIT_SET enabled=1 refused
BENCH-ERROR kill: Invalid argument
BENCH broken min=x reps=5 rounds=1 all=1
BENCH-DONE 2
ENTRY-LAB: RESULT entry_bench rc=0
";

    #[test]
    fn figures_skips_and_errors_from_the_console() {
        let p = parse(CONSOLE);
        assert_eq!(p.figures.len(), 2, "{p:?}");
        let s = &p.figures["syscall"];
        assert_eq!((s.min, s.reps, s.rounds), (323.2, 5, 20000));
        assert_eq!(s.all.len(), 5);
        assert_eq!(p.figures["resched_pipe"].extra["preemptions_per_round"], "1.00");
        assert_eq!(p.skips["syscall_audit"], "AUDIT_SET enabled=1 refused");
        assert_eq!(p.errors, ["kill: Invalid argument"]);
        assert_eq!(p.done, Some(2));
        let v = problems(&p);
        assert!(v.contains(&"error: kill: Invalid argument".to_string()), "{v:?}");
        assert!(v.contains(&"syscall_audit skipped: AUDIT_SET enabled=1 refused".to_string()), "{v:?}");
        assert!(v.contains(&"exc_ud missing".to_string()), "{v:?}");
        assert!(!v.iter().any(|x| x.starts_with("syscall ")), "{v:?}");
        assert!(problems(&Printed::default()).iter().any(|x| x.contains("BENCH-DONE")));
    }

    #[test]
    fn a_figure_line_needs_its_fields() {
        assert!(parse_figure("BENCH a min=1 reps=1 rounds=1 all=1").is_some());
        assert!(parse_figure("BENCH a min=1 reps=1 all=1").is_none());
        assert!(parse_figure("BENCH a min=nan reps=1 rounds=1 all=1").is_none());
        assert!(parse_figure("BENCH a min=1 reps=1 rounds=1 all=1,x").is_none());
        assert!(parse_figure("BENCH-DONE 3").is_none());
    }

    fn mins(v: &[(&str, f64)]) -> BTreeMap<String, f64> {
        v.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn two_runs_agree_to_a_tenth_of_a_percent() {
        assert!((rel_pct(100.0, 100.1) - 0.1).abs() < 1e-9);
        assert_eq!(rel_pct(0.0, 0.0), 0.0);
        assert!(rel_pct(0.0, 1.0).is_infinite());
        let a = mins(&[("syscall", 1000.0), ("exc_ud", 4000.0), ("signal_kill", 4000.0)]);
        let b = mins(&[("syscall", 1001.0), ("exc_ud", 4004.1), ("signal_kill", 4000.0)]);
        let ag = agreement(&a, &b);
        assert_eq!(ag.len(), FIGURES.len());
        let get = |n: &str| ag.iter().find(|x| x.figure == n).unwrap().clone();
        assert!(get("syscall").ok, "exactly 0.1% agrees");
        assert!(!get("exc_ud").ok, "0.1025% does not");
        assert!(get("signal_kill").ok);
        assert!(!get("exc_pf").ok && get("exc_pf").pct.is_none(), "missing in both");
    }

    #[test]
    fn best_of_runs_and_comparisons() {
        let b = best(&[mins(&[("syscall", 324.0), ("exc_ud", 10.0)]), mins(&[("syscall", 323.2)])]);
        assert_eq!(b, mins(&[("syscall", 323.2), ("exc_ud", 10.0)]));
        let c =
            compare("plain", &mins(&[("signal_kill", 4000.0), ("syscall", 0.0)]), &mins(&[("signal_kill", 4040.0)]));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].diff, c[0].ratio), (40.0, 1.01));
        assert_eq!(c[0].figure, "signal_kill");
    }

    const OBJDUMP: &str = "
vmlinux:	file format elf64-x86-64

Disassembly of section .text:

ffffffff81f2b6a0 <irqentry_enter>:
ffffffff81f2b6a0:      	endbr64
ffffffff81f2b6a4:      	testb	$3, 136(%rdi)
ffffffff81f2b6a8:      	jne	0xffffffff81f2b6c0 <irqentry_enter+0x20>
ffffffff81f2b6aa:      	callq	0xffffffff81f2b880 <ct_irq_enter>
ffffffff81f2b6af:      	call	*%rax
ffffffff81f2b6b1:      	je	0xffffffff81000000 <__x86_return_thunk>
ffffffff81f2b6b7:      	jmp	0xffffffff81000000 <__x86_return_thunk>
ffffffff81f2b6c0:      	jmp	0xffffffff81f2b900 <enter_from_user_mode>

ffffffff81f2b700 <exit_to_user_mode_loop>:
ffffffff81f2b700:      	callq	0xffffffff81f2b990 <rust_shim_arch_exit_to_user_mode_work+0x4>
";

    #[test]
    fn calls_tail_calls_and_returns_from_objdump() {
        let c = calls(OBJDUMP);
        let e = &c["irqentry_enter"];
        assert_eq!(e.calls, ["ct_irq_enter", "*%rax"]);
        assert_eq!(e.tail_calls, ["enter_from_user_mode"]);
        assert_eq!(e.returns, 2);
        assert_eq!(c["exit_to_user_mode_loop"].calls, ["rust_shim_arch_exit_to_user_mode_work+0x4"]);
        let nm = "ffffffff81f2b6a0 0000000000000071 T irqentry_enter\nffffffff82000000 T __noinstr_text_start\nbad\n";
        let s = nm_sizes(nm);
        assert_eq!(s["irqentry_enter"], (0xffffffff81f2b6a0, Some(0x71)));
        assert_eq!(s["__noinstr_text_start"], (0xffffffff82000000, None));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn trace_lines_windows_and_accounts() {
        assert_eq!(
            trace_pc("Trace 0: 0x7fdb3c2bddc0 [00000000/ffffffff81872010/0000c290/ff022201] "),
            Some(0xffffffff81872010)
        );
        assert_eq!(trace_pc("Stopped execution of TB chain before 0x7fdb3d931980 [ffffffff81871e91] "), None);
        let funcs = Functions::parse(
            "ffffffff81000000 T _text\nffffffff81000ff0 t __pfx_marker\nffffffff81001000 T marker\nffffffff81002000 t helper\n\
             ffffffff81003000 D data\n",
        );
        assert_eq!(funcs.of(0xffffffff81002004), Some("helper"));
        assert_eq!(funcs.of(0xffffffff81003004), Some("helper"), "data symbols are not functions");
        assert_eq!(funcs.of(0xffffffff81000ff4), Some("_text"), "__pfx_ padding is no function");
        assert_eq!(funcs.of(0x10), None);
        let line = |pc: u64| format!("Trace 0: 0x7f00 [00000000/{pc:016x}/0000c290/ff022201] \n");
        let trace: String = [0xffffffff81002000u64, 0xffffffff81001000, 0xffffffff81002000, 0xffffffff81002004]
            .iter()
            .map(|&pc| line(pc))
            .chain(["Stopped execution of TB chain before 0x7f [ffffffff81002000]\n".to_string()])
            .chain([line(0xffffffff81001000), line(0xffffffff81001004)])
            .collect();
        let w = count_windows(trace.as_bytes(), &funcs, 0xffffffff81001000);
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0], BTreeMap::from([("helper".to_string(), 2)]), "before the first marker nothing counts");
        assert_eq!(w[1], BTreeMap::from([("marker".to_string(), 1)]));
        let nm = "ffffffff8186c7d0 T __noinstr_text_start\nffffffff81872813 T __noinstr_text_end\n\
                  ffffffff812ad5a0 0000000000000056 T __x64_sys_getcpu\n\
                  ffffffff81345e00 00000000000000ec T exit_to_user_mode_loop\n\
                  ffffffff81345f00 000000000000003f T raw_irqentry_exit_cond_resched\n";
        let (filter, marker) = trace_filter(&nm_sizes(nm)).unwrap();
        assert_eq!(marker, 0xffffffff812ad5a0);
        assert_eq!(
            filter,
            "0xffffffff8186c7d0..0xffffffff81872813,0xffffffff81345600..0xffffffff81346700,0xffffffff812ad5a0+0x56"
        );
        let rust_nm = format!("{nm}ffffffff81400000 0000000000000120 T syscall_trace_enter\n");
        let (filter, _) = trace_filter(&nm_sizes(&rust_nm)).unwrap();
        assert!(filter.ends_with(",0xffffffff812ad5a0+0x56,0xffffffff81400000+0x120"), "{filter}");
        let run = |order: &[(&str, f64)]| Run {
            flavor: String::new(),
            run: 1,
            mode: Mode::Trace,
            printed: Printed {
                figures: order
                    .iter()
                    .map(|(n, v)| {
                        let f = Figure { min: *v, reps: 1, rounds: 10, all: vec![*v], extra: BTreeMap::new() };
                        (n.to_string(), f)
                    })
                    .collect(),
                order: order.iter().map(|(n, _)| n.to_string()).collect(),
                ..Default::default()
            },
            problems: vec![],
            splats: vec![],
            cmdline: String::new(),
            kernel_sha256: None,
            seconds: 0,
            log: String::new(),
        };
        let win = |v: &[(&str, u64)]| v.iter().map(|(k, n)| (k.to_string(), *n)).collect::<BTreeMap<_, _>>();
        let a = account(
            &run(&[("signal_kill", 100.0)]),
            &[win(&[("loop", 100), ("same", 50)])],
            &run(&[("signal_kill", 103.0)]),
            &[win(&[("loop", 110), ("same", 50), ("shim", 20)])],
        );
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].entry, a[0].other, a[0].measured), (2.0, 1.0, Some(3.0)));
        let names: Vec<&str> = a[0].functions.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(names, ["shim"], "entry code: in one kernel only, or an entry symbol");
        let t = account_table(&a);
        let head =
            "signal_kill: rust-c +2.0 in the entry code, +1.0 elsewhere in the traced code; +3.0 measured (10 rounds)";
        assert!(t.contains(head), "{t}");
        assert!(t.contains("  shim") && t.contains("0.0      2.0     +2.0"), "{t}");
    }

    fn report() -> Report {
        let c = mins(&[("syscall", 323.2), ("signal_kill", 3996.3)]);
        let r = mins(&[("syscall", 323.2), ("signal_kill", 4026.4)]);
        let mut code = EntryCode { noinstr_text: 4096, ..Default::default() };
        code.symbols
            .insert("irqentry_enter".into(), SymbolCode { size: 113, calls: vec!["a".into()], ..Default::default() });
        Report {
            method: String::new(),
            qemu: String::new(),
            runs: vec![],
            agreement: BTreeMap::from([("c".to_string(), agreement(&c, &c))]),
            comparisons: compare("plain", &c, &r),
            entry_code: BTreeMap::from([("c".to_string(), code)]),
            not_measured: BTreeMap::from([("nmi".to_string(), "why".to_string())]),
            seconds: 1,
        }
    }

    #[test]
    fn the_table_has_each_figure_and_the_agreement() {
        let r = report();
        let t = table(&r);
        assert!(t.contains("| signal_kill        | kill(getpid(), SIGUSR1), handler"), "{t}");
        assert!(t.contains("|    3996.3 |    4026.4 |    +30.1 | 1.0075 |"), "{t}");
        assert!(t.contains("|     323.2 |     323.2 |     +0.0 | 1.0000 |"), "{t}");
        assert!(t.contains("c: two boots agree NOT to 0.1%"), "figures missing from both runs: {t}");
        assert!(t.contains("| irqentry_enter                 |        113 / 1 |"), "{t}");
        assert!(t.contains("| .noinstr.text                  |           4096 |"), "{t}");
        assert!(t.contains("not measured: nmi: why"), "{t}");
        assert!(!r.agree() && !r.ok());
    }

    #[test]
    fn the_chart_has_a_bar_per_comparison() {
        let svg = chart(&report().comparisons).to_string();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 1 + 2, "background and two bars: {svg}");
        assert!(svg.contains("signal_kill (plain)") && svg.contains("1.0075 (+30.1)"), "{svg}");
    }

    #[test]
    fn the_qemu_line_is_tcg_icount_one_cpu() {
        let c = qemu_command(Path::new("/k"), Path::new("/i"), &cmdline(Mode::Smoke), None);
        let line = format!("{c:?}");
        assert!(line.contains(r#""-accel" "tcg" "-icount" "shift=0,sleep=off,align=off" "-smp" "1""#), "{line}");
        assert!(line.contains("entrylab.groups=bench entrylab.bench=smoke preempt=lazy\""), "{line}");
        assert!(line.contains(r#""-rtc" "base=2026-01-01T00:00:00,clock=vm""#), "the guest clock is fixed: {line}");
        let c =
            qemu_command(Path::new("/k"), Path::new("/i"), &cmdline(Mode::Trace), Some(("0x1..0x2", Path::new("/f"))));
        let line = format!("{c:?}");
        assert!(line.contains(r#""tcg,one-insn-per-tb=on""#) && line.contains("preempt=lazy nokaslr"), "{line}");
        assert!(line.ends_with(r#""-d" "exec,nochain" "-dfilter" "0x1..0x2" "-D" "/f""#), "{line}");
    }
}
