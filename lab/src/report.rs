//! Boots, the side-by-side report, and the two jobs (main and test).

use crate::build::{self, BuildResult};
use crate::guest;
use crate::kunit::{self, KunitResult, Status};
use crate::lab::{Flavor, Lab, Variant};
use crate::memo::{age, file_hash, Memo};
use crate::qemu::{self, Outcome, RunSpec};
use crate::util::{fmt_dur, say, write, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct BootOpts {
    /// Name of the configuration in the matrix (part of the log name).
    pub config: String,
    pub seconds: u64,
    pub smp: u32,
    pub append: String,
    /// Program groups to run (all when empty); see [`crate::guest::GROUPS`].
    pub groups: Vec<String>,
}

impl BootOpts {
    pub fn from_args(seconds: Option<u64>, smp: Option<u32>, append: Option<String>) -> BootOpts {
        BootOpts {
            config: "manual".into(),
            seconds: seconds.unwrap_or(60),
            smp: smp.unwrap_or(4),
            append: append.unwrap_or_default(),
            groups: vec![],
        }
    }
}

/// One configuration of the boot matrix: a kernel (plain or debug) and a
/// command line. Both variants boot each one.
pub struct Config {
    pub name: &'static str,
    pub debug: bool,
    pub append: &'static str,
    pub groups: &'static [&'static str],
    pub seconds: u64,
}

const OWN: &[&str] = &["workload", "probe", "entry"];
const ALL: &[&str] = &["workload", "probe", "entry", "upstream"];

/// The boot matrix of the main job. `preempt=` sets the preemption model
/// (x86 has ARCH_HAS_PREEMPT_LAZY, so 7.3 only offers `full` and `lazy`:
/// `none` and `voluntary` are refused and would boot as `full`);
/// `nohz_full=` turns on context tracking on user transitions
/// (CONFIG_NO_HZ_FULL is in base.config).
pub const MATRIX: &[Config] = &[
    Config { name: "full", debug: false, append: "preempt=full", groups: ALL, seconds: 20 },
    Config { name: "lazy", debug: false, append: "preempt=lazy", groups: ALL, seconds: 10 },
    Config { name: "nohz_full", debug: false, append: "preempt=full nohz_full=1-3", groups: OWN, seconds: 10 },
    Config { name: "debug", debug: true, append: "preempt=full", groups: OWN, seconds: 10 },
];

