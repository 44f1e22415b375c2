//! Boots of the arm64 variants with an initramfs (issue 15): the kernel that
//! the KUnit run of `arm64.rs` built, on the same QEMU machine (virt, GICv3,
//! two CPUs, pseudo-NMIs on), with KUnit off and an arm64 initramfs: the
//! lab's /init and busybox (Debian's `busybox-static` for arm64), and static
//! aarch64 programs that go through the entry paths arm64 hands to the
//! generic code:
//!
//! - the lab's workload (signals on syscall and interrupt return, fork and
//!   exec, timer interrupts), cross-compiled unchanged;
//! - `entry_nmi`, which makes the PMU raise overflow interrupts. The arm PMU
//!   driver takes them as NMIs when the GIC has pseudo-NMIs ("using NMIs"
//!   on the console), so their count on the PMU line of /proc/interrupts is
//!   the number of pseudo-NMIs taken; the lab requires more than zero;
//! - the series' entry kselftest (`entry_test`) in its arm64 form: plain
//!   and failing system calls, signals on system call, interrupt and
//!   exception return, system call restarts, ptrace system call stops, rseq
//!   (the x86-only tests and those of the generic syscall work, which arm64
//!   does not use, are not built there);
//! - upstream selftests from the base tree that exercise arm64's entry:
//!   the arm64 signal tests (every testcase), the syscall ABI test, the
//!   arm64 ptrace test, ptrace `get_syscall_info` and `peeksiginfo`, and
//!   rseq (notify-resume work on exit to user).
//!
//! Both variants must complete without console splats, pass the lab's own
//! programs, take pseudo-NMIs, and give identical results for every test.

use crate::arm64::{self, KERNEL_ARGS, PSEUDO_NMI_LINE};
use crate::guest::{self, Group, Program};
use crate::lab::{Lab, Variant};
use crate::memo::{age, file_hash, Memo};
use crate::qemu::{self, Outcome, RunSpec};
use crate::util::{bail, fmt_dur, say, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Debian's static busybox for arm64, the same version as bookworm's amd64
/// package that `setup` installs, from the Debian pool (one file, no
/// foreign architecture added to apt).
const BUSYBOX_DEB: &str = "busybox-static_1.35.0-4+deb12u1+b1_arm64.deb";
const BUSYBOX_URL: &str = "http://deb.debian.org/debian/pool/main/b/busybox/";
const BUSYBOX_SHA256: &str = "732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5";

/// The cross compiler of the guest programs (`setup` installs it).
const CC: &str = "aarch64-linux-gnu-gcc";

/// Seconds of workload in an arm64 boot.
pub const SECONDS: u64 = 20;

/// What the arm PMU driver says when it takes its interrupt as an NMI.
pub const PMU_NMI_LINE: &str = "using NMIs";

/// The QEMU command of a boot: the machine of the KUnit runs (kunit.py's
/// `virt` with `-cpu max`, GICv3, two CPUs), with the implementation-defined
/// pointer authentication algorithm, which TCG runs several times faster than
/// QARMA (the kernel does not depend on which one it is).
pub fn qemu_command(image: &Path, initrd: &Path, cmdline: &str) -> Command {
    machine(image, initrd, cmdline, "virt,gic-version=3", "2", &[])
}

/// The QEMU command of [`qemu_command`] with `smp` CPUs and `extra` arguments.
fn machine(image: &Path, initrd: &Path, cmdline: &str, virt: &str, smp: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new("qemu-system-aarch64");
    cmd.args(["-nodefaults", "-nographic", "-no-reboot", "-m", "1024", "-accel", "tcg"])
        .args(extra)
        .args(["-machine", virt, "-cpu", "max,pauth-impdef=on", "-smp", smp, "-serial", "stdio"])
        .arg("-kernel")
        .arg(image)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(cmdline);
    cmd
}

/// The kernel command line of a boot.
pub fn cmdline(seconds: u64) -> String {
    format!("console=ttyAMA0 panic=-1 kunit.enable=0 {KERNEL_ARGS} entrylab.seconds={seconds}")
}

/// Downloads (once, checked) and unpacks the arm64 busybox; returns it.
pub fn busybox(lab: &Lab) -> Result<PathBuf> {
    let dir = lab.cache.join("tools/arm64");
    let bin = dir.join("bin/busybox");
    if bin.exists() {
        return Ok(bin);
    }
    let deb = lab.cache.join("downloads").join(BUSYBOX_DEB);
    if !deb.exists() {
        std::fs::create_dir_all(deb.parent().expect("has a parent"))?;
        say("arm64", &format!("downloading {BUSYBOX_DEB} from {BUSYBOX_URL}"));
        crate::util::run(
            Command::new("curl")
                .args(["-fsSL", "--retry", "3", "-o"])
                .arg(&deb)
                .arg(format!("{BUSYBOX_URL}{}", BUSYBOX_DEB.replace('+', "%2b"))),
        )
        .map_err(|e| anyhow::anyhow!("cannot download the arm64 busybox ({e}); check the network to deb.debian.org"))?;
    }
    crate::base::verify(&deb, BUSYBOX_SHA256)?;
    crate::util::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&dir))?;
    if !is_aarch64(&bin)? {
        bail!("{} is not an aarch64 program", bin.display());
    }
    Ok(bin)
}

