//! The side-by-side report: each flavor's build, objtool, entry symbols and
//! KUnit (a [`Row`]), each configuration's pair of boots (a [`Pair`]), the
//! tests whose results differ between c and rust, and the files it saves.

use crate::boot::{self, BootResult, Config};
use crate::build::{self, BuildResult};
use crate::flaky::{Rerun, Verdict};
use crate::guest;
use crate::kunit::{self, KunitResult, Status};
use crate::lab::{Flavor, Lab, Variant};
use crate::util::{fmt_dur, write, Result};
use std::collections::BTreeMap;
use std::time::Duration;

pub fn print_kunit(r: &KunitResult) {
    for c in r.cases.iter().filter(|c| c.status == Status::Fail) {
        println!("{}: KUnit FAIL {}", r.flavor, c.name);
    }
    for d in r.failures() {
        println!("{}: {d}", r.flavor);
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
    pub fn built(&self) -> bool {
        self.build.as_ref().is_some_and(build::BuildResult::made)
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
            && self.build.as_ref().is_some_and(|b| b.ok)
            && self.kunit.as_ref().is_some_and(|k| k.ok())
            && self.symbols.as_ref().is_some_and(Vec::is_empty)
    }
}

/// Builds and KUnit-runs a flavor and checks its entry symbols, collecting
/// every failure as a row entry instead of stopping (the report shows all).
pub fn measure(lab: &Lab, f: Flavor, reuse: bool) -> Row {
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
            row.errors.push(format!("{e:#}"));
            return row;
        }
    }
    match crate::symbols::check(lab, f) {
        Ok(p) => {
            row.errors.extend(p.iter().map(|e| format!("entry symbols: {e}")));
            row.symbols = Some(p);
        }
        Err(e) => row.errors.push(format!("{e:#}")),
    }
    match kunit::run_built(lab, f, reuse) {
        Ok(k) => {
            if let Some(e) = &k.error {
                row.errors.push(e.clone());
            }
            row.kunit = Some(k);
        }
        Err(e) => row.errors.push(format!("{e:#}")),
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
    /// The differing tests run again (see flaky.rs), with their verdicts.
    #[serde(default)]
    pub reruns: Vec<Rerun>,
    /// Boots made for the reruns.
    #[serde(default)]
    pub rerun_boots: usize,
}

impl Pair {
    pub fn boots(&self) -> impl Iterator<Item = &BootResult> {
        self.c.iter().chain(self.rust.iter())
    }

    /// Booted twice, finished, no splat, the own programs passed, and every
    /// test has the same result on both variants (flaky ones aside).
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
            && self.c.is_some()
            && self.rust.is_some()
            && self.boots().all(|b| b.ok && b.own_failures.is_empty())
            && real_differences(self).is_empty()
    }

    /// Tests found flaky by the reruns.
    pub fn flaky(&self) -> impl Iterator<Item = &Rerun> {
        self.reruns.iter().filter(|r| r.verdict == Verdict::Flaky)
    }

    /// Runs the differing programs again on both variants (bounded, see
    /// flaky.rs) and records which differences are real.
    pub fn settle(&mut self, lab: &Lab, debug: bool, o: &boot::BootOpts) {
        let first = differences(self);
        let mut boots: usize = 0;
        self.reruns = crate::flaky::rerun_differences(&first, |is_rust, programs| {
            boots += 1;
            let variant = if is_rust { Variant::Rust } else { Variant::C };
            let f = Flavor { variant, debug };
            let opts = o.only(&format!("{}-rerun{}", o.config, boots.div_ceil(2)), programs.to_vec());
            crate::util::say(&f.name(), &format!("rerun of {} (differs between c and rust)", programs.join(", ")));
            match boot::boot(lab, f, &opts, false) {
                Ok(b) if b.error.is_none() => Some(b.tests),
                _ => None,
            }
        });
        self.rerun_boots = boots;
    }
}