impl Config {
    pub fn opts(&self, smp: u32) -> BootOpts {
        BootOpts {
            config: self.name.into(),
            seconds: self.seconds,
            smp,
            append: self.append.into(),
            groups: self.groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BootResult {
    pub flavor: String,
    pub variant: String,
    pub config: String,
    pub cmdline: String,
    /// Booted, finished the plan, no console splat.
    pub ok: bool,
    pub outcome: Outcome,
    pub accel: String,
    pub seconds: u64,
    /// Guest programs and their exit codes ("ENTRY-LAB: RESULT name rc=N").
    pub programs: BTreeMap<String, i32>,
    /// Every program and every KTAP test line it printed.
    pub tests: BTreeMap<String, guest::Outcome>,
    /// The project's own programs (workload, probe, entry kselftest) that
    /// did not pass: these must pass on both variants.
    pub own_failures: Vec<String>,
    pub splats: Vec<String>,
    pub error: Option<String>,
    pub log: String,
    /// Kept from an earlier boot with the same inputs (see memo.rs).
    #[serde(default)]
    pub kept: bool,
}

/// Parses the guest's "ENTRY-LAB: RESULT name rc=N" lines.
pub fn guest_results(console: &str) -> BTreeMap<String, i32> {
    console
        .lines()
        .filter_map(|l| {
            let rest = qemu::strip_ts(l).strip_prefix("ENTRY-LAB: RESULT ")?;
            let (name, rc) = rest.split_once(" rc=")?;
            Some((name.to_string(), rc.trim().parse().ok()?))
        })
        .collect()
}

/// Boots a built flavor with the initramfs and waits for the plan. With
/// `reuse`, a clean result kept from a boot of the same kernel image and
/// initramfs with the same QEMU command line is returned instead.
pub fn boot(lab: &Lab, f: Flavor, o: &BootOpts, reuse: bool) -> Result<BootResult> {
    let name = f.name();
    let kernel = build::kernel_image(lab, f);
    if !kernel.exists() {
        crate::bail!("{name}: no kernel at {}; run `./entry-lab build {}` first", kernel.display(), f.variant.name());
    }
    if crate::util::which("qemu-system-x86_64").is_none() {
        crate::bail!("missing tool `qemu-system-x86_64`: run `./entry-lab setup`");
    }
    let programs = crate::guest::programs(lab)?;
    let initrd = qemu::initramfs(lab)?;
    let accel = qemu::accel(lab, &kernel)?;
    // "c-debug" booted with the "debug" configuration is just "c-debug".
    let tag = if name.ends_with(&format!("-{}", o.config)) { name.to_string() } else { format!("{name}-{}", o.config) };
    let log = lab.results.join("logs").join(format!("boot-{tag}.log"));
    let mut cmdline = format!("console=ttyS0 panic=-1 kunit.enable=0 entrylab.seconds={}", o.seconds);
    if !o.groups.is_empty() {
        cmdline.push_str(&format!(" entrylab.groups={}", o.groups.join(",")));
    }
    if !o.append.is_empty() {
        cmdline.push(' ');
        cmdline.push_str(&o.append);
    }
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-nodefaults", "-nographic", "-no-reboot", "-m", "2048", "-accel", accel])
        .args(["-smp", &o.smp.to_string(), "-serial", "stdio", "-bios", "qboot.rom"])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .arg("-append")
        .arg(&cmdline);
    // The plan's time limits bound the run; add the workload and boot time.
    let selected = |p: &&crate::guest::Program| o.groups.is_empty() || o.groups.iter().any(|g| g == p.group);
    let budget: u64 =
        programs.iter().filter(selected).map(|p| if p.group == "workload" { o.seconds + 60 } else { p.limit }).sum();
    let spec = RunSpec {
        log: log.clone(),
        first_output: Duration::from_secs(
            std::env::var("ENTRY_LAB_SILENCE_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60),
        ),
        overall: Duration::from_secs(budget + 240),
        done_marker: "ENTRY-LAB: DONE".into(),
    };
    let qemu_line = format!("{cmd:?}");
    let parts = file_hash(&kernel).zip(file_hash(&initrd)).map(|(k, i)| {
        ["boot".to_string(), k, i, qemu_line, format!("{:?}", o.groups), lab.results.display().to_string()]
    });
    let memo = Memo::new(
        lab.build_dir(f).join(format!("entry-lab.kept-boot-{}.json", o.config)),
        parts.as_ref().map(|p| &p[..]),
    );
    if reuse {
        if let Some(mut r) = memo.get(|r: &BootResult| Path::new(&r.log).exists()) {
            say(
                &tag,
                &format!(
                    "same kernel, initramfs and command line as the boot {}: kept ({} tests, log: {})",
                    age(&memo),
                    r.tests.len(),
                    r.log
                ),
            );
            r.kept = true;
            return Ok(r);
        }
    }
    memo.forget();
    say(&tag, &format!("booting ({accel}, -smp {}, {}; log: {})", o.smp, o.append, log.display()));
    let start = Instant::now();
    let (outcome, console) = qemu::run_console(cmd, &spec, &tag)?;
    let ran = guest_results(&console);
    let tests = guest::results(&console);
    let splats = qemu::splats(&console);
    let own_failures: Vec<String> = programs
        .iter()
        .filter(selected)
        .filter(|p| OWN.contains(&p.group))
        .filter(|p| tests.get(&p.name) != Some(&guest::Outcome::Pass))
        .map(|p| format!("{} ({})", p.name, tests.get(&p.name).map_or("did not run", |t| t.word())))
        .collect();
    let mut error = qemu::explain(&outcome, &log);
    if error.is_none() {
        if ran.is_empty() {
            error = Some(format!("no guest program ran (log: {})", log.display()));
        } else if let Some(s) = splats.first() {
            error = Some(format!("console splat: {s}"));
        }
    }
    let r = BootResult {
        flavor: name.clone(),
        variant: f.variant.name().into(),
        config: o.config.clone(),
        cmdline,
        ok: error.is_none(),
        outcome,
        accel: accel.to_string(),
        seconds: start.elapsed().as_secs(),
        programs: ran,
        tests,
        own_failures,
        splats,
        error,
        log: log.display().to_string(),
        kept: false,
    };
    say(&tag, &format!("boot {} in {}", if r.ok { "ok" } else { "FAILED" }, fmt_dur(start.elapsed())));
    if r.ok && r.own_failures.is_empty() {
        memo.put(&r)?;
    }
    Ok(r)
}

pub fn print_boot(r: &BootResult) {
    for (p, rc) in &r.programs {
        println!("{}: {p} rc={rc}", r.flavor);
    }
    for p in &r.own_failures {
        println!("{}: FAILED: {p}", r.flavor);
    }
    for s in &r.splats {
        println!("{}: splat: {s}", r.flavor);
    }
    if let Some(e) = &r.error {
        println!("{}: boot FAILED: {e}", r.flavor);
    } else {
        println!("{}: boot ok ({} s, {})", r.flavor, r.seconds, r.accel);
    }
}

pub fn print_kunit(r: &KunitResult) {
    for c in r.cases.iter().filter(|c| c.status == Status::Fail) {
        println!("{}: KUnit FAIL {}", r.flavor, c.name);
    }
    if let Some(e) = &r.error {
        println!("{}: KUnit error: {e}", r.flavor);
    }
}

/// Everything measured for one flavor (a variant, plain or debug).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Row {
    pub flavor: String,
    pub build: Option<BuildResult>,
    pub kunit: Option<KunitResult>,
    /// Problems with where the entry symbols are defined (empty: right).
    pub symbols: Option<Vec<String>>,
    pub errors: Vec<String>,
}

impl Row {
    fn built(&self) -> bool {
        self.build.as_ref().is_some_and(|b| b.error.as_deref().is_none_or(|e| !e.starts_with("build failed")))
    }

    fn ok(&self) -> bool {
        self.errors.is_empty()
            && self.build.as_ref().is_some_and(|b| b.ok)
            && self.kunit.as_ref().is_some_and(|k| k.ok())
            && self.symbols.as_ref().is_some_and(Vec::is_empty)
    }
}

/// Builds and KUnit-runs a flavor and checks its entry symbols, collecting
/// every failure as a row entry instead of stopping (the report shows all).
fn measure(lab: &Lab, f: Flavor, reuse: bool) -> Row {
    let mut row = Row { flavor: f.name(), ..Default::default() };
    match build::build(lab, f, reuse) {
        Ok(b) => {
            if let Some(e) = &b.error {
                row.errors.push(e.clone());
            }
            row.build = Some(b);
            if !row.built() {
                return row;
            }
        }
        Err(e) => {
            row.errors.push(e.0);
            return row;
        }
    }
    match crate::symbols::check(lab, f) {
        Ok(p) => {
            row.errors.extend(p.iter().map(|e| format!("entry symbols: {e}")));
            row.symbols = Some(p);
        }
        Err(e) => row.errors.push(e.0),
    }
    match kunit::run(lab, f, reuse) {
        Ok(k) => {
            if let Some(e) = &k.error {
                row.errors.push(e.clone());
            }
            row.kunit = Some(k);
        }
        Err(e) => row.errors.push(e.0),
    }
    row
}

/// Both variants booted in one configuration of the matrix.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Pair {
    pub config: String,
    pub append: String,
    pub c: Option<BootResult>,
    pub rust: Option<BootResult>,
    pub errors: Vec<String>,
}

impl Pair {
    fn boots(&self) -> impl Iterator<Item = &BootResult> {
        self.c.iter().chain(self.rust.iter())
    }

    /// Booted twice, finished, no splat, the own programs passed, and every
    /// test has the same result on both variants.
    fn ok(&self) -> bool {
        self.errors.is_empty()
            && self.c.is_some()
            && self.rust.is_some()
            && self.boots().all(|b| b.ok && b.own_failures.is_empty())
            && differences(self).is_empty()
    }
}

/// Boots both variants in configuration `cfg` (when their kernel was built).
fn boot_pair(lab: &Lab, cfg: &Config, rows: &[Row], smp: u32, reuse: bool) -> Pair {
    let mut pair = Pair { config: cfg.name.into(), append: cfg.append.into(), ..Default::default() };
    for variant in Variant::ALL {
        let f = Flavor { variant, debug: cfg.debug };
        if !rows.iter().any(|r| r.flavor == f.name() && r.built()) {
            pair.errors.push(format!("{}: not built, not booted", f.name()));
            continue;
        }
        match boot(lab, f, &cfg.opts(smp), reuse) {
            Ok(b) => {
                if variant == Variant::C {
                    pair.c = Some(b);
                } else {
                    pair.rust = Some(b);
                }
            }
            Err(e) => pair.errors.push(format!("{}: {}", f.name(), e.0)),
        }
    }
    pair
}

/// Tests whose result differs between the variants: (test, c, rust).
pub fn differences(p: &Pair) -> Vec<(String, Option<guest::Outcome>, Option<guest::Outcome>)> {
    let (Some(c), Some(r)) = (&p.c, &p.rust) else {
        return vec![];
    };
    let mut names: Vec<&String> = c.tests.keys().chain(r.tests.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| c.tests.get(*n) != r.tests.get(*n))
        .map(|n| (n.clone(), c.tests.get(n).copied(), r.tests.get(n).copied()))
        .collect()
}

/// KUnit cases whose result differs between two rows.
fn kunit_diff(a: &Row, b: &Row) -> Vec<String> {
    let map = |r: &Row| -> BTreeMap<String, Status> {
        r.kunit.iter().flat_map(|k| k.cases.iter().map(|c| (c.name.clone(), c.status))).collect()
    };
    let (ma, mb) = (map(a), map(b));
    let mut names: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| ma.get(*n) != mb.get(*n))
        .map(|n| format!("{n}: {} {:?} vs {} {:?}", a.flavor, ma.get(n), b.flavor, mb.get(n)))
        .collect()
}

fn word(o: Option<guest::Outcome>) -> &'static str {
    o.map_or("-", guest::Outcome::word)
}