/// Whether a file is a 64-bit little-endian ELF for aarch64 (`e_machine`
/// 183).
pub fn is_aarch64(p: &Path) -> Result<bool> {
    let b = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
    Ok(elf_machine(&b) == Some(183))
}

fn elf_machine(b: &[u8]) -> Option<u16> {
    (b.len() > 20 && b[..4] == *b"\x7fELF" && b[4] == 2 && b[5] == 1).then(|| u16::from_le_bytes([b[18], b[19]]))
}

fn program(group: Group, name: &str, limit: u64, cmd: String, bin: PathBuf) -> Program {
    let inside = cmd.split_whitespace().next().unwrap_or_default().trim_start_matches('/').to_string();
    Program { group, name: name.into(), limit, cmd, files: vec![(inside, bin)] }
}

/// The arm64 guest programs, cross-compiled (cached).
pub fn programs(lab: &Lab) -> Result<Vec<Program>> {
    let guest = lab.repo.join("lab/guest");
    let out = lab.cache.join("guest/arm64");
    let st = lab.src().join("tools/testing/selftests");
    let inc = guest::uapi_headers_for(lab, "arm64", "headers-arm64")?;
    let cc = |name: &str, sources: &[PathBuf], flags: &[String]| {
        let mut f = vec!["-isystem".to_string(), inc.display().to_string()];
        f.extend_from_slice(flags);
        guest::cc_static_with(CC, &out.join(name), sources, &f)
    };
    let mut v = vec![];
    let bin = cc("entry_workload", &[guest.join("entry_workload.c")], &[])?;
    v.push(program(Group::Workload, "entry_workload", 900, "/tests/entry_workload @SECONDS@".into(), bin));
    let bin = cc("entry_nmi", &[guest.join("entry_nmi.c")], &[])?;
    v.push(program(Group::Workload, "entry_nmi", 60, "/tests/entry_nmi".into(), bin));
    let tools_inc = format!("-I{}", lab.src().join("tools/include").display());
    let st_inc = format!("-I{}", st.display());
    let entry_test = st.join("entry/entry_test.c");
    if entry_test.exists() {
        let bin = cc("entry_test", &[entry_test], std::slice::from_ref(&st_inc))?;
        v.push(program(Group::Entry, "entry_test", 120, "/tests/entry_test".into(), bin));
    }
    let abi = st.join("arm64/abi");
    // Not the arm64 seccomp x0 tests: SECCOMP_FILTER needs NET, which the
    // small arm64 configuration leaves out (both fail without a filter).
    for (name, extra) in [("syscall-abi", vec![abi.join("syscall-abi-asm.S")]), ("ptrace", vec![])] {
        let mut sources = vec![abi.join(format!("{name}.c"))];
        sources.extend(extra);
        let bin = cc(name, &sources, &[tools_inc.clone(), st_inc.clone()])?;
        v.push(program(Group::Upstream, name, 120, format!("/upstream/{name}"), bin));
    }
    let sig = st.join("arm64/signal");
    let common: Vec<PathBuf> =
        ["test_signals.c", "test_signals_utils.c", "testcases/testcases.c", "signals.S", "sve_helpers.c"]
            .iter()
            .map(|f| sig.join(f))
            .collect();
    let mut cases: Vec<String> = std::fs::read_dir(sig.join("testcases"))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".c").map(String::from))
        .filter(|n| n != "testcases")
        .collect();
    cases.sort();
    for case in cases {
        let mut sources = vec![sig.join("testcases").join(format!("{case}.c"))];
        sources.extend(common.iter().cloned());
        let flags = ["-std=gnu99".to_string(), tools_inc.clone(), format!("-I{}", sig.display()), st_inc.clone()];
        let bin = cc(&format!("signal/{case}"), &sources, &flags)?;
        v.push(program(Group::Upstream, &case, 60, format!("/upstream/signal/{case}"), bin));
    }
    for name in ["get_syscall_info", "peeksiginfo"] {
        let flags = ["-std=c99".to_string(), "-pthread".into(), st_inc.clone()];
        let bin = cc(name, &[st.join(format!("ptrace/{name}.c"))], &flags)?;
        v.push(program(Group::Upstream, name, 60, format!("/upstream/{name}"), bin));
    }
    let rseq = st.join("rseq");
    for name in ["basic_test", "syscall_errors_test"] {
        let flags = [
            format!("-I{}", rseq.display()),
            tools_inc.clone(),
            format!("-I{}", lab.src().join("tools/arch/arm64/include").display()),
            st_inc.clone(),
            "-lpthread".into(),
            "-ldl".into(),
        ];
        let bin = cc(name, &[rseq.join(format!("{name}.c")), rseq.join("rseq.c")], &flags)?;
        let prefix = if name == "syscall_errors_test" { "env GLIBC_TUNABLES=glibc.pthread.rseq=0 " } else { "" };
        let mut p = program(Group::Upstream, name, 60, format!("/upstream/{name}"), bin);
        p.cmd = format!("{prefix}{}", p.cmd);
        v.push(p);
    }
    Ok(v)
}

