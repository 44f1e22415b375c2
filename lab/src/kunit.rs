//! KUnit through upstream tools/testing/kunit/kunit.py, on the flavor's own
//! build directory (so it reuses the incremental build), with a QEMU shim
//! first on PATH when KVM does not work (kunit.py hard-codes `-accel kvm`
//! first, which hangs on a broken KVM), and its KTAP output parsed here.

use crate::lab::{Flavor, Lab};
use crate::memo::{age, file_hash, Memo};
use crate::util::{fmt_dur, read, say, Result};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Suites built only with the Rust implementation: `entry_rust_vs_c` and
/// `entry_virt_rust_vs_c` compare it with a reference copy of the C code.
/// Left out when the variants' KUnit results are compared.
pub const RUST_ONLY_SUITES: &[&str] = &["entry_rust_vs_c", "entry_virt_rust_vs_c"];

/// Is this case (`suite.case`) in a suite only the rust variant has?
pub fn rust_only(case: &str) -> bool {
    RUST_ONLY_SUITES.iter().any(|s| case.split_once('.').is_some_and(|(suite, _)| suite == *s))
}

/// One test (or suite) result from KTAP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Case {
    /// `suite.case`, or `suite` for a suite line.
    pub name: String,
    pub status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct KunitResult {
    pub flavor: String,
    pub cases: Vec<Case>,
    pub suites: Vec<Case>,
    pub complete: bool,
    pub error: Option<String>,
    pub log: String,
    /// Kept from an earlier run with the same kernel image (see memo.rs).
    #[serde(default)]
    pub kept: bool,
}

impl KunitResult {
    pub fn count(&self, s: Status) -> usize {
        self.cases.iter().filter(|c| c.status == s).count()
    }
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.complete && self.count(Status::Fail) == 0 && !self.cases.is_empty()
    }
    /// [`failure_details`] of the run's log (empty if the log is gone).
    pub fn failures(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).map_or_else(|_| vec![], |t| failure_details(&t, 6))
    }
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped in {} suites",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip),
            self.suites.len()
        )
    }
}

/// Parses KTAP v1 as printed by KUnit: suites at indent 1 ("    ok 1 name"
/// inside "KTAP version 1" subtests) and their cases one level deeper.
/// Returns (cases, suites, complete).
pub fn parse_ktap(text: &str) -> (Vec<Case>, Vec<Case>, bool) {
    let mut cases = vec![];
    let mut suites = vec![];
    let mut plan: Option<usize> = None;
    let mut suite_name: Option<String> = None;
    for raw in text.lines() {
        let (level, t) = split_level(raw);
        if let Some(n) = t.strip_prefix("# Subtest: ") {
            if level == 1 {
                suite_name = Some(n.trim().to_string());
            }
            continue;
        }
        if level == 0 {
            if let Some(p) = t.strip_prefix("1..") {
                plan = p.trim().parse().ok();
                continue;
            }
        }
        let (ok, rest) = if let Some(r) = t.strip_prefix("ok ") {
            (true, r)
        } else if let Some(r) = t.strip_prefix("not ok ") {
            (false, r)
        } else {
            continue;
        };
        // "<n> <name>[ # SKIP reason]"
        let rest = rest.split_once(' ').map_or("", |(_, r)| r);
        let (name, directive) = match rest.split_once(" # ") {
            Some((n, d)) => (n.trim(), d.trim()),
            None => (rest.trim(), ""),
        };
        let status = if directive.starts_with("SKIP") {
            Status::Skip
        } else if ok {
            Status::Pass
        } else {
            Status::Fail
        };
        match level {
            0 => suites.push(Case { name: name.to_string(), status }),
            1 => cases.push(Case { name: format!("{}.{name}", suite_name.as_deref().unwrap_or("?")), status }),
            _ => {} // parameterised sub-cases: counted by their parent case
        }
    }
    let complete = plan.is_some_and(|p| p == suites.len());
    (cases, suites, complete)
}