/// The report as Markdown. `all_tests`: every KTAP test line as a row
/// (the file); otherwise programs and differing tests only (the console).
pub fn table(rows: &[Row], pairs: &[Pair], all_tests: bool) -> String {
    let mut s = String::new();
    if !rows.is_empty() {
        builds_table(&mut s, rows);
    }
    if !pairs.is_empty() {
        boots_table(&mut s, pairs, all_tests);
    }
    let kept = kept_steps(rows, pairs);
    if !kept.is_empty() {
        s.push_str(&format!(
            "\nKept from earlier runs, their inputs unchanged (`./entry-lab run --again` redoes them): {}.\n",
            kept.join(", ")
        ));
    }
    s
}

/// The steps of a report that were kept instead of run again.
pub fn kept_steps(rows: &[Row], pairs: &[Pair]) -> Vec<String> {
    let mut v = vec![];
    for r in rows {
        if r.build.as_ref().is_some_and(|b| b.kept) {
            v.push(format!("{} build", r.flavor));
        }
        if r.kunit.as_ref().is_some_and(|k| k.kept) {
            v.push(format!("{} KUnit", r.flavor));
        }
    }
    for p in pairs {
        for b in p.boots().filter(|b| b.kept) {
            v.push(format!("{} boot ({})", b.flavor, p.config));
        }
    }
    v
}