/// Packs the arm64 initramfs: busybox, the lab's /init, the plan and the
/// programs.
pub fn initramfs(lab: &Lab, programs: &[Program]) -> Result<PathBuf> {
    let dirs = ["tests", "upstream", "upstream/signal"];
    let entries = qemu::base_entries(lab, &dirs, &busybox(lab)?, guest::plan_text(programs))?;
    qemu::pack(lab, entries, programs, "initramfs-arm64.cpio")
}

/// An arm64 boot.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Boot {
    pub variant: String,
    pub outcome: Outcome,
    pub seconds: u64,
    /// Programs and their exit codes.
    pub programs: BTreeMap<String, i32>,
    /// Every program and every KTAP test line it printed.
    pub tests: BTreeMap<String, guest::Outcome>,
    /// The boot said [`PSEUDO_NMI_LINE`] and [`PMU_NMI_LINE`].
    pub pseudo_nmi: bool,
    pub pmu_nmi: bool,
    /// Pseudo-NMIs taken during `entry_nmi` (its PMU line), if it said.
    pub nmis: Option<i64>,
    pub splats: Vec<String>,
    pub log: String,
    #[serde(default)]
    pub kept: bool,
}

impl Boot {
    /// Why the boot does not pass, if it does not: it must complete, without
    /// splats, with pseudo-NMIs on and taken, and the lab's own programs
    /// passing.
    pub fn problems(&self) -> Vec<String> {
        let mut p = vec![];
        if let Some(e) = qemu::explain(&self.outcome, Path::new(&self.log)) {
            p.push(e);
        }
        if self.programs.is_empty() {
            p.push(format!("no guest program ran (log: {})", self.log));
        }
        p.extend(self.splats.iter().map(|s| format!("console splat: {s}")));
        if !self.pseudo_nmi {
            p.push(format!("the boot did not say \"{PSEUDO_NMI_LINE}\""));
        }
        if !self.pmu_nmi {
            p.push(format!("the PMU driver did not say \"{PMU_NMI_LINE}\""));
        }
        match self.nmis {
            Some(n) if n > 0 => {}
            Some(n) => p.push(format!("{n} pseudo-NMIs taken (want more than zero)")),
            None => p.push("entry_nmi did not report a count".into()),
        }
        for own in ["entry_workload", "entry_nmi"] {
            if self.tests.get(own) != Some(&guest::Outcome::Pass) {
                p.push(format!("{own}: {}", self.tests.get(own).map_or("did not run", |o| o.word())));
            }
        }
        p
    }
}

