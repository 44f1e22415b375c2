//! The config matrix (`entry-lab matrix`, issue 10 item 6): the `rust`
//! variant built in configurations that change what the entry code
//! compiles to (sanitizers, PREEMPT_RT, lockdep and irq-flag tracing,
//! Tiny RCU, no context tracking, ...), each with objtool and DEBUG_ENTRY,
//! each booted with the project's own guest programs (the entry kselftest,
//! the probe sample, the workload).
//!
//! A row is base.config + variant-rust.config + `lab/configs/matrix-NAME.config`
//! (later lines win), built in its own folder (`build/matrix-NAME`). It
//! passes when every option its files ask for is in the `.config` (an option
//! that silently dropped out fails the row), make succeeds with 0 objtool
//! warnings, `entry_rs.o` calls no sanitizer runtime, and the boot completes
//! with every own program passing and no console splat. Builds and boots are
//! kept like the other steps (memo.rs): a rerun redoes the rows whose config
//! or series changed. The last result of every row is in
//! `results/matrix.json`, so the table also shows rows not run this time.

use crate::boot::{self, BootOpts};
use crate::build;
use crate::guest::{Group, Outcome};
use crate::lab::{Lab, Target, Variant};
use crate::util::{fmt_dur, read, say, write, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One configuration of the matrix.
#[derive(Debug)]
pub struct Row {
    /// Its fragment is `lab/configs/matrix-NAME.config`, its build folder
    /// `build/matrix-NAME`.
    pub name: &'static str,
    /// What it changes, for `--list` and the README.
    pub what: &'static str,
    /// Kernel command line of its boot.
    pub append: &'static str,
    /// CPUs of its boot (1 for the !SMP row).
    pub smp: u32,
    /// Set when Kconfig makes the Rust entry code (Rust itself, or the C
    /// generic entry it replaces) unavailable in this configuration: the
    /// reason. Such a row is listed, never built.
    pub excluded: Option<&'static str>,
}

/// The rows in the order they run: first those most likely to find a
/// problem in the Rust entry code: KASAN around code that must stay
/// uninstrumented, Rust's own checks in the crates that entry_rs.o
/// inlines from, `#[cfg]` paths no other build compiles (no
/// PREEMPT_DYNAMIC, no user context tracking), PREEMPT_RT and irq-flag
/// tracing; then the C-only sanitizers (full rebuilds), Tiny RCU (built
/// before), and the ones close to base.config.
pub const ROWS: &[Row] = &[
    Row {
        name: "kasan",
        what: "KASAN generic, inline checks (entry_rs.o uninstrumented, the crates around it instrumented)",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "rust-checks",
        what: "RUST_OVERFLOW_CHECKS with RUST_DEBUG_ASSERTIONS",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "no-preempt-dynamic",
        what: "full preemption without PREEMPT_DYNAMIC (no static call)",
        append: "",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "preempt-rt",
        what: "PREEMPT_RT (threaded interrupts, sleeping locks)",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "trace-irqflags",
        what: "TRACE_IRQFLAGS without LOCKDEP (irqsoff tracer)",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "no-ct-user",
        what: "CONTEXT_TRACKING_USER off (no NO_HZ_FULL)",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row { name: "kcsan", what: "KCSAN (C instrumented)", append: "preempt=full", smp: 2, excluded: None },
    Row {
        name: "ubsan",
        what: "UBSAN bounds and shifts (C instrumented)",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "tiny-rcu",
        what: "TINY_RCU with PROVE_LOCKING and PROVE_RCU, !SMP, PREEMPT_LAZY without PREEMPT_DYNAMIC",
        append: "",
        smp: 1,
        excluded: None,
    },
    Row {
        name: "kstack-offset",
        what: "RANDOMIZE_KSTACK_OFFSET on by default",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "kvm",
        what: "KVM and KVM_AMD as modules: kvm.ko links the Rust xfer_to_guest_mode_handle_work()",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
    Row {
        name: "mitigations",
        what: "CPU mitigations: return thunks, retpolines, call depth tracking, SLS, PTI, IBT",
        append: "preempt=full",
        smp: 2,
        excluded: None,
    },
];

/// Workload seconds of a matrix boot (the entry kselftest and the probe
/// sample run after it).
pub const SECONDS: u64 = 10;

impl Row {
    pub fn fragment_file(&self) -> String {
        format!("matrix-{}.config", self.name)
    }

    /// base + variant-rust + the row's fragment, in `build/matrix-NAME`.
    pub fn target(&self) -> Target {
        Target {
            name: format!("matrix-{}", self.name),
            variant: Variant::Rust,
            configs: vec!["base.config".into(), "variant-rust.config".into(), self.fragment_file()],
            // A row adds its fragment to `rust`'s options.
            seed: Some("rust".into()),
        }
    }

    pub fn boot_opts(&self) -> BootOpts {
        BootOpts {
            config: self.name.into(),
            seconds: SECONDS,
            smp: self.smp,
            append: self.append.into(),
            groups: Group::OWN.to_vec(),
            only: vec![],
            cap: None,
            args: Default::default(),
        }
    }
}

/// The rows named on the command line (all when none), in table order.
pub fn select(names: &[String]) -> Result<Vec<&'static Row>> {
    for n in names {
        if !ROWS.iter().any(|r| r.name == n) {
            let all: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
            anyhow::bail!("no matrix row `{n}` (rows: {})", all.join(", "));
        }
    }
    Ok(ROWS.iter().filter(|r| names.is_empty() || names.iter().any(|n| n == r.name)).collect())
}

/// What one row came to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowResult {
    pub row: String,
    /// The Kconfig exclusion that applied (nothing else was done).
    pub excluded: Option<String>,
    /// make succeeded and left a kernel image.
    pub built: bool,
    /// objtool warnings of the build (None: no build got that far).
    pub objtool: Option<usize>,
    /// Sanitizer runtime symbols that `entry_rs.o` calls (must be none).
    pub sanitizer_calls: Vec<String>,
    /// Booted, every own program passed, no splat.
    pub boot_ok: bool,
    /// Tests and programs that passed in the boot (0 when not booted).
    pub tests_passed: usize,
    /// The first thing that failed, if anything did.
    pub error: Option<String>,
    pub build_seconds: u64,
    pub boot_seconds: u64,
    /// The build and the boot were both kept from earlier runs.
    pub kept: bool,
    /// The assembled series commit it was built from.
    pub series: String,
    /// When it ran (UTC, `date -u +%F %R`).
    pub when: String,
}

impl RowResult {
    pub fn new(row: &str) -> RowResult {
        RowResult {
            row: row.into(),
            excluded: None,
            built: false,
            objtool: None,
            sanitizer_calls: vec![],
            boot_ok: false,
            tests_passed: 0,
            error: None,
            build_seconds: 0,
            boot_seconds: 0,
            kept: false,
            series: String::new(),
            when: String::new(),
        }
    }

    pub fn ok(&self) -> bool {
        self.excluded.is_some()
            || (self.built
                && self.objtool == Some(0)
                && self.sanitizer_calls.is_empty()
                && self.boot_ok
                && self.error.is_none())
    }

    /// Minutes of make and of the boot (as measured when they ran, kept or
    /// not; waits for the machine lock are not counted).
    pub fn minutes(&self) -> f64 {
        (self.build_seconds + self.boot_seconds) as f64 / 60.0
    }
}

/// The sanitizer runtime functions among the undefined symbols of an
/// object (`llvm-nm -u` output).
pub fn sanitizer_calls(nm_undefined: &str) -> Vec<String> {
    const PREFIXES: [&str; 6] = ["__asan_", "__kasan_", "__tsan_", "__ubsan_", "__sanitizer_cov_", "__msan_"];
    let mut v: Vec<String> = nm_undefined
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| PREFIXES.iter().any(|p| s.starts_with(p)))
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

fn entry_object_sanitizer_calls(dir: &Path) -> Result<Vec<String>> {
    let obj = dir.join("kernel/entry/entry_rs.o");
    let nm = Path::new(crate::lab::LLVM_BIN).join("llvm-nm");
    let out = crate::util::run(std::process::Command::new(nm).arg("-u").arg(&obj))?;
    Ok(sanitizer_calls(&out))
}

fn now_utc() -> String {
    crate::util::run(std::process::Command::new("date").args(["-u", "+%F %R"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Configures, builds, checks and boots one row. A failure of the row is
/// in the result, not an error: the matrix goes on with the next row.
pub fn run_row(lab: &Lab, row: &Row, reuse: bool) -> RowResult {
    let mut r = RowResult::new(row.name);
    r.series = crate::series::clean_head(&lab.src()).unwrap_or_default();
    r.when = now_utc();
    if let Some(why) = row.excluded {
        r.excluded = Some(why.into());
        say(&format!("matrix {}", row.name), &format!("excluded: {why}"));
        return r;
    }
    let t = row.target();
    let step = format!("matrix {}", row.name);
    let start = Instant::now();
    say(&step, &format!("build ({}, folder {})", t.configs.join(" + "), lab.target_dir(&t).display()));
    let b = match build::build_target(lab, &t, reuse) {
        Ok(b) => b,
        Err(e) => {
            // configure: olddefconfig failed or an option dropped out.
            r.error = Some(format!("{e:#}"));
            r.build_seconds = 0;
            say(&step, &format!("FAILED before make after {}: {e:#}", fmt_dur(start.elapsed())));
            return r;
        }
    };
    // make's own time: not the wait for the machine lock, nor configure.
    r.build_seconds = b.seconds;
    r.built = b.made();
    r.objtool = r.built.then_some(b.objtool.len());
    say(
        &step,
        &format!(
            "build {} in {} ({} objtool warnings){}",
            if r.built { "done" } else { "FAILED" },
            fmt_dur(start.elapsed()),
            b.objtool.len(),
            if b.kept { ", kept" } else { "" }
        ),
    );
    if !r.built {
        r.error = b.error.clone();
        return r;
    }
    match entry_object_sanitizer_calls(&lab.target_dir(&t)) {
        Ok(calls) => r.sanitizer_calls = calls,
        Err(e) => r.error = Some(format!("llvm-nm on entry_rs.o: {e:#}")),
    }
    if !r.sanitizer_calls.is_empty() {
        say(&step, &format!("entry_rs.o calls the sanitizer runtime: {}", r.sanitizer_calls.join(", ")));
    }
    // The boot runs even after objtool warnings: the table shows both.
    let boot_start = Instant::now();
    match boot::boot_target(lab, &t, &row.boot_opts(), reuse) {
        Ok(bt) => {
            r.boot_seconds = bt.seconds;
            r.boot_ok = bt.ok && bt.own_failures.is_empty();
            r.tests_passed = bt.tests.values().filter(|o| **o == Outcome::Pass).count();
            r.kept = b.kept && bt.kept;
            let why = bt
                .error
                .clone()
                .or_else(|| (!bt.own_failures.is_empty()).then(|| format!("failed: {}", bt.own_failures.join(", "))));
            if r.error.is_none() {
                r.error = b.error.clone().or(why.map(|w| format!("boot: {w} (log: {})", bt.log)));
            }
        }
        Err(e) => {
            r.boot_seconds = boot_start.elapsed().as_secs();
            if r.error.is_none() {
                r.error = Some(format!("boot: {e:#}"));
            }
        }
    }
    say(
        &step,
        &format!(
            "{} in {} ({})",
            if r.ok() { "PASS" } else { "FAIL" },
            fmt_dur(start.elapsed()),
            r.error.as_deref().unwrap_or("built, 0 objtool warnings, booted")
        ),
    );
    r
}

/// Where the last result of every row is kept.
pub fn results_file(lab: &Lab) -> PathBuf {
    lab.results.join("matrix.json")
}

pub fn load(lab: &Lab) -> BTreeMap<String, RowResult> {
    read(&results_file(lab)).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

pub fn save(lab: &Lab, all: &BTreeMap<String, RowResult>) -> Result<()> {
    std::fs::create_dir_all(&lab.results)?;
    write(&results_file(lab), serde_json::to_string_pretty(all)?)
}

/// The table: one line per row of [`ROWS`], from the last result of each
/// (`not run yet` when there is none).
pub fn table(all: &BTreeMap<String, RowResult>) -> String {
    let mut t = String::from(
        "| row | config | built | objtool warnings | boot (own programs: workload, probe sample, entry kselftest) | minutes |\n|---|---|---|--:|---|--:|\n",
    );
    for row in ROWS {
        let cfg = format!("`{}`", row.fragment_file());
        let line = match all.get(row.name) {
            None => format!("| {} | {cfg} | not run yet | | | |", row.name),
            Some(r) if r.excluded.is_some() => {
                format!("| {} | {cfg} | excluded: {} | | | |", row.name, r.excluded.as_deref().unwrap_or(""))
            }
            Some(r) => {
                let built =
                    if r.built { "yes".to_string() } else { format!("**no**: {}", r.error.as_deref().unwrap_or("?")) };
                let objtool = match r.objtool {
                    Some(0) => "0".to_string(),
                    Some(n) => format!("**{n}**"),
                    None => String::new(),
                };
                let mut boot = if !r.built {
                    String::new()
                } else if r.boot_ok {
                    format!("pass ({} passed)", r.tests_passed)
                } else {
                    format!("**FAILED**: {}", r.error.as_deref().unwrap_or("?"))
                };
                if !r.sanitizer_calls.is_empty() {
                    boot.push_str(&format!("; **entry_rs.o calls {}**", r.sanitizer_calls.join(", ")));
                }
                format!("| {} | {cfg} | {built} | {objtool} | {boot} | {:.1} |", row.name, r.minutes())
            }
        };
        t.push_str(&line);
        t.push('\n');
    }
    t
}

/// `--list`: the rows, their fragments and what they change.
pub fn list() -> String {
    let mut s = String::new();
    for r in ROWS {
        let excl = r.excluded.map(|e| format!(" [excluded: {e}]")).unwrap_or_default();
        s.push_str(&format!("{:<20} lab/configs/{:<34} {}{excl}\n", r.name, r.fragment_file(), r.what));
    }
    s
}

/// Runs the named rows (all when none) in order; returns every row's last
/// result, this run's merged in.
pub fn run(lab: &Lab, rows: &[&Row], reuse: bool) -> Result<(Vec<RowResult>, BTreeMap<String, RowResult>)> {
    let start = Instant::now();
    let mut now = vec![];
    for (i, row) in rows.iter().enumerate() {
        say("matrix", &format!("row {}/{}: {} ({}), {} so far", i + 1, rows.len(), row.name, row.what, elapsed(start)));
        let r = run_row(lab, row, reuse);
        // Saved after every row, read again first: an interrupted matrix
        // keeps what it did, and a `--row` run at the same time keeps its
        // rows.
        let mut all = load(lab);
        all.insert(r.row.clone(), r.clone());
        save(lab, &all)?;
        now.push(r);
    }
    Ok((now, load(lab)))
}

fn elapsed(start: Instant) -> String {
    fmt_dur(Duration::from_secs(start.elapsed().as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{parse_fragment, Want};
    use std::collections::BTreeSet;

    fn configs() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
    }

    #[test]
    fn every_row_has_a_fragment_and_a_unique_name() {
        let mut names = BTreeSet::new();
        for r in ROWS {
            assert!(names.insert(r.name), "row {} twice", r.name);
            assert!(configs().join(r.fragment_file()).is_file(), "no lab/configs/{}", r.fragment_file());
            assert!(r.smp >= 1);
        }
        // And no fragment without its row.
        for e in std::fs::read_dir(configs()).unwrap() {
            let f = e.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(n) = f.strip_prefix("matrix-").and_then(|n| n.strip_suffix(".config")) {
                assert!(names.contains(n), "lab/configs/{f} belongs to no row of matrix::ROWS");
            }
        }
    }

    #[test]
    fn every_fragment_line_is_a_wanted_option_and_rust_entry_is_on() {
        for r in ROWS {
            let text = std::fs::read_to_string(configs().join(r.fragment_file())).unwrap();
            // Every line that is not blank or prose must parse as an option:
            // a typo would otherwise be silently ignored (not checked).
            for l in text.lines().map(str::trim) {
                let prose = l.is_empty() || (l.starts_with("# ") && !l.ends_with(" is not set"));
                assert!(prose || parse_fragment(l).len() == 1, "{}: `{l}` is no option", r.fragment_file());
            }
            let wants = parse_fragment(&text);
            assert!(wants.len() >= 2, "{}: nothing asked", r.fragment_file());
            assert!(
                wants.contains(&Want::Set("CONFIG_RUST_GENERIC_ENTRY".into(), "y".into())),
                "{}: the matrix builds the Rust entry code",
                r.fragment_file()
            );
            // What the issue requires of every row.
            let t = r.target();
            assert_eq!(t.configs[..2], ["base.config", "variant-rust.config"]);
            assert_eq!(t.name, format!("matrix-{}", r.name));
        }
        let base = std::fs::read_to_string(configs().join("base.config")).unwrap();
        for o in ["CONFIG_DEBUG_ENTRY=y", "CONFIG_NOINSTR_VALIDATION=y"] {
            assert!(base.lines().any(|l| l == o), "base.config must keep {o} for objtool's noinstr checks");
        }
    }

    #[test]
    fn rows_are_selected_by_name_in_table_order() {
        assert_eq!(select(&[]).unwrap().len(), ROWS.len());
        let s = select(&["tiny-rcu".into(), "kasan".into()]).unwrap();
        assert_eq!(s.iter().map(|r| r.name).collect::<Vec<_>>(), ["kasan", "tiny-rcu"]);
        let e = select(&["kasn".into()]).unwrap_err().to_string();
        assert!(e.starts_with("no matrix row `kasn` (rows: kasan, rust-checks"), "{e}");
        assert!(list().lines().count() == ROWS.len());
    }

    #[test]
    fn a_row_overriding_base_is_checked_as_it_asks() {
        // base.config asks NO_HZ_FULL=y, the row unsets it: the row wins.
        let frag = "CONFIG_NO_HZ_FULL=y\nCONFIG_SMP=y\n# CONFIG_NO_HZ_FULL is not set\n";
        assert!(build::missing_options(frag, "CONFIG_SMP=y\n# CONFIG_NO_HZ_FULL is not set\n").is_empty());
        assert_eq!(
            build::missing_options(frag, "CONFIG_SMP=y\nCONFIG_NO_HZ_FULL=y\n"),
            ["CONFIG_NO_HZ_FULL (wanted unset, is y)"]
        );
        // An option that silently dropped out fails the row.
        assert_eq!(build::missing_options("CONFIG_KASAN=y\n", "# CONFIG_KASAN is not set\n"), ["CONFIG_KASAN=y"]);
    }

    #[test]
    fn sanitizer_calls_are_found_in_nm_output() {
        let nm = "                 U __asan_report_load8_noabort\n                 U rcu_is_watching\n                 U __tsan_read4\n                 U __asan_report_load8_noabort\n                 U __x86_return_thunk\n";
        assert_eq!(sanitizer_calls(nm), ["__asan_report_load8_noabort", "__tsan_read4"]);
        assert!(sanitizer_calls("                 U ct_irq_enter\n").is_empty());
    }

    fn passed(row: &str) -> RowResult {
        RowResult {
            built: true,
            objtool: Some(0),
            boot_ok: true,
            tests_passed: 40,
            build_seconds: 540,
            boot_seconds: 60,
            ..RowResult::new(row)
        }
    }

    #[test]
    fn a_row_passes_only_when_everything_did() {
        assert!(passed("kasan").ok());
        assert!(RowResult { excluded: Some("no Rust".into()), ..RowResult::new("x") }.ok());
        assert!(!RowResult::new("x").ok(), "not built");
        assert!(!RowResult { objtool: Some(2), ..passed("x") }.ok());
        assert!(!RowResult { objtool: None, ..passed("x") }.ok());
        assert!(!RowResult { boot_ok: false, ..passed("x") }.ok());
        assert!(!RowResult { sanitizer_calls: vec!["__asan_load8".into()], ..passed("x") }.ok());
        assert!(!RowResult { error: Some("CONFIG_KASAN=y dropped".into()), ..passed("x") }.ok());
        assert_eq!(passed("x").minutes(), 10.0);
    }

    #[test]
    fn the_table_has_every_row_with_its_last_result() {
        let mut all = BTreeMap::new();
        all.insert("kasan".to_string(), passed("kasan"));
        all.insert(
            "preempt-rt".to_string(),
            RowResult {
                built: false,
                error: Some("build failed: x.rs:1: error".into()),
                build_seconds: 120,
                ..RowResult::new("preempt-rt")
            },
        );
        all.insert(
            "kcsan".to_string(),
            RowResult {
                boot_ok: false,
                objtool: Some(3),
                error: Some("3 objtool warning(s)".into()),
                ..passed("kcsan")
            },
        );
        all.insert(
            "ubsan".to_string(),
            RowResult { excluded: Some("no Rust with X".into()), ..RowResult::new("ubsan") },
        );
        let t = table(&all);
        assert_eq!(t.lines().count(), ROWS.len() + 2);
        let line = |row: &str| t.lines().find(|l| l.starts_with(&format!("| {row} |"))).unwrap().to_string();
        assert_eq!(t.lines().nth(2).unwrap(), line(ROWS[0].name), "in ROWS order");
        assert_eq!(line("kasan"), "| kasan | `matrix-kasan.config` | yes | 0 | pass (40 passed) | 10.0 |");
        assert_eq!(
            line("preempt-rt"),
            "| preempt-rt | `matrix-preempt-rt.config` | **no**: build failed: x.rs:1: error |  |  | 2.0 |"
        );
        assert!(line("kcsan").contains("| **3** | **FAILED**: 3 objtool warning(s) |"), "{}", line("kcsan"));
        assert_eq!(line("ubsan"), "| ubsan | `matrix-ubsan.config` | excluded: no Rust with X | | | |");
        assert_eq!(line("trace-irqflags"), "| trace-irqflags | `matrix-trace-irqflags.config` | not run yet | | | |");
    }

    #[test]
    fn results_survive_a_round_trip() {
        let r = passed("kasan");
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<RowResult>(&s).unwrap(), r);
    }
}