/// The diagnostics of each failed case: `suite.case: line; line` with the
/// `#` lines KUnit printed for the case (expectations, `kunit_info()`),
/// at most `max_lines` per case, so that a failure seen only in CI says
/// what failed even when the log file is gone.
pub fn failure_details(text: &str, max_lines: usize) -> Vec<String> {
    let mut out = vec![];
    let mut suite_name: Option<String> = None;
    let mut diag: Vec<String> = vec![];
    for raw in text.lines() {
        let (level, t) = split_level(raw);
        if let Some(n) = t.strip_prefix("# Subtest: ") {
            if level == 1 {
                suite_name = Some(n.trim().to_string());
            }
            diag.clear();
            continue;
        }
        if level < 1 {
            continue;
        }
        let failed = if t.starts_with("not ok ") {
            true
        } else if t.starts_with("ok ") {
            false
        } else {
            // KUnit prints `# case: EXPECTATION FAILED at f:l` and the
            // `Expected ...` lines after it at the case's own level.
            let d = t.strip_prefix("# ").unwrap_or(t).trim();
            let noise =
                d.is_empty() || d.starts_with("speed:") || d.starts_with("KTAP version") || d.starts_with("1..");
            if !noise && level == 1 || level >= 2 && t.starts_with("# ") {
                diag.push(d.to_string());
            }
            continue;
        };
        if level == 1 && failed {
            let rest = t.trim_start_matches("not ok ");
            let rest = rest.split_once(' ').map_or("", |(_, r)| r);
            let name = rest.split_once(" # ").map_or(rest, |(n, _)| n).trim();
            let lines: Vec<&str> = diag.iter().take(max_lines).map(String::as_str).collect();
            out.push(format!("{}.{name}: {}", suite_name.as_deref().unwrap_or("?"), lines.join("; ")));
        }
        if level == 1 {
            diag.clear();
        }
    }
    out
}

/// KTAP nesting level of a line (4 spaces per level, counted after a printk
/// time stamp if any) and the line's text.
fn split_level(raw: &str) -> (usize, &str) {
    let s = raw.trim_start();
    let s = if s.starts_with('[') { s.find("] ").map_or(s, |i| &s[i + 2..]) } else { raw };
    let body = s.trim_start_matches(' ');
    ((s.len() - body.len()) / 4, body.trim_end())
}

/// Where a flavor's KUnit result is kept: keyed by the kernel image, the
/// kunitconfig, the make options and the accelerator.
fn kunit_memo(lab: &Lab, f: Flavor, accel: &str) -> Memo {
    let b = lab.build_dir(f);
    let parts = file_hash(&crate::build::kernel_image(lab, f)).and_then(|image| {
        Some(vec![
            "kunit".to_string(),
            image,
            read(&b.join("entry-lab.kunitconfig")).ok()?,
            lab.make_options().join(" "),
            accel.to_string(),
            lab.results.display().to_string(),
        ])
    });
    Memo::new(b.join("entry-lab.kept-kunit.json"), parts.as_deref())
}

/// kunit.py's `--timeout` for every run of the lab's but a mutant's, in seconds.
const KUNIT_PY_TIMEOUT: u32 = 300;

/// The kunit.py command the lab runs for a flavor: the flavor's build
/// folder and kunitconfig, the lab's make options (bindgen and rustc
/// setup chose), and, where KVM does not work, the QEMU shim first on PATH.
pub fn command(lab: &Lab, f: Flavor, accel: &str) -> Result<Command> {
    command_sub(lab, f, accel, "run", KUNIT_PY_TIMEOUT)
}

/// [`command`] with another kunit.py subcommand: `exec` runs the kernel the
/// lab has just built, without kunit.py's own configure and make (a make
/// that has nothing to do still takes 8-10 s here, with Rust).
fn command_sub(lab: &Lab, f: Flavor, accel: &str, sub: &str, timeout: u32) -> Result<Command> {
    command_in(lab, &lab.build_dir(f), accel, sub, timeout)
}

/// [`command_sub`] for the build folder `b`.
fn command_in(lab: &Lab, b: &Path, accel: &str, sub: &str, timeout: u32) -> Result<Command> {
    let shim = if accel == "tcg" { Some(crate::qemu::tcg_shim(lab)?) } else { None };
    let mut cmd = Command::new("python3");
    cmd.current_dir(lab.src())
        .env("PATH", lab.path_env(shim.as_deref()))
        .env("LIBCLANG_PATH", crate::lab::LIBCLANG_PATH)
        .env("CCACHE_DIR", lab.cache.join("ccache"))
        .args(["tools/testing/kunit/kunit.py", sub, "--arch", "x86_64"])
        .arg(format!("--build_dir={}", b.display()))
        .args(["--qemu_args", "-smp 2", "--timeout", &timeout.to_string(), "--raw_output=kunit"]);
    if sub == "run" {
        cmd.arg(format!("--kunitconfig={}", b.join("entry-lab.kunitconfig").display()))
            .arg(format!("--jobs={}", crate::build::jobs()));
        for o in lab.make_options() {
            cmd.arg(format!("--make_options={o}"));
        }
    }
    Ok(cmd)
}