/// The count `entry_nmi` printed ("ENTRY-LAB: NMI <line> <count>").
pub fn nmi_count(console: &str) -> Option<i64> {
    console.lines().find_map(|l| {
        let rest = qemu::strip_ts(l).strip_prefix("ENTRY-LAB: NMI ")?;
        rest.split_whitespace().nth(1)?.parse().ok()
    })
}

/// Boots an arm64 variant's kernel (built by its KUnit run, which this
/// makes sure of) with the initramfs. With `reuse`, a passing boot of the
/// same image, initramfs and command line is kept.
pub fn boot(lab: &Lab, v: Variant, reuse: bool) -> Result<Boot> {
    let name = arm64::name(v);
    let k = arm64::run(lab, v, reuse)?;
    if let Some(p) = k.problem() {
        bail!("{name}: the KUnit run that builds the kernel failed: {p}");
    }
    let image = arm64::build_dir(lab, v).join("arch/arm64/boot/Image");
    if !image.exists() {
        bail!("{name}: no kernel at {}", image.display());
    }
    let programs = programs(lab)?;
    let initrd = initramfs(lab, &programs)?;
    let cmdline = cmdline(SECONDS);
    let cmd = qemu_command(&image, &initrd, &cmdline);
    let log = lab.results.join("logs").join(format!("boot-{name}.log"));
    let parts = file_hash(&image)
        .zip(file_hash(&initrd))
        .map(|(i, r)| vec!["arm64-boot".to_string(), i, r, format!("{cmd:?}"), lab.results.display().to_string()]);
    let memo = Memo::new(arm64::build_dir(lab, v).join("entry-lab.kept-boot.json"), parts.as_deref());
    if reuse {
        if let Some(mut b) = memo.get(|b: &Boot| Path::new(&b.log).exists()) {
            say(&name, &format!("same image, initramfs and command line as the boot {}: kept", age(&memo)));
            b.kept = true;
            return Ok(b);
        }
    }
    memo.forget();
    let budget: u64 = programs.iter().map(|p| if p.group == Group::Workload { SECONDS + 60 } else { p.limit }).sum();
    let spec = RunSpec {
        log: log.clone(),
        first_output: Duration::from_secs(60),
        overall: Duration::from_secs(budget.min(1500) + 300),
        done_marker: "ENTRY-LAB: DONE".into(),
    };
    let _lock = crate::util::machine_lock(&name)?;
    say(&name, &format!("booting ({} programs, {SECONDS} s of workload; log: {})", programs.len(), log.display()));
    let start = Instant::now();
    let (outcome, console) = qemu::run_console(cmd, &spec, &name)?;
    let b = Boot {
        variant: v.name().into(),
        outcome,
        seconds: start.elapsed().as_secs(),
        programs: crate::boot::guest_results(&console),
        tests: guest::results(&console),
        pseudo_nmi: console.contains(PSEUDO_NMI_LINE),
        pmu_nmi: console.lines().any(|l| l.contains("hw perfevents") && l.contains(PMU_NMI_LINE)),
        nmis: nmi_count(&console),
        splats: qemu::splats(&console),
        log: log.display().to_string(),
        kept: false,
    };
    let problems = b.problems();
    say(
        &name,
        &format!(
            "boot {} in {}: {} programs, {} tests, {} pseudo-NMIs taken{}",
            if problems.is_empty() { "ok" } else { "FAILED" },
            fmt_dur(start.elapsed()),
            b.programs.len(),
            b.tests.len(),
            b.nmis.map_or("no".into(), |n| n.to_string()),
            problems.iter().map(|p| format!("\n    {p}")).collect::<String>()
        ),
    );
    if problems.is_empty() {
        memo.put(&b)?;
    }
    Ok(b)
}