/// Boots both variants in configuration `cfg` (when their kernel was built)
/// and reruns what differs.
pub fn boot_pair(lab: &Lab, cfg: &Config, rows: &[Row], smp: u32, reuse: bool) -> Pair {
    let mut pair = Pair { config: cfg.name.into(), append: cfg.append.into(), ..Default::default() };
    for variant in Variant::ALL {
        let f = Flavor { variant, debug: cfg.debug };
        if !rows.iter().any(|r| r.flavor == f.name() && r.built()) {
            pair.errors.push(format!("{}: not built, not booted", f.name()));
            continue;
        }
        match boot::boot(lab, f, &cfg.opts(smp), reuse) {
            Ok(b) => {
                if variant == Variant::C {
                    pair.c = Some(b);
                } else {
                    pair.rust = Some(b);
                }
            }
            Err(e) => pair.errors.push(format!("{}: {e:#}", f.name())),
        }
    }
    pair.settle(lab, cfg.debug, &cfg.opts(smp));
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

/// Differences the reruns did not show to be flaky.
pub fn real_differences(p: &Pair) -> Vec<(String, Option<guest::Outcome>, Option<guest::Outcome>)> {
    differences(p).into_iter().filter(|(n, _, _)| !p.flaky().any(|r| &r.test == n)).collect()
}

/// KUnit cases whose result differs between two rows.
pub fn kunit_diff(a: &Row, b: &Row) -> Vec<String> {
    fn cases(r: &Row) -> &[kunit::Case] {
        r.kunit.as_ref().map_or(&[], |k| &k.cases)
    }
    kunit::case_differences(cases(a), cases(b), true)
        .into_iter()
        .map(|(n, x, y)| format!("{n}: {} {x:?} vs {} {y:?}", a.flavor, b.flavor))
        .collect()
}

pub fn word(o: Option<guest::Outcome>) -> &'static str {
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
        let n = real_differences(p).len();
        if n == 0 {
            "0".into()
        } else {
            format!("**{n}**")
        }
    });
    pline(s, "flaky (varies on c too)", &|p| p.flaky().count().to_string());
    pline(s, "rerun boots", &|p| p.rerun_boots.to_string());
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
                if let Some(f) = p.flaky().find(|f| &f.test == n) {
                    format!("flaky: c={} rust={}", crate::flaky::runs_word(&f.c), crate::flaky::runs_word(&f.rust))
                } else if let Some(f) = p.reruns.iter().find(|f| &f.test == n) {
                    format!("**c={} rust={}**", crate::flaky::runs_word(&f.c), crate::flaky::runs_word(&f.rust))
                } else if c == r {
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
    /// Real differences (flaky tests are in `boots[].reruns`).
    differences: BTreeMap<String, Vec<String>>,
}

pub fn save(lab: &Lab, rows: &[Row], pairs: &[Pair]) -> Result<()> {
    let md = format!("# entry-lab report\n\n{}", table(rows, pairs, true));
    write(&lab.results.join("report.md"), &md)?;
    let differences = pairs
        .iter()
        .map(|p| {
            let d = real_differences(p)
                .into_iter()
                .map(|(n, c, r)| format!("{n}: c={} rust={}", word(c), word(r)))
                .collect();
            (p.config.clone(), d)
        })
        .collect();
    let rep = Report { flavors: rows, boots: pairs, differences };
    write(&lab.results.join("report.json"), serde_json::to_string_pretty(&rep).unwrap_or_default())?;
    Ok(())
}

pub fn flavors(debug: bool) -> Vec<Flavor> {
    let mut v = vec![];
    for d in if debug { vec![false, true] } else { vec![false] } {
        for variant in Variant::ALL {
            v.push(Flavor { variant, debug: d });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::tests::booted;

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
        // The differential suite exists only in rust: not a difference.
        let mut r = k(Status::Pass);
        r.cases.push(kunit::Case { name: "entry_rust_vs_c.x".into(), status: Status::Pass });
        r.cases.push(kunit::Case { name: "entry_virt_rust_vs_c.y".into(), status: Status::Pass });
        let b = Row { flavor: "rust".into(), kunit: Some(r), ..Default::default() };
        let a = Row { flavor: "c".into(), kunit: Some(k(Status::Pass)), ..Default::default() };
        assert!(kunit_diff(&a, &b).is_empty());
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
        assert_eq!(back.outcome, crate::qemu::Outcome::Completed);
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
            ..Default::default()
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

    #[test]
    fn a_flaky_test_does_not_fail_the_pair_and_a_real_difference_does() {
        use crate::flaky::{rerun_differences, Verdict};
        use guest::Outcome::*;
        let pair = |c, r| Pair {
            config: "full".into(),
            c: Some(booted("c", &[("seccomp_bpf: t", c)])),
            rust: Some(booted("rust", &[("seccomp_bpf: t", r)])),
            ..Default::default()
        };
        // A fake program that fails once on c, then passes on both.
        let mut p = pair(Fail, Pass);
        let mut c_runs = vec![Pass, Pass].into_iter();
        p.reruns = rerun_differences(&differences(&p), |rust, _| {
            let o = if rust { Pass } else { c_runs.next()? };
            Some([("seccomp_bpf: t".to_string(), o)].into_iter().collect())
        });
        assert_eq!(p.reruns[0].verdict, Verdict::Flaky);
        assert!(p.ok(), "a flaky test fails the job");
        let t = table(&[], std::slice::from_ref(&p), false);
        assert!(t.contains("| seccomp_bpf: t | flaky: c=FAIL,pass rust=pass,pass |"), "{t}");
        assert!(t.contains("| different results | 0 |"), "{t}");
        // A difference that reproduces on every rerun.
        let mut p = pair(Pass, Fail);
        p.reruns = rerun_differences(&differences(&p), |rust, _| {
            Some([("seccomp_bpf: t".to_string(), if rust { Fail } else { Pass })].into_iter().collect())
        });
        assert_eq!(p.reruns[0].verdict, Verdict::Real);
        assert!(!p.ok());
        let t = table(&[], std::slice::from_ref(&p), false);
        assert!(t.contains("| seccomp_bpf: t | **c=pass,pass,pass rust=FAIL,FAIL,FAIL** |"), "{t}");
    }
}