/// Builds and KUnit per flavor.
fn builds_table(s: &mut String, rows: &[Row]) {
    s.push_str("## Builds and KUnit\n\n| | ");
    s.push_str(&rows.iter().map(|r| r.flavor.as_str()).collect::<Vec<_>>().join(" | "));
    s.push_str(" |\n|---|");
    s.push_str(&"---|".repeat(rows.len()));
    s.push('\n');
    let line = |s: &mut String, label: &str, f: &dyn Fn(&Row) -> String| {
        s.push_str(&format!("| {label} | "));
        s.push_str(&rows.iter().map(f).collect::<Vec<_>>().join(" | "));
        s.push_str(" |\n");
    };
    line(s, "build", &|r| match &r.build {
        Some(b) if r.built() => format!("ok ({}, {} objects)", fmt_dur(Duration::from_secs(b.seconds)), b.steps),
        Some(_) => "FAILED".into(),
        None => "-".into(),
    });
    line(s, "objtool warnings", &|r| r.build.as_ref().map_or("-".into(), |b| b.objtool.len().to_string()));
    line(s, "entry symbols", &|r| match &r.symbols {
        Some(p) if p.is_empty() => "ok".into(),
        Some(p) => format!("{} problems", p.len()),
        None => "-".into(),
    });
    line(s, "KUnit pass/fail/skip", &|r| {
        r.kunit.as_ref().map_or("-".into(), |k| {
            format!(
                "{}/{}/{}{}",
                k.count(Status::Pass),
                k.count(Status::Fail),
                k.count(Status::Skip),
                if k.error.is_some() { " (error)" } else { "" }
            )
        })
    });
    for r in rows {
        for e in &r.errors {
            s.push_str(&format!("\n- {} error: {e}", r.flavor));
        }
    }
    for pair in rows.chunks(2) {
        if let [a, b] = pair {
            for d in kunit_diff(a, b) {
                s.push_str(&format!("\n- **KUnit difference**: {d}"));
            }
        }
    }
    s.push_str("\n\n");
}