/// Tests whose result differs between the two boots, as
/// `test: c=... rust=...`.
pub fn differences(c: &Boot, rust: &Boot) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = c.tests.keys().chain(rust.tests.keys()).collect();
    names
        .into_iter()
        .filter(|n| c.tests.get(*n) != rust.tests.get(*n))
        .map(|n| {
            let w = |b: &Boot| b.tests.get(n).map_or("missing", |o| o.word());
            format!("{n}: c={} rust={}", w(c), w(rust))
        })
        .collect()
}

// ------------------------------------------------------------- bench --

/// One boot of an arm64 variant with the benchmark.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BenchRun {
    pub variant: String,
    pub run: u32,
    pub printed: crate::bench::Printed,
    /// Everything that went wrong; figures the arm64 kernel has no way to
    /// take (see [`ARM64_SKIPS`]) are not among them.
    pub problems: Vec<String>,
    pub seconds: u64,
    pub log: String,
}

/// Figures that the arm64 benchmark does not take, and why: the syscall
/// work of arm64 is its own C code in both variants (not GENERIC_ENTRY), and
/// the NMI module raises self-NMIs through the x86 local APIC.
pub const ARM64_SKIPS: &[(&str, &str)] = &[
    ("syscall_seccomp", "arm64 syscall work is arm64's own C code"),
    ("syscall_tracepoint", "arm64 syscall work is arm64's own C code"),
    ("syscall_audit", "arm64 syscall work is arm64's own C code"),
    ("syscall_sud", "no syscall user dispatch without GENERIC_ENTRY"),
    ("syscall_ptrace", "arm64 syscall work is arm64's own C code"),
    ("nmi", "the NMI module is x86 (local APIC self-NMIs)"),
];

/// What a round does on arm64 where it differs from x86's words.
const ARM64_WHAT: &[(&str, &str)] = &[
    ("exc_ud", "udf -> undefined instruction -> SIGILL, handler skips it"),
    ("exc_pf", "load from 0x10 -> data abort -> SIGSEGV, handler skips it"),
    ("exc_gp", "mrs of an EL1 register from EL0 -> SIGILL, handler skips it"),
    ("irq_user", "arch timer irq (timerfd expiry) in user mode"),
    ("irq_kernel", "arch timer irq (timerfd expiry) in a 1 MiB read() of /dev/zero"),
];

/// The benchmark's kernel command line on arm64: as on x86 (the lazy
/// preemption model, the benchmark group only) with pseudo-NMIs on, and
/// `nokaslr`: the arm64 kernels have lockdep, whose lock-chain hash
/// lookups on every entry and exit depend on where the lock classes lie,
/// and QEMU's virt machine hands each boot a new `kaslr-seed`.
pub fn bench_cmdline() -> String {
    format!(
        "console=ttyAMA0 panic=-1 kunit.enable=0 {KERNEL_ARGS} entrylab.groups=bench entrylab.bench=full {} nokaslr",
        crate::bench::PREEMPT
    )
}