/// `kunit.py exec` of the kernel image in `dir`, a folder that holds just
/// `arch/x86/boot/bzImage` (a fault's image set aside while the next fault
/// builds, see `fault::run_all`): nothing is built, so no machine lock, and
/// nothing is kept. The log is `results/logs/kunit-NAME.log`.
pub fn exec_image_in(lab: &Lab, name: &str, dir: &Path) -> Result<KunitResult> {
    let accel = crate::qemu::accel(lab, &dir.join("arch/x86/boot/bzImage"))?;
    let log = lab.results.join("logs").join(format!("kunit-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let mut cmd = command_in(lab, dir, accel, "exec", KUNIT_PY_TIMEOUT)?;
    say(name, &format!("kunit.py exec ({accel}; log: {})", log.display()));
    let start = Instant::now();
    let (r, _) = run_kunit_py(name, &mut cmd, &log)?;
    say(name, &format!("KUnit: {} ({})", r.summary(), fmt_dur(start.elapsed())));
    Ok(r)
}

/// `cmd` as one line for a POSIX shell: `cd DIR && env VAR=... prog args`.
pub fn shell_line(cmd: &Command) -> String {
    fn q(s: &str) -> String {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    }
    let mut parts = vec![];
    if let Some(d) = cmd.get_current_dir() {
        parts.push(format!("cd {} &&", q(&d.to_string_lossy())));
    }
    let envs: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(q(&format!("{}={}", k.to_string_lossy(), v?.to_string_lossy()))))
        .collect();
    if !envs.is_empty() {
        parts.push("env".into());
        parts.extend(envs);
    }
    parts.push(q(&cmd.get_program().to_string_lossy()));
    parts.extend(cmd.get_args().map(|a| q(&a.to_string_lossy())));
    parts.join(" ")
}

/// The kunit.py command for a flavor on this machine, for a shell.
/// Writes only the kunitconfig (the flavor's fragments): no make, so it is
/// safe while a build runs.
pub fn print_command(lab: &Lab, f: Flavor) -> Result<String> {
    crate::util::write(&lab.build_dir(f).join("entry-lab.kunitconfig"), crate::build::fragment(lab, f)?)?;
    let accel = crate::qemu::accel(lab, &crate::build::kernel_image(lab, f))?;
    Ok(shell_line(&command(lab, f, accel)?))
}

/// Runs kunit.py for a flavor (its build directory must be configured).
/// With `reuse`, a passing result kept from a run on the same kernel image
/// is returned instead (see memo.rs).
pub fn run(lab: &Lab, f: Flavor, reuse: bool) -> Result<KunitResult> {
    run_sub(lab, f, reuse, "run", KUNIT_PY_TIMEOUT)
}

/// [`run`] of a kernel the lab has just built (`build::build`): `kunit.py
/// exec`, which boots it without configuring and making again.
pub fn run_built(lab: &Lab, f: Flavor, reuse: bool) -> Result<KunitResult> {
    run_sub(lab, f, reuse, "exec", KUNIT_PY_TIMEOUT)
}

/// [`run_built`] with kunit.py's `--timeout` at `seconds` instead of [`KUNIT_PY_TIMEOUT`]:
/// for a kernel that may hang, where the suite takes seconds.
pub fn run_built_capped(lab: &Lab, f: Flavor, seconds: u32) -> Result<KunitResult> {
    run_sub(lab, f, false, "exec", seconds)
}

fn run_sub(lab: &Lab, f: Flavor, reuse: bool, sub: &str, timeout: u32) -> Result<KunitResult> {
    let name = f.name();
    let kernel = crate::build::kernel_image(lab, f);
    let accel = crate::qemu::accel(lab, &kernel)?;
    let memo = kunit_memo(lab, f, accel);
    if reuse {
        if let Some(mut r) = memo.get(|r: &KunitResult| r.ok() && Path::new(&r.log).exists()) {
            say(&name, &format!("KUnit: same kernel image as the run {}: kept ({})", age(&memo), r.summary()));
            r.kept = true;
            return Ok(r);
        }
    }
    memo.forget();
    let log = lab.results.join("logs").join(format!("kunit-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let mut cmd = command_sub(lab, f, accel, sub, timeout)?;
    // kunit.py run makes first: one kernel build at a time on this machine.
    let _lock = crate::util::machine_lock(&name)?;
    say(&name, &format!("kunit.py {sub} ({accel}; log: {})", log.display()));
    let start = Instant::now();
    let (r, _) = run_kunit_py(&name, &mut cmd, &log)?;
    say(&name, &format!("KUnit: {} ({})", r.summary(), fmt_dur(start.elapsed())));
    if r.ok() {
        // Keyed by the image kunit.py leaves (its make may have relinked).
        kunit_memo(lab, f, accel).put(&r)?;
    }
    Ok(r)
}

/// The cases whose status differs between two KUnit results, with each
/// side's status (`None`: the case is missing there), sorted by name. With
/// `skip_rust_only`, the suites only the rust variant has are left out.
pub fn case_differences(a: &[Case], b: &[Case], skip_rust_only: bool) -> Vec<(String, Option<Status>, Option<Status>)> {
    let map = |cs: &[Case]| -> std::collections::BTreeMap<String, Status> {
        cs.iter().filter(|c| !(skip_rust_only && rust_only(&c.name))).map(|c| (c.name.clone(), c.status)).collect()
    };
    let (ma, mb) = (map(a), map(b));
    let mut names: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| ma.get(*n) != mb.get(*n))
        .map(|n| (n.clone(), ma.get(n).copied(), mb.get(n).copied()))
        .collect()
}

/// Runs a kunit.py command with its output in `log` and a ticker, and makes
/// the result of its KTAP output (an error when it ran nothing, stopped
/// early or failed without a failing case). Returns the log's text too.
/// kunit.py has its own 300 s limit for the tests; the build before it is
/// usually incremental.
pub fn run_kunit_py(name: &str, cmd: &mut Command, log: &Path) -> Result<(KunitResult, String)> {
    let ok = crate::util::with_ticker(
        std::time::Duration::from_secs(30),
        |t| say(name, &format!("kunit.py still running ({})", fmt_dur(t))),
        || crate::util::run_logged(cmd, log, |_| {}),
    )?;
    let text = read(log)?;
    Ok((result_of(name, &text, ok, log), text))
}

/// The result of a kunit.py run from its output `text` and exit status `ok`.
pub fn result_of(name: &str, text: &str, ok: bool, log: &Path) -> KunitResult {
    let (cases, suites, complete) = parse_ktap(text);
    let mut r = KunitResult {
        flavor: name.to_string(),
        cases,
        suites,
        complete,
        error: None,
        log: log.display().to_string(),
        kept: false,
    };
    if r.cases.is_empty() {
        let why = text.lines().rev().find(|l| l.contains("ERROR") || l.contains("rror:")).unwrap_or("no KTAP output");
        r.error = Some(format!("kunit.py ran no test: {} (log: {})", why.trim(), log.display()));
    } else if !r.complete {
        r.error = Some(format!("KTAP output incomplete (crash or timeout?) (log: {})", log.display()));
    } else if !ok && r.count(Status::Fail) == 0 {
        r.error = Some(format!("kunit.py failed (log: {})", log.display()));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_cases_come_with_their_diagnostics() {
        let log = "\
[    1.0] KTAP version 1
[    1.0] 1..1
[    1.0]     KTAP version 1
[    1.0]     # Subtest: generic_entry
[    1.0]     # speed: normal
[    1.0]     1..3
[    1.1]     ok 1 irqentry_kernel_mode_pair
[    1.2]     # context_switch_counts_move: ASSERTION FAILED at kernel/entry/entry_kunit.rs:281
[    1.2]     Expected involuntary <= 1000 to be true, but is false
[    1.2]     not ok 2 context_switch_counts_move
[    1.3]     # other: run 1: enter: task_struct+0xe0: c 00->01, rust 00->00
[    1.3]     ok 3 other
[    1.4] # generic_entry: pass:2 fail:1 skip:0 total:3
[    1.4] not ok 1 generic_entry
";
        assert_eq!(
            failure_details(log, 4),
            vec![
                "generic_entry.context_switch_counts_move: context_switch_counts_move: ASSERTION FAILED at \
                 kernel/entry/entry_kunit.rs:281; Expected involuntary <= 1000 to be true, but is false"
            ]
        );
        assert_eq!(failure_details(&log.replace("not ok 2", "ok 2"), 4), Vec::<String>::new());
    }

    #[test]
    fn a_command_line_for_the_shell() {
        let mut c = Command::new("python3");
        c.current_dir("/src dir").env("PATH", "/a:/b").args(["kunit.py", "--qemu_args", "-smp 2", "it's"]);
        assert_eq!(shell_line(&c), "cd '/src dir' && env PATH=/a:/b python3 kunit.py --qemu_args '-smp 2' 'it'\\''s'");
        let out = crate::util::run(Command::new("sh").args(["-c", &format!("printf %s {}", "'it'\\''s'")])).unwrap();
        assert_eq!(out, "it's");
    }

    const KTAP: &str = "\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: rust_kernel_str
    # speed: normal
    1..2
    ok 1 test_cstr
    not ok 2 test_fmt
ok 1 rust_kernel_str
    KTAP version 1
    # Subtest: entry
    1..2
        KTAP version 1
        # Subtest: param
        ok 1 a
    ok 1 param
    ok 2 nmi # SKIP no NMI here
ok 2 entry
";

    #[test]
    fn case_differences_name_both_sides() {
        let c = |n: &str, s| Case { name: n.to_string(), status: s };
        let a = [c("s.a", Status::Pass), c("s.b", Status::Pass), c("entry_rust_vs_c.x", Status::Pass)];
        let b = [c("s.b", Status::Fail), c("s.a", Status::Pass), c("s.c", Status::Skip)];
        assert_eq!(
            case_differences(&a, &b, true),
            vec![
                ("s.b".to_string(), Some(Status::Pass), Some(Status::Fail)),
                ("s.c".to_string(), None, Some(Status::Skip))
            ]
        );
        assert_eq!(case_differences(&a, &b, false)[0], ("entry_rust_vs_c.x".to_string(), Some(Status::Pass), None));
        assert!(case_differences(&a, &a, false).is_empty());
    }

    #[test]
    fn a_run_without_cases_or_cut_short_is_an_error() {
        let log = Path::new("/l");
        assert!(result_of("x", KTAP, true, log).error.is_none());
        let e = result_of("x", "[1.0] ERROR: no kernel\n", false, log).error.unwrap();
        assert!(e.starts_with("kunit.py ran no test: [1.0] ERROR: no kernel"), "{e}");
        let cut: String = KTAP.lines().take(9).map(|l| format!("{l}\n")).collect();
        assert!(result_of("x", &cut, true, log).error.unwrap().starts_with("KTAP output incomplete"));
        let passing = KTAP.replace("not ok 2 test_fmt", "ok 2 test_fmt");
        assert!(result_of("x", &passing, false, log).error.unwrap().starts_with("kunit.py failed"));
    }

    #[test]
    fn ktap_cases_and_suites() {
        let (cases, suites, complete) = parse_ktap(KTAP);
        assert!(complete);
        let names: Vec<(&str, Status)> = cases.iter().map(|c| (c.name.as_str(), c.status)).collect();
        assert_eq!(
            names,
            [
                ("rust_kernel_str.test_cstr", Status::Pass),
                ("rust_kernel_str.test_fmt", Status::Fail),
                ("entry.param", Status::Pass),
                ("entry.nmi", Status::Skip),
            ]
        );
        assert_eq!(suites.len(), 2);
    }

    #[test]
    fn ktap_with_timestamps_and_truncation() {
        let stamped: String = KTAP.lines().take(9).map(|l| format!("[    1.000000] {l}\n")).collect();
        let (cases, suites, complete) = parse_ktap(&stamped);
        assert_eq!(cases.len(), 2);
        assert_eq!(suites.len(), 1);
        assert!(!complete, "plan says 2 suites, only 1 seen");
    }
}