/// Boots and test results per configuration, c / rust.
fn boots_table(s: &mut String, pairs: &[Pair], all_tests: bool) {
    s.push_str("## Boots: c / rust in each configuration\n\n| | ");
    s.push_str(&pairs.iter().map(|p| p.config.as_str()).collect::<Vec<_>>().join(" | "));
    s.push_str(" |\n|---|");
    s.push_str(&"---|".repeat(pairs.len()));
    s.push('\n');
    let pline = |s: &mut String, label: &str, f: &dyn Fn(&Pair) -> String| {
        s.push_str(&format!("| {label} | "));
        s.push_str(&pairs.iter().map(f).collect::<Vec<_>>().join(" | "));
        s.push_str(" |\n");
    };
    let both = |p: &Pair, f: &dyn Fn(&BootResult) -> String| {
        format!("{} / {}", p.c.as_ref().map_or("-".into(), f), p.rust.as_ref().map_or("-".into(), f))
    };
    pline(s, "command line", &|p| format!("`{}`", p.append));
    pline(s, "boot", &|p| both(p, &|b| if b.ok { "ok".into() } else { "**FAILED**".into() }));
    pline(s, "time (s)", &|p| both(p, &|b| b.seconds.to_string()));
    pline(s, "console splats", &|p| both(p, &|b| b.splats.len().to_string()));
    pline(s, "tests (c / rust)", &|p| both(p, &|b| b.tests.len().to_string()));
    pline(s, "different results", &|p| {
        let n = differences(p).len();
        if n == 0 {
            "0".into()
        } else {
            format!("**{n}**")
        }
    });
    // One row per test: the common result, or both when they differ.
    let mut names: Vec<&String> = pairs.iter().flat_map(|p| p.boots()).flat_map(|b| b.tests.keys()).collect();
    names.sort();
    names.dedup();
    let mut hidden = 0;
    let mut rows_out = String::new();
    for n in names {
        let differs = pairs.iter().any(|p| differences(p).iter().any(|d| &d.0 == n));
        if !all_tests && !differs && n.contains(": ") {
            hidden += 1;
            continue;
        }
        rows_out.push_str(&format!("| {n} | "));
        let cells: Vec<String> = pairs
            .iter()
            .map(|p| {
                let c = p.c.as_ref().and_then(|b| b.tests.get(n).copied());
                let r = p.rust.as_ref().and_then(|b| b.tests.get(n).copied());
                if c == r {
                    word(c).to_string()
                } else {
                    format!("**c={} rust={}**", word(c), word(r))
                }
            })
            .collect();
        rows_out.push_str(&cells.join(" | "));
        rows_out.push_str(" |\n");
    }
    s.push_str("\n### Test results (one cell: same on c and rust; **bold**: different)\n\n| test | ");
    s.push_str(&pairs.iter().map(|p| p.config.as_str()).collect::<Vec<_>>().join(" | "));
    s.push_str(" |\n|---|");
    s.push_str(&"---|".repeat(pairs.len()));
    s.push('\n');
    s.push_str(&rows_out);
    if hidden > 0 {
        s.push_str(&format!("\n({hidden} KTAP test lines with the same result on both are in the report file)\n"));
    }
    for p in pairs {
        for e in &p.errors {
            s.push_str(&format!("\n- {} error: {e}", p.config));
        }
        for b in p.boots() {
            for sp in &b.splats {
                s.push_str(&format!("\n- {} {} splat: `{sp}`", p.config, b.flavor));
            }
            if let Some(e) = &b.error {
                s.push_str(&format!("\n- {} {} boot: {e}", p.config, b.flavor));
            }
            for o in &b.own_failures {
                s.push_str(&format!("\n- {} {} failed: {o}", p.config, b.flavor));
            }
        }
    }
    s.push('\n');
}

#[derive(serde::Serialize)]
struct Report<'a> {
    flavors: &'a [Row],
    boots: &'a [Pair],
    differences: BTreeMap<String, Vec<String>>,
}

fn save(lab: &Lab, rows: &[Row], pairs: &[Pair]) -> Result<()> {
    let md = format!("# entry-lab report\n\n{}", table(rows, pairs, true));
    write(&lab.results.join("report.md"), &md)?;
    let differences = pairs
        .iter()
        .map(|p| {
            let d =
                differences(p).into_iter().map(|(n, c, r)| format!("{n}: c={} rust={}", word(c), word(r))).collect();
            (p.config.clone(), d)
        })
        .collect();
    let rep = Report { flavors: rows, boots: pairs, differences };
    write(&lab.results.join("report.json"), serde_json::to_string_pretty(&rep).unwrap_or_default())?;
    Ok(())
}