/// The QEMU command of an arm64 benchmark boot: one CPU, the instruction
/// count as the clock (`-icount`, with the 1 GHz counter one tick per
/// instruction), the fixed RTC of the x86 benchmark, and no randomness from
/// the host: the virt machine puts a fresh `rng-seed` and `kaslr-seed` into
/// every boot's device tree (`dtb-randomness=off` leaves them out), and
/// `-cpu max` has `RNDR`, which `-seed` makes a fixed sequence. Either
/// seeds the kernel's random pool, and from it hash keys and the
/// scheduler's and allocators' choices, so that two boots of one kernel
/// would not run the same instructions.
pub fn bench_qemu_command(image: &Path, initrd: &Path) -> Command {
    machine(
        image,
        initrd,
        &bench_cmdline(),
        "virt,gic-version=3,dtb-randomness=off",
        "1",
        &["-icount", crate::bench::ICOUNT, "-rtc", crate::bench::RTC, "-seed", BENCH_SEED],
    )
}

/// The seed of QEMU's guest random numbers in a benchmark boot (`-seed`).
const BENCH_SEED: &str = "1";

/// The benchmark's initramfs for arm64: busybox, /init, the benchmark alone.
fn bench_initramfs(lab: &Lab) -> Result<PathBuf> {
    let bin = guest::cc_static_with(
        CC,
        &lab.cache.join("guest/arm64/entry_bench"),
        &[lab.repo.join("lab/guest/entry_bench.c")],
        &[],
    )?;
    let p = program(Group::Bench, "entry_bench", 120, "/tests/entry_bench".into(), bin);
    let plan = format!("# GROUP NAME TIMEOUT COMMAND\n{} {} {} {}\n", p.group.name(), p.name, p.limit, p.cmd);
    let entries = qemu::base_entries(lab, &["tests"], &busybox(lab)?, plan)?;
    qemu::pack(lab, entries, &[p], "bench-initramfs-arm64.cpio")
}

/// The problems of a printed benchmark, the figures of [`ARM64_SKIPS`]
/// skipped or missing aside.
pub fn bench_problems(p: &crate::bench::Printed) -> Vec<String> {
    crate::bench::problems(p)
        .into_iter()
        .filter(|m| {
            !ARM64_SKIPS.iter().any(|(f, _)| m.starts_with(&format!("{f} skipped")) || *m == format!("{f} missing"))
        })
        .collect()
}

/// Boots an arm64 variant (built by its KUnit run) with the benchmark once.
pub fn bench_boot(lab: &Lab, v: Variant, initrd: &Path, run_no: u32) -> Result<BenchRun> {
    let name = arm64::name(v);
    let image = arm64::build_dir(lab, v).join("arch/arm64/boot/Image");
    if !image.exists() {
        bail!("{name}: no kernel at {}", image.display());
    }
    let tag = format!("bench-{name}-{run_no}");
    let log = lab.results.join("logs").join(format!("{tag}.log"));
    let spec = RunSpec {
        log: log.clone(),
        first_output: Duration::from_secs(60),
        overall: Duration::from_secs(1200),
        done_marker: "ENTRY-LAB: DONE".into(),
    };
    let _lock = crate::util::machine_lock(&tag)?;
    say(&tag, &format!("booting (tcg, -icount {}, -smp 1; log: {})", crate::bench::ICOUNT, log.display()));
    let start = Instant::now();
    let (outcome, console) = qemu::run_console(bench_qemu_command(&image, initrd), &spec, &tag)?;
    let printed = crate::bench::parse(&console);
    let mut problems: Vec<String> = qemu::explain(&outcome, &log).into_iter().collect();
    match crate::boot::guest_results(&console).get("entry_bench") {
        Some(0) => {}
        Some(rc) => problems.push(format!("entry_bench exited with {rc}")),
        None => problems.push("entry_bench did not run".into()),
    }
    problems.extend(bench_problems(&printed));
    problems.extend(qemu::splats(&console).into_iter().map(|s| format!("console splat: {s}")));
    let r = BenchRun {
        variant: v.name().into(),
        run: run_no,
        printed,
        problems,
        seconds: start.elapsed().as_secs(),
        log: log.display().to_string(),
    };
    crate::bench::say_figures(&tag, &r.printed, start.elapsed(), &r.problems);
    Ok(r)
}

