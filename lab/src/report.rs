//! Boots, the side-by-side report, and the two jobs (main and test).

use crate::build::{self, BuildResult};
use crate::kunit::{self, KunitResult, Status};
use crate::lab::{Flavor, Lab, Variant};
use crate::qemu::{self, Outcome, RunSpec};
use crate::util::{fmt_dur, say, write, Result};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct BootOpts {
    pub seconds: u64,
    pub smp: u32,
    pub append: String,
}

impl BootOpts {
    pub fn from_args(seconds: Option<u64>, smp: Option<u32>, append: Option<String>) -> BootOpts {
        BootOpts {
            seconds: seconds.unwrap_or(60),
            smp: smp.unwrap_or(4),
            append: append.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BootResult {
    pub flavor: String,
    pub ok: bool,
    pub outcome: Outcome,
    pub accel: String,
    pub seconds: u64,
    /// Guest programs and their exit codes ("ENTRY-LAB: RESULT name rc=N").
    pub programs: BTreeMap<String, i32>,
    pub splats: Vec<String>,
    pub error: Option<String>,
    pub log: String,
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

/// Boots a built flavor with the initramfs and waits for the workload.
pub fn boot(lab: &Lab, f: Flavor, o: &BootOpts) -> Result<BootResult> {
    let name = f.name();
    let kernel = lab.build_dir(f).join("arch/x86/boot/bzImage");
    if !kernel.exists() {
        crate::bail!("{name}: no kernel at {}; run `./entry-lab build {}` first", kernel.display(), f.variant.name());
    }
    if crate::util::which("qemu-system-x86_64").is_none() {
        crate::bail!("missing tool `qemu-system-x86_64`: run `./entry-lab setup`");
    }
    let initrd = qemu::initramfs(lab)?;
    let accel = qemu::accel(lab, &kernel)?;
    let log = lab.results.join("logs").join(format!("boot-{name}.log"));
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-nodefaults", "-nographic", "-no-reboot", "-m", "2048", "-accel", accel])
        .args(["-smp", &o.smp.to_string(), "-serial", "stdio", "-bios", "qboot.rom"])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .arg("-append")
        .arg(format!(
            "console=ttyS0 panic=-1 kunit.enable=0 entrylab.seconds={} {}",
            o.seconds, o.append
        ));
    let spec = RunSpec {
        log: log.clone(),
        first_output: Duration::from_secs(
            std::env::var("ENTRY_LAB_SILENCE_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60),
        ),
        overall: Duration::from_secs(o.seconds * 3 + 240),
        done_marker: "ENTRY-LAB: DONE".into(),
    };
    say(&name, &format!("booting ({accel}, -smp {}, workload {} s; log: {})", o.smp, o.seconds, log.display()));
    let start = Instant::now();
    let (outcome, console) = qemu::run_console(cmd, &spec, &name)?;
    let programs = guest_results(&console);
    let splats = qemu::splats(&console);
    let mut error = qemu::explain(&outcome, &log);
    if error.is_none() {
        if let Some((p, rc)) = programs.iter().find(|(_, rc)| **rc != 0) {
            error = Some(format!("guest program {p} exited with {rc} (log: {})", log.display()));
        } else if programs.is_empty() {
            error = Some(format!("no guest program ran (log: {})", log.display()));
        } else if let Some(s) = splats.first() {
            error = Some(format!("console splat: {s}"));
        }
    }
    let r = BootResult {
        flavor: name.clone(),
        ok: error.is_none(),
        outcome,
        accel: accel.to_string(),
        seconds: start.elapsed().as_secs(),
        programs,
        splats,
        error,
        log: log.display().to_string(),
    };
    say(&name, &format!("boot {} in {}", if r.ok { "ok" } else { "FAILED" }, fmt_dur(start.elapsed())));
    Ok(r)
}

pub fn print_boot(r: &BootResult) {
    for (p, rc) in &r.programs {
        println!("{}: {p} rc={rc}", r.flavor);
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

/// Everything measured for one flavor.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Row {
    pub flavor: String,
    pub build: Option<BuildResult>,
    pub kunit: Option<KunitResult>,
    pub boot: Option<BootResult>,
    /// Problems with where the entry symbols are defined (empty: right).
    pub symbols: Option<Vec<String>>,
    pub errors: Vec<String>,
}

impl Row {
    fn ok(&self) -> bool {
        self.errors.is_empty()
            && self.build.as_ref().is_some_and(|b| b.ok)
            && self.kunit.as_ref().is_some_and(|k| k.ok())
            && self.boot.as_ref().is_some_and(|b| b.ok)
            && self.symbols.as_ref().is_some_and(Vec::is_empty)
    }
}

/// Builds, KUnit-runs and boots a flavor, collecting every failure as a
/// row entry instead of stopping (the report shows all of them).
fn measure(lab: &Lab, f: Flavor, o: &BootOpts) -> Row {
    let mut row = Row {
        flavor: f.name(),
        ..Default::default()
    };
    match build::build(lab, f) {
        Ok(b) => {
            let built = b.error.as_deref().is_none_or(|e| !e.starts_with("build failed"));
            if let Some(e) = &b.error {
                row.errors.push(e.clone());
            }
            row.build = Some(b);
            if !built {
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
    match kunit::run(lab, f) {
        Ok(k) => {
            if let Some(e) = &k.error {
                row.errors.push(e.clone());
            }
            row.kunit = Some(k);
        }
        Err(e) => row.errors.push(e.0),
    }
    match boot(lab, f, o) {
        Ok(b) => {
            if let Some(e) = &b.error {
                row.errors.push(e.clone());
            }
            row.boot = Some(b);
        }
        Err(e) => row.errors.push(e.0),
    }
    row
}

/// KUnit cases whose result differs between two rows.
fn kunit_diff(a: &Row, b: &Row) -> Vec<String> {
    let map = |r: &Row| -> BTreeMap<String, Status> {
        r.kunit
            .iter()
            .flat_map(|k| k.cases.iter().map(|c| (c.name.clone(), c.status)))
            .collect()
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

/// The side-by-side table, as Markdown (also printed).
pub fn table(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str("| | ");
    s.push_str(&rows.iter().map(|r| r.flavor.as_str()).collect::<Vec<_>>().join(" | "));
    s.push_str(" |\n|---|");
    s.push_str(&"---|".repeat(rows.len()));
    s.push('\n');
    let line = |s: &mut String, label: &str, f: &dyn Fn(&Row) -> String| {
        s.push_str(&format!("| {label} | "));
        s.push_str(&rows.iter().map(f).collect::<Vec<_>>().join(" | "));
        s.push_str(" |\n");
    };
    line(&mut s, "build", &|r| match &r.build {
        Some(b) if b.error.as_deref().is_none_or(|e| !e.starts_with("build failed")) => {
            format!("ok ({}, {} objects)", fmt_dur(Duration::from_secs(b.seconds)), b.steps)
        }
        Some(_) => "FAILED".into(),
        None => "-".into(),
    });
    line(&mut s, "objtool warnings", &|r| {
        r.build.as_ref().map_or("-".into(), |b| b.objtool.len().to_string())
    });
    line(&mut s, "entry symbols", &|r| match &r.symbols {
        Some(p) if p.is_empty() => "ok".into(),
        Some(p) => format!("{} problems", p.len()),
        None => "-".into(),
    });
    line(&mut s, "KUnit pass/fail/skip", &|r| {
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
    line(&mut s, "boot", &|r| {
        r.boot.as_ref().map_or("-".into(), |b| {
            if b.ok {
                format!("ok ({} s, {})", b.seconds, b.accel)
            } else {
                "FAILED".into()
            }
        })
    });
    line(&mut s, "guest programs", &|r| {
        r.boot.as_ref().map_or("-".into(), |b| {
            b.programs
                .iter()
                .map(|(p, rc)| format!("{p}={rc}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
    });
    line(&mut s, "console splats", &|r| {
        r.boot.as_ref().map_or("-".into(), |b| b.splats.len().to_string())
    });
    for r in rows {
        for sp in r.boot.iter().flat_map(|b| b.splats.iter()) {
            s.push_str(&format!("\n- {} splat: `{sp}`", r.flavor));
        }
        for e in &r.errors {
            s.push_str(&format!("\n- {} error: {e}", r.flavor));
        }
    }
    for pair in rows.chunks(2) {
        if let [a, b] = pair {
            for d in kunit_diff(a, b) {
                s.push_str(&format!("\n- KUnit difference: {d}"));
            }
        }
    }
    s.push('\n');
    s
}

fn save(lab: &Lab, rows: &[Row]) -> Result<()> {
    let md = format!("# entry-lab report\n\n{}", table(rows));
    write(&lab.results.join("report.md"), &md)?;
    write(
        &lab.results.join("report.json"),
        serde_json::to_string_pretty(rows).unwrap_or_default(),
    )?;
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

/// The main job: everything, then the report.
pub fn main_job(lab: &Lab, debug: bool, seconds: Option<u64>) -> Result<bool> {
    let start = Instant::now();
    crate::setup::setup(lab)?;
    let s = crate::assemble(lab)?;
    crate::export(lab, &s, None)?;
    let o = BootOpts::from_args(seconds, None, None);
    let rows: Vec<Row> = flavors(debug).into_iter().map(|f| measure(lab, f, &o)).collect();
    let t = table(&rows);
    println!("\n{t}");
    save(lab, &rows)?;
    let ok = rows.iter().all(Row::ok) && rows.chunks(2).all(|p| p.len() < 2 || kunit_diff(&p[0], &p[1]).is_empty());
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
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
        t.check("series: the export applies with git am onto the pristine base", crate::export(lab, &s1, None).map(|_| ()).map_err(|e| e.0));
        // Shorter than the main job's 60 s to keep CI well inside its limit.
        let o = BootOpts::from_args(Some(20), None, None);
        let rows: Vec<Row> = flavors(false).into_iter().map(|f| measure(lab, f, &o)).collect();
        for r in &rows {
            let b = r.build.as_ref();
            t.check(&format!("{}: builds", r.flavor), match b {
                Some(b) if b.error.as_deref().is_none_or(|e| !e.starts_with("build failed")) => Ok(()),
                Some(b) => Err(b.error.clone().unwrap_or_default()),
                None => Err(r.errors.join("; ")),
            });
            t.check(&format!("{}: zero objtool warnings", r.flavor), match b {
                Some(b) if b.objtool.is_empty() => Ok(()),
                Some(b) => Err(b.objtool.join("; ")),
                None => Err("not built".into()),
            });
            t.check(
                &format!("{}: entry symbols from the right object, noinstr ones in .noinstr.text", r.flavor),
                match &r.symbols {
                    Some(p) if p.is_empty() => Ok(()),
                    Some(p) => Err(p.join("; ")),
                    None => Err("not checked".into()),
                },
            );
            t.check(&format!("{}: KUnit via kunit.py passes", r.flavor), match &r.kunit {
                Some(k) if k.ok() => Ok(()),
                Some(k) => Err(k.error.clone().unwrap_or_else(|| format!("{} failed", k.count(Status::Fail)))),
                None => Err("not run".into()),
            });
            t.check(&format!("{}: boots and runs the workload without splats", r.flavor), match &r.boot {
                Some(b) if b.ok => Ok(()),
                Some(b) => Err(b.error.clone().unwrap_or_default()),
                None => Err("not booted".into()),
            });
        }
        if let [a, b] = rows.as_slice() {
            let d = kunit_diff(a, b);
            t.check("c and rust: identical KUnit results", if d.is_empty() { Ok(()) } else { Err(d.join("; ")) });
        }
        let fmt = crate::style::rustfmt(lab)?;
        t.check("style: rustfmt (kernel .rustfmt.toml) on the series' Rust files", if fmt.is_empty() { Ok(()) } else { Err(fmt.join(", ")) });
        let cp = crate::style::checkpatch(lab, &lab.results.join("series"))?;
        t.check("style: checkpatch.pl on every patch", if cp.is_empty() { Ok(()) } else { Err(cp.join("; ")) });
        // The KUnit suite must be able to fail: a deliberately broken build
        // (lab/faults/) has to be caught. Rebuilds the rust tree twice.
        let fault = "nmi-without-hardirq-offset";
        t.check(
            &format!("rust: KUnit catches the deliberate fault {fault}"),
            match crate::fault_detected(lab, fault, false) {
                Ok(true) => Ok(()),
                Ok(false) => Err("KUnit passed with the fault applied".into()),
                Err(e) => Err(e.0),
            },
        );
        // Last: CLIPPY=1 rebuilds the entry objects (the next build restores them).
        let cl = crate::style::clippy(lab)?;
        t.check("style: clippy (CLIPPY=1) on the entry code", if cl.is_empty() { Ok(()) } else { Err(cl.join("; ")) });
        println!("\n{}", table(&rows));
        save(lab, &rows)?;
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
        let t = table(&[a, b]);
        assert!(t.starts_with("| | c | rust |\n|---|---|---|\n"), "{t}");
        assert!(t.contains("| KUnit pass/fail/skip | 1/0/0 | 0/1/0 |"), "{t}");
        assert!(t.contains("- rust error: boom"));
        assert!(t.contains("- KUnit difference: s.a: c Some(Pass) vs rust Some(Fail)"), "{t}");
    }
}