fn flavors(debug: bool) -> Vec<Flavor> {
    let mut v = vec![];
    for d in if debug { vec![false, true] } else { vec![false] } {
        for variant in Variant::ALL {
            v.push(Flavor { variant, debug: d });
        }
    }
    v
}

/// The main job: builds, KUnit, the boot matrix, then the report.
/// `quick` leaves out the debug builds and boots; without `again`, steps
/// whose inputs did not change since they last passed are kept (memo.rs).
pub fn main_job(lab: &Lab, quick: bool, again: bool) -> Result<bool> {
    let start = Instant::now();
    crate::setup::setup(lab)?;
    let s = crate::assemble(lab)?;
    crate::export(lab, &s, None)?;
    let rows: Vec<Row> = flavors(!quick).into_iter().map(|f| measure(lab, f, !again)).collect();
    let pairs: Vec<Pair> =
        MATRIX.iter().filter(|c| !(quick && c.debug)).map(|c| boot_pair(lab, c, &rows, 4, !again)).collect();
    println!("\n{}", table(&rows, &pairs, false));
    save(lab, &rows, &pairs)?;
    let ok = rows.iter().all(Row::ok)
        && rows.chunks(2).all(|p| p.len() < 2 || kunit_diff(&p[0], &p[1]).is_empty())
        && pairs.iter().all(Pair::ok);
    println!(
        "report: {} and {} (took {}){}",
        lab.results.join("report.md").display(),
        lab.results.join("report.json").display(),
        fmt_dur(start.elapsed()),
        if ok { "" } else { "; FAILURES above" }
    );
    Ok(ok)
}

/// Counts of passed and failed checks, printed as the last line.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn check(&mut self, name: &str, r: std::result::Result<(), String>) {
        match r {
            Ok(()) => {
                self.passed += 1;
                println!("PASS {name}");
            }
            Err(e) => {
                self.failed += 1;
                println!("FAIL {name}: {e}");
            }
        }
    }
}

/// Runs the lab's own unit tests and returns (passed, failed).
fn unit_tests(lab: &Lab) -> Result<(usize, usize)> {
    let out = Command::new("cargo")
        .current_dir(lab.repo.join("lab"))
        .args(["test", "--release", "--quiet"])
        .output()
        .map_err(|e| crate::util::Error(format!("cannot run cargo test: {e}")))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    print!("{text}");
    let (mut p, mut f) = (0, 0);
    for l in text.lines() {
        // "test result: ok. 25 passed; 0 failed; 0 ignored; ..."
        if let Some(rest) = l.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let w: Vec<&str> = part.split_whitespace().collect();
                match w.as_slice() {
                    [.., n, "passed"] => p += n.parse::<usize>().unwrap_or(0),
                    [n, "failed"] => f += n.parse::<usize>().unwrap_or(0),
                    _ => {}
                }
            }
        }
    }
    if !out.status.success() && f == 0 {
        f = 1;
    }
    Ok((p, f))
}