/// The arm64 benchmark: each variant booted twice; the two runs of a
/// variant must agree on every figure (as on x86), and the table compares
/// the better of each. Returns whether it all held and the report's lines.
pub fn bench(lab: &Lab) -> Result<(bool, Vec<String>)> {
    let initrd = bench_initramfs(lab)?;
    let mut ok = true;
    let mut runs = vec![];
    let mut best = BTreeMap::new();
    for v in Variant::ALL {
        let k = arm64::run(lab, v, true)?;
        if let Some(p) = k.problem() {
            bail!("{}: the KUnit run that builds the kernel failed: {p}", arm64::name(v));
        }
        let mut mins = vec![];
        for run_no in 1..=2 {
            let r = bench_boot(lab, v, &initrd, run_no)?;
            ok &= r.problems.is_empty();
            mins.push(r.printed.figures.iter().map(|(k, f)| (k.clone(), f.min)).collect::<BTreeMap<_, _>>());
            runs.push(r);
        }
        for a in crate::bench::agreement(&mins[0], &mins[1]) {
            if a.first.is_some() && a.second.is_some() && !a.ok {
                ok = false;
                say(
                    &arm64::name(v),
                    &format!("the two runs disagree on {}: {:?} vs {:?}", a.figure, a.first, a.second),
                );
            }
        }
        best.insert(v, crate::bench::best(&mins));
    }
    let cmp = crate::bench::compare("arm64", &best[&Variant::C], &best[&Variant::Rust]);
    let mut md = vec![
        String::new(),
        "arm64 benchmark (`-icount`, one CPU; ticks = guest instructions; the better of two runs, which agree):".into(),
        String::new(),
        "| figure | what | c | rust | rust - c |".into(),
        "|---|---|---:|---:|---:|".into(),
    ];
    for c in &cmp {
        let what = ARM64_WHAT
            .iter()
            .find(|(f, _)| *f == c.figure)
            .map(|(_, w)| *w)
            .or_else(|| crate::bench::FIGURES.iter().find(|f| f.name == c.figure).map(|f| f.what))
            .unwrap_or("");
        md.push(format!("| {} | {what} | {:.1} | {:.1} | {:+.1} |", c.figure, c.c, c.rust, c.diff));
    }
    for (f, why) in ARM64_SKIPS {
        md.push(format!("| {f} | not taken on arm64: {why} | | | |"));
    }
    crate::util::write(&lab.results.join("arm64-bench.json"), serde_json::to_string_pretty(&runs)?)?;
    Ok((ok, md))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booted(tests: &[(&str, guest::Outcome)], nmis: Option<i64>) -> Boot {
        Boot {
            variant: "rust".into(),
            outcome: Outcome::Completed,
            seconds: 1,
            programs: tests.iter().map(|(n, _)| (n.to_string(), 0)).collect(),
            tests: tests.iter().map(|(n, o)| (n.to_string(), *o)).collect(),
            pseudo_nmi: true,
            pmu_nmi: true,
            nmis,
            splats: vec![],
            log: "/nonexistent".into(),
            kept: false,
        }
    }

    #[test]
    fn the_nmi_count_line_is_read() {
        let c = "[    1.0] x\nENTRY-LAB: NMI arm-pmu 1234\nok 1 pmu_nmis_taken\n";
        assert_eq!(nmi_count(c), Some(1234));
        assert_eq!(nmi_count("ENTRY-LAB: NMI none -1\n"), Some(-1));
        assert_eq!(nmi_count("nothing\n"), None);
    }

    #[test]
    fn a_boot_without_nmis_or_with_a_failing_own_program_fails() {
        use guest::Outcome::{Fail, Pass};
        let good = booted(&[("entry_workload", Pass), ("entry_nmi", Pass)], Some(10));
        assert!(good.problems().is_empty(), "{:?}", good.problems());
        let none = booted(&[("entry_workload", Pass), ("entry_nmi", Pass)], Some(0));
        assert!(none.problems().iter().any(|p| p.contains("0 pseudo-NMIs")));
        let bad = booted(&[("entry_workload", Fail), ("entry_nmi", Pass)], Some(3));
        assert_eq!(bad.problems(), vec!["entry_workload: FAIL".to_string()]);
        let mut off = booted(&[("entry_workload", Pass), ("entry_nmi", Pass)], Some(3));
        off.pmu_nmi = false;
        assert!(off.problems()[0].contains(PMU_NMI_LINE));
    }

    #[test]
    fn differences_name_the_test_and_both_results() {
        use guest::Outcome::{Fail, Pass, Skip};
        let c = booted(&[("a", Pass), ("b", Skip), ("c", Pass)], Some(1));
        let r = booted(&[("a", Pass), ("b", Fail)], Some(1));
        assert_eq!(differences(&c, &r), vec!["b: c=skip rust=FAIL".to_string(), "c: c=pass rust=missing".to_string()]);
    }

    #[test]
    fn elf_machine_is_read_from_the_header() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[18] = 183;
        assert_eq!(elf_machine(&h), Some(183));
        h[18] = 62;
        assert_eq!(elf_machine(&h), Some(62));
        assert_eq!(elf_machine(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn arm64_bench_skips_only_what_arm64_cannot_take() {
        let mut p = crate::bench::Printed { done: Some(8), ..Default::default() };
        for f in crate::bench::FIGURES.iter().filter(|f| !ARM64_SKIPS.iter().any(|(s, _)| *s == f.name)) {
            p.figures.insert(
                f.name.into(),
                crate::bench::Figure { min: 1.0, reps: 1, rounds: 1, all: vec![1.0], extra: Default::default() },
            );
        }
        p.skips.insert("nmi".into(), "no module".into());
        assert!(bench_problems(&p).is_empty(), "{:?}", bench_problems(&p));
        p.figures.remove("signal_kill");
        assert_eq!(bench_problems(&p), vec!["signal_kill missing".to_string()]);
        let q = format!("{:?}", bench_qemu_command(Path::new("/I"), Path::new("/R")));
        assert!(q.contains("\"-icount\"") && q.contains("\"-smp\" \"1\""), "{q}");
        assert!(q.contains("dtb-randomness=off") && q.contains("\"-seed\""), "no host randomness: {q}");
        assert!(bench_cmdline().contains("entrylab.groups=bench") && bench_cmdline().contains("gicv3_pseudo_nmi=1"));
        assert!(bench_cmdline().ends_with(" nokaslr"), "the same kernel layout in every benchmark boot");
    }

    #[test]
    fn the_command_line_turns_pseudo_nmis_on_and_kunit_off() {
        let c = cmdline(20);
        assert!(c.contains("irqchip.gicv3_pseudo_nmi=1") && c.contains("kunit.enable=0") && c.contains("seconds=20"));
        let q = format!("{:?}", qemu_command(Path::new("/I"), Path::new("/R"), &c));
        assert!(q.contains("virt,gic-version=3") && q.contains("\"-no-reboot\""), "{q}");
    }
}