/// The test job: unit tests, series checks, both variants built, KUnit-run
/// and booted. Last line: "N passed, N failed".
pub fn test_job(lab: &Lab) -> Result<bool> {
    let mut t = Tally::default();
    let (p, f) = unit_tests(lab)?;
    t.passed += p;
    t.failed += f;
    println!("lab unit tests: {p} passed, {f} failed");
    let r = (|| -> Result<bool> {
        crate::setup::setup(lab)?;
        let s1 = crate::assemble(lab)?;
        let sd = crate::series::SeriesDir::in_repo(&lab.repo);
        let m = crate::series::Manifest::load(&sd)?;
        let s2 = crate::series::assemble(&lab.src(), crate::base::BASE_TAG, &m, &sd)?;
        t.check(
            "series: assembling twice gives identical commit ids",
            if s1.commits == s2.commits { Ok(()) } else { Err(format!("{:?} vs {:?}", s1.commits, s2.commits)) },
        );
        let _ = std::fs::remove_file(lab.cache.join("am-checked"));
        t.check(
            "series: the export applies with git am onto the pristine base",
            crate::export(lab, &s1, None).map(|_| ()).map_err(|e| e.0),
        );
        // The test job always builds, runs and boots: nothing is kept.
        let rows: Vec<Row> = flavors(false).into_iter().map(|f| measure(lab, f, false)).collect();
        for r in &rows {
            let b = r.build.as_ref();
            t.check(
                &format!("{}: builds", r.flavor),
                match b {
                    Some(_) if r.built() => Ok(()),
                    Some(b) => Err(b.error.clone().unwrap_or_default()),
                    None => Err(r.errors.join("; ")),
                },
            );
            t.check(
                &format!("{}: zero objtool warnings", r.flavor),
                match b {
                    Some(b) if b.objtool.is_empty() => Ok(()),
                    Some(b) => Err(b.objtool.join("; ")),
                    None => Err("not built".into()),
                },
            );
            t.check(
                &format!("{}: entry symbols from the right object, noinstr ones in .noinstr.text", r.flavor),
                match &r.symbols {
                    Some(p) if p.is_empty() => Ok(()),
                    Some(p) => Err(p.join("; ")),
                    None => Err("not checked".into()),
                },
            );
            t.check(
                &format!("{}: KUnit via kunit.py passes", r.flavor),
                match &r.kunit {
                    Some(k) if k.ok() => Ok(()),
                    Some(k) => Err(k.error.clone().unwrap_or_else(|| format!("{} failed", k.count(Status::Fail)))),
                    None => Err("not run".into()),
                },
            );
        }
        if let [a, b] = rows.as_slice() {
            let d = kunit_diff(a, b);
            t.check("c and rust: identical KUnit results", if d.is_empty() { Ok(()) } else { Err(d.join("; ")) });
        }
        // The project's own guest programs, 20 s of workload: shorter than
        // the main job's matrix to keep CI well inside its limit.
        let cfg = Config { name: "test", debug: false, append: "preempt=full", groups: OWN, seconds: 20 };
        let pair = boot_pair(lab, &cfg, &rows, 4, false);
        for b in pair.boots() {
            t.check(
                &format!("{}: boots and runs the plan without console splats", b.flavor),
                match &b.error {
                    None => Ok(()),
                    Some(e) => Err(e.clone()),
                },
            );
            t.check(
                &format!("{}: workload, entry probe sample and entry kselftest pass", b.flavor),
                if b.own_failures.is_empty() { Ok(()) } else { Err(b.own_failures.join(", ")) },
            );
        }
        t.check(
            "c and rust: boots compared",
            if pair.errors.is_empty() { Ok(()) } else { Err(pair.errors.join("; ")) },
        );
        let d = differences(&pair);
        t.check(
            "c and rust: identical results of every guest test",
            if d.is_empty() {
                Ok(())
            } else {
                Err(d
                    .iter()
                    .map(|(n, c, r)| format!("{n}: c={} rust={}", word(*c), word(*r)))
                    .collect::<Vec<_>>()
                    .join("; "))
            },
        );
        let pairs = vec![pair];
        let fmt = crate::style::rustfmt(lab)?;
        t.check(
            "style: rustfmt (kernel .rustfmt.toml) on the series' Rust files",
            if fmt.is_empty() { Ok(()) } else { Err(fmt.join(", ")) },
        );
        let cp = crate::style::checkpatch(lab, &lab.results.join("series"))?;
        t.check("style: checkpatch.pl on every patch", if cp.is_empty() { Ok(()) } else { Err(cp.join("; ")) });
        // The tests must be able to fail: each deliberately broken build
        // (lab/faults/) has to be caught. Each rebuilds the rust tree twice.
        for fault in ["nmi-without-hardirq-offset", "no-signal-on-irq-return"] {
            t.check(
                &format!("rust: the tests catch the deliberate fault {fault}"),
                match crate::fault_detected(lab, fault, false) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err("not detected with the fault applied".into()),
                    Err(e) => Err(e.0),
                },
            );
        }
        // Last: CLIPPY=1 rebuilds the entry objects (the next build restores them).
        let cl = crate::style::clippy(lab)?;
        t.check("style: clippy (CLIPPY=1) on the entry code", if cl.is_empty() { Ok(()) } else { Err(cl.join("; ")) });
        println!("\n{}", table(&rows, &pairs, false));
        save(lab, &rows, &pairs)?;
        Ok(true)
    })();
    if let Err(e) = r {
        t.check("lab steps", Err(e.0));
    }
    println!("{} passed, {} failed", t.passed, t.failed);
    Ok(t.failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_result_lines() {
        let c = "[ 1.0] ENTRY-LAB: RESULT entry_workload rc=0\nENTRY-LAB: RESULT other rc=3\nnoise rc=1\n";
        let r = guest_results(c);
        assert_eq!(r.len(), 2);
        assert_eq!(r["entry_workload"], 0);
        assert_eq!(r["other"], 3);
    }

    #[test]
    fn table_shows_errors_and_kunit_differences() {
        let k = |st| KunitResult {
            flavor: "x".into(),
            cases: vec![kunit::Case { name: "s.a".into(), status: st }],
            complete: true,
            ..Default::default()
        };
        let a = Row { flavor: "c".into(), kunit: Some(k(Status::Pass)), ..Default::default() };
        let b = Row {
            flavor: "rust".into(),
            kunit: Some(k(Status::Fail)),
            errors: vec!["boom".into()],
            ..Default::default()
        };
        let t = table(&[a, b], &[], false);
        assert!(t.starts_with("## Builds and KUnit\n\n| | c | rust |\n|---|---|---|\n"), "{t}");
        assert!(t.contains("| KUnit pass/fail/skip | 1/0/0 | 0/1/0 |"), "{t}");
        assert!(t.contains("- rust error: boom"));
        assert!(t.contains("- **KUnit difference**: s.a: c Some(Pass) vs rust Some(Fail)"), "{t}");
    }

    fn booted(variant: &str, tests: &[(&str, guest::Outcome)]) -> BootResult {
        BootResult {
            flavor: variant.into(),
            variant: variant.into(),
            config: "full".into(),
            cmdline: String::new(),
            ok: true,
            outcome: Outcome::Completed,
            accel: "tcg".into(),
            seconds: 1,
            programs: BTreeMap::new(),
            tests: tests.iter().map(|(n, o)| (n.to_string(), *o)).collect(),
            own_failures: vec![],
            splats: vec![],
            error: None,
            log: String::new(),
            kept: false,
        }
    }

    #[test]
    fn kept_steps_are_named_under_the_table() {
        let mut k = KunitResult { flavor: "c".into(), complete: true, ..Default::default() };
        k.kept = true;
        let c = Row { flavor: "c".into(), kunit: Some(k), ..Default::default() };
        let mut rb = booted("rust", &[]);
        rb.kept = true;
        let pair = Pair { config: "lazy".into(), c: Some(booted("c", &[])), rust: Some(rb), ..Default::default() };
        assert_eq!(kept_steps(std::slice::from_ref(&c), std::slice::from_ref(&pair)), ["c KUnit", "rust boot (lazy)"]);
        let t = table(&[c], &[pair], false);
        assert!(t.contains("Kept from earlier runs, their inputs unchanged (`./entry-lab run --again` redoes them): c KUnit, rust boot (lazy)."), "{t}");
        assert!(!table(&[], &[], false).contains("Kept"));
    }

    #[test]
    fn a_boot_result_survives_its_round_trip_through_the_memo_file() {
        let b = booted("rust", &[("entry_test", guest::Outcome::Timeout)]);
        let json = serde_json::to_string(&b).unwrap();
        let back: BootResult = serde_json::from_str(&json).unwrap();
        assert_eq!(back.tests, b.tests);
        assert_eq!(back.outcome, Outcome::Completed);
        // Files written before `kept` existed still read.
        let old = json.replace(",\"kept\":false", "");
        assert!(!old.contains("kept"));
        assert!(!serde_json::from_str::<BootResult>(&old).unwrap().kept);
    }

    #[test]
    fn differences_are_found_and_highlighted() {
        use guest::Outcome::*;
        let pair = Pair {
            config: "full".into(),
            append: "preempt=full".into(),
            c: Some(booted("c", &[("entry_test", Pass), ("entry_test: irq signal", Pass), ("entry_test: a", Pass)])),
            rust: Some(booted(
                "rust",
                &[("entry_test", Fail), ("entry_test: irq signal", Fail), ("entry_test: a", Pass)],
            )),
            errors: vec![],
        };
        let d = differences(&pair);
        assert_eq!(d.len(), 2);
        assert_eq!(d[1], ("entry_test: irq signal".to_string(), Some(Pass), Some(Fail)));
        assert!(!pair.ok());
        let t = table(&[], std::slice::from_ref(&pair), false);
        assert!(t.contains("| entry_test: irq signal | **c=pass rust=FAIL** |"), "{t}");
        assert!(t.contains("| different results | **2** |"), "{t}");
        // Same results on both: hidden on the console, listed in the file.
        assert!(!t.contains("| entry_test: a |"), "{t}");
        assert!(table(&[], &[pair], true).contains("| entry_test: a | pass |"));
    }
}
