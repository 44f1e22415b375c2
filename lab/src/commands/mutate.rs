//! `entry-lab mutate [--list] [--only ID...] [--limit N]`: the mutation
//! sweep of the Rust entry functions (see `crate::mutate`).
//!
//! Each mutant compiled into the `rust` configuration is applied on top of
//! the series as an extra commit (like a fault), `rust` is rebuilt, and it
//! is **killed** when
//! 1. the build stops at objtool (a noinstr violation), or
//! 2. KUnit (every suite of the kunitconfig: `generic_entry`,
//!    `entry_rust_vs_c`, ...) has a case fail that passed in the control,
//!    or does not complete: unlike a fault, a crash or a hang kills a
//!    mutant (it changed behaviour, and the suite noticed), or
//! 3. a boot of the mutant with the sample's `entry_probe` and the entry
//!    kselftest (`preempt=full nohz_full=1-3`, -smp 4) crashes, hangs, prints a console
//!    splat, or has a test fail that passed in the control.
//!
//! Otherwise it **survived**; `lab/mutants-equivalent.toml` explains the
//! survivors that are equivalent. A mutant that does not compile is
//! **stillborn** and not counted. The control is the unmutated `rust`:
//! its build, KUnit run and boot (kept from earlier runs when the kernel
//! is the same). Judgements go to `results/mutate.json` after each mutant;
//! a rerun skips the mutants judged on the same series tip with the same
//! mutant text. Ctrl-C stops after the current step; the kernel work tree
//! is back at the series tip whatever happens.

use crate::boot::{self, BootOpts, BootResult};
use crate::build;
use crate::compile_fail;
use crate::fault::Control;
use crate::guest::Outcome;
use crate::kunit::{KunitResult, Status};
use crate::lab::{Flavor, Lab, Variant};
use crate::mutate::{self, KConfig, Mutant, Record, Records, Verdict};
use crate::series::{self, Series};
use crate::util::{bail, fmt_dur, read, say, write, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

const RUST: Flavor = Flavor { variant: Variant::Rust, debug: false };

/// The guest programs a mutant's boot runs.
const PROGRAMS: &[&str] = &["entry_probe", "entry_test"];

/// The boot of a mutant (and of the control): the test job's, with
/// `nohz_full=1-3` as in the matrix's `nohz_full` configuration, so that
/// context tracking on user transitions is on and a mutant of
/// `user_enter/exit_irqoff()` changes something.
fn opts(config: &str) -> BootOpts {
    let mut o = boot::TEST.opts(4).only(config, PROGRAMS.iter().map(|p| p.to_string()).collect());
    o.append = "preempt=full nohz_full=1-3".into();
    // The control boots in 4-15 s under TCG; a mutant that hangs the kernel
    // is judged after 2 min instead of the plan's limits (7 min).
    o.cap = Some(MUTANT_BOOT_SECONDS);
    o
}

/// The limit of a mutant's boot (and the control's), in seconds.
const MUTANT_BOOT_SECONDS: u64 = 120;

/// The limit of a mutant's KUnit run, in seconds: the control's takes 2-3 s from boot to
/// the last case under TCG, and a mutant that hangs it was judged after kunit.py's 300 s.
const MUTANT_KUNIT_SECONDS: u32 = 60;

fn records_file(lab: &Lab) -> PathBuf {
    lab.results.join("mutate.json")
}

fn equivalent_file(lab: &Lab) -> PathBuf {
    lab.repo.join("lab/mutants-equivalent.toml")
}

pub fn run(lab: &Lab, list: bool, only: &[String], limit: Option<usize>) -> Result<bool> {
    let source = lab.repo.join("linux").join(mutate::PATH);
    let text = read(&source)?;
    let all = mutate::generate(&text);
    for id in only {
        if !all.iter().any(|m| &m.id == id) {
            bail!("no mutant `{id}`: `./entry-lab mutate --list` lists them");
        }
    }
    let equivalent = match read(&equivalent_file(lab)) {
        Ok(t) => {
            mutate::load_equivalent(&t).map_err(|e| anyhow::anyhow!("{}: {e:#}", equivalent_file(lab).display()))?
        }
        Err(_) => BTreeMap::new(),
    };
    for id in equivalent.keys().filter(|id| !all.iter().any(|m| &m.id == *id)) {
        say("mutate", &format!("{}: `{id}` is no mutant any more (stale entry)", equivalent_file(lab).display()));
    }
    if list {
        let cfg = read(&lab.build_dir(RUST).join(".config")).ok().map(|t| kconfig(lab, &t));
        if cfg.is_none() {
            say("mutate", "no rust .config yet: every mutant is listed as compiled in");
        }
        // The verdicts kept for the series tip the work tree was last
        // assembled at (nothing is assembled or run here).
        let tip = crate::util::run(crate::base::git(&lab.src()).args(["rev-parse", "--verify", "-q", "series"]))
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        let records: Records =
            read(&records_file(lab)).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        let mut compiled = vec![];
        for m in &all {
            let out = cfg.as_ref().and_then(|c| mutate::not_compiled(m, &all, c));
            let judged = records
                .get(&m.id)
                .filter(|r| r.tip == tip && r.text == mutate::text_hash(&m.diff(&text)))
                .map(|r| format!("   {}", r.verdict))
                .unwrap_or_default();
            let note = match out {
                Some(w) => format!("   [not compiled in: {w}]"),
                None => {
                    compiled.push(m);
                    judged
                }
            };
            println!("{:<58} line {:>3}  {}{note}", m.id, m.line, m.what);
        }
        println!("{} mutants, {} compiled into the rust configuration", all.len(), compiled.len());
        if !tip.is_empty() {
            summary(&compiled, &records, &equivalent, &text, &tip);
        }
        return Ok(true);
    }

    crate::util::catch_interrupts();
    crate::setup::setup(lab)?;
    let s = series::assemble_tree(lab)?;
    let control = control(lab)?;
    let cfg = kconfig(lab, &read(&lab.build_dir(RUST).join(".config"))?);
    let compiled: Vec<&Mutant> = all.iter().filter(|m| mutate::not_compiled(m, &all, &cfg).is_none()).collect();
    say(
        "mutate",
        &format!(
            "{} mutants of {}, {} compiled into the rust configuration (`--list` shows the others)",
            all.len(),
            mutate::PATH,
            compiled.len()
        ),
    );
    let mut records: Records =
        read(&records_file(lab)).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let current = |r: &Record, m: &Mutant| r.tip == s.tip() && r.text == mutate::text_hash(&m.diff(&text));
    let selected: Vec<&Mutant> = compiled.iter().copied().filter(|m| only.is_empty() || only.contains(&m.id)).collect();
    let todo: Vec<&Mutant> = selected
        .iter()
        .copied()
        .filter(|m| !records.get(&m.id).is_some_and(|r| current(r, m)))
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    say(
        "mutate",
        &format!(
            "{} already judged on this series tip, {} to run",
            selected.len() - todo.len().min(selected.len()),
            todo.len()
        ),
    );
    for (i, m) in todo.iter().enumerate() {
        if crate::util::interrupted() {
            bail!("interrupted: the kernel work tree is at the series tip; rerun to go on");
        }
        let start = Instant::now();
        let waited_before = crate::util::lock_waited();
        say("mutate", &format!("[{}/{}] {} {}: {}", i + 1, todo.len(), m.id, m.short(), m.what));
        let verdict = run_one(lab, &s, m, &text, &control)?;
        let seconds = start.elapsed().as_secs();
        let waited = (crate::util::lock_waited() - waited_before).as_secs();
        let wait_note =
            if waited > 0 { format!(", {waited} s of it waiting for the build lock") } else { String::new() };
        println!("mutate [{}/{}] {} ... {verdict} ({seconds} s{wait_note})", i + 1, todo.len(), m.short());
        let diff = m.diff(&text);
        records.insert(
            m.id.clone(),
            Record {
                verdict,
                seconds,
                waited: Some(waited),
                tip: s.tip().to_string(),
                text: mutate::text_hash(&diff),
                what: m.what.clone(),
            },
        );
        write(&records_file(lab), serde_json::to_string_pretty(&records)?)?;
    }
    Ok(summary(&compiled, &records, &equivalent, &text, s.tip()))
}

/// The rust .config and the building blocks that are empty with it.
fn kconfig(lab: &Lab, dotconfig: &str) -> KConfig {
    let mut c = KConfig::parse(dotconfig);
    for (m, file) in mutate::BLOCK_MODULES {
        if let Ok(t) = read(&lab.repo.join(format!("linux/rust/kernel/entry/{file}.rs"))) {
            c.add_blocks(m, &t);
        }
    }
    c
}

/// The scratch folder of the stillborn check (`compile_fail::compile_entry_object()`).
fn alone_dir(lab: &Lab) -> PathBuf {
    lab.results.join("logs/mutant-alone")
}

/// The mutated file in the kernel work tree.
fn entry_source(lab: &Lab) -> PathBuf {
    lab.src().join(mutate::PATH)
}

/// Whether `entry_rs.rs` of the work tree compiles alone with `line`, the `rustc` line of
/// the `rust` build's `entry_rs.o`. On the unmutated file this must say yes, or the quick
/// stillborn check is not used: a mutant must never be called stillborn for a reason of
/// the check's own.
fn compiles_alone(lab: &Lab, line: &str) -> Result<compile_fail::Compiled> {
    compile_fail::compile_entry_object(&lab.build_dir(RUST), line, &entry_source(lab), &alone_dir(lab))
}

/// The unmutated `rust`: build, KUnit, boot. Each must pass. Also the `rustc` line of the
/// quick stillborn check, when it can be used (see [`compiles_alone`]).
fn control(lab: &Lab) -> Result<(Control, Option<String>)> {
    let b = build::build(lab, RUST, true)?;
    if let Some(e) = &b.error {
        bail!("the control (unmutated rust) does not build cleanly: {e}");
    }
    let alone =
        match compile_fail::entry_rustc_line(&lab.build_dir(RUST)).and_then(|l| Ok((compiles_alone(lab, &l)?, l))) {
            Ok((c, line)) if c.ok => Some(line),
            Ok((c, _)) => {
                say(
                    "mutate",
                    &format!(
                        "the unmutated entry_rs.rs does not compile alone ({}): every mutant goes through make",
                        compile_fail::first_error(&c.output)
                    ),
                );
                None
            }
            Err(e) => {
                say("mutate", &format!("no quick stillborn check ({e:#}): every mutant goes through make"));
                None
            }
        };
    let k = crate::kunit::run_built(lab, RUST, true)?;
    if !k.ok() {
        bail!("the control's KUnit run does not pass: {}", k.error.clone().unwrap_or_else(|| k.summary()));
    }
    let boot = boot::boot(lab, RUST, &opts("mutate-control"), true)?;
    if !boot.ok || !boot.own_failures.is_empty() {
        bail!(
            "the control boot does not pass: {} (log: {})",
            boot.error.clone().unwrap_or_else(|| boot.own_failures.join(", ")),
            boot.log
        );
    }
    let mut c = Control { build_ok: Some(true), kunit: Some(k), ..Default::default() };
    c.add_boot(Variant::Rust, &boot);
    Ok((c, alone))
}

/// Puts the work tree back at the series tip when dropped (errors, panics).
struct Restore<'a>(&'a Lab, &'a Series);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Err(e) = series::checkout(&self.0.src(), self.1.tip()) {
            eprintln!("error: cannot put the kernel work tree back at the series tip: {e:#}");
        }
    }
}

/// Applies one mutant, judges it, and puts the series back.
fn run_one(lab: &Lab, s: &Series, m: &Mutant, text: &str, control: &(Control, Option<String>)) -> Result<Verdict> {
    let diff = lab.results.join("logs/mutant.diff");
    write(&diff, m.diff(text))?;
    let commit = series::with_extra_diff(&lab.src(), s, &diff, &format!("MUTANT: {} ({})", m.id, m.what))?;
    let restore = Restore(lab, s);
    series::checkout(&lab.src(), &commit)?;
    let v = observe(lab, control);
    drop(restore);
    if crate::util::interrupted() {
        bail!("interrupted during {} (not judged): the kernel work tree is at the series tip; rerun to go on", m.id);
    }
    v
}

fn stop_if_interrupted() -> Result<()> {
    if crate::util::interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

fn observe(lab: &Lab, (control, alone): &(Control, Option<String>)) -> Result<Verdict> {
    // Most stillborn mutants are typed steps dropped or moved: rustc alone says so in a few
    // seconds, where `make` takes half a minute. One that compiles goes through `make` all
    // the same (objtool, the link).
    if let Some(line) = alone {
        let c = compiles_alone(lab, line)?;
        if !c.ok {
            return Ok(Verdict::Stillborn { detail: compile_fail::first_error(&c.output) });
        }
    }
    let b = build::build(lab, RUST, false)?;
    stop_if_interrupted()?;
    let log = read(std::path::Path::new(&b.log)).unwrap_or_default();
    if !b.ok {
        if let Some(v) = judge_build(&log, &b.objtool) {
            return Ok(v);
        }
        bail!("the mutant's build failed for another reason: {}", b.error.unwrap_or_default());
    }
    let k = crate::kunit::run_built_capped(lab, RUST, MUTANT_KUNIT_SECONDS)?;
    stop_if_interrupted()?;
    if let Some(v) = judge_kunit(control.kunit.as_ref(), &k) {
        return Ok(v);
    }
    let boot = boot::boot(lab, RUST, &opts("mutate"), false)?;
    stop_if_interrupted()?;
    Ok(judge_boot(control, &boot))
}

/// A failed build: stillborn when the compiler stopped it, killed when
/// objtool did (a noinstr violation). None: neither.
pub fn judge_build(log: &str, objtool: &[String]) -> Option<Verdict> {
    let compiler: Vec<&str> =
        build::error_lines(log).into_iter().filter(|l| !l.contains("objtool") && !l.contains("] Error ")).collect();
    if let Some(first) = compiler.first() {
        return Some(Verdict::Stillborn { detail: first.trim().to_string() });
    }
    objtool.first().map(|w| Verdict::Killed { stage: "objtool".into(), by: "objtool".into(), detail: w.clone() })
}

/// Cases that passed in the control and fail now; a run cut short kills.
pub fn judge_kunit(control: Option<&KunitResult>, k: &KunitResult) -> Option<Verdict> {
    if !k.complete || k.cases.is_empty() {
        return Some(Verdict::Killed {
            stage: "kunit".into(),
            by: "KUnit did not complete (crash or hang)".into(),
            detail: k.error.clone().unwrap_or_else(|| format!("log: {}", k.log)),
        });
    }
    let passed = |n: &str| control.is_some_and(|c| c.cases.iter().any(|x| x.name == n && x.status == Status::Pass));
    let failed: Vec<&str> =
        k.cases.iter().filter(|c| c.status == Status::Fail && passed(&c.name)).map(|c| c.name.as_str()).collect();
    let missing: Vec<String> = control
        .map(|c| {
            c.cases
                .iter()
                .filter(|x| x.status == Status::Pass && !k.cases.iter().any(|y| y.name == x.name))
                .map(|x| x.name.clone())
                .collect()
        })
        .unwrap_or_default();
    if failed.is_empty() && missing.is_empty() {
        return None;
    }
    let mut names: Vec<String> = failed.iter().map(|s| s.to_string()).collect();
    names.extend(missing.iter().map(|n| format!("{n} (did not run)")));
    Some(Verdict::Killed {
        stage: "kunit".into(),
        by: few(&names),
        detail: format!("{} KUnit case(s) failed; log: {}", names.len(), k.log),
    })
}

/// The mutant's boot against the control's.
pub fn judge_boot(control: &Control, b: &BootResult) -> Verdict {
    if b.outcome != crate::qemu::Outcome::Completed {
        return Verdict::Killed {
            stage: "boot".into(),
            by: "boot did not complete (crash or hang)".into(),
            detail: b.error.clone().unwrap_or_else(|| format!("log: {}", b.log)),
        };
    }
    if let Some(s) = b.splats.first() {
        return Verdict::Killed { stage: "boot".into(), by: "console splat".into(), detail: s.clone() };
    }
    let ctl = control.boots.get(&Variant::Rust);
    let failed: Vec<String> = ctl
        .into_iter()
        .flatten()
        .filter(|(_, o)| **o == Outcome::Pass)
        .filter(|(n, _)| b.tests.get(*n) != Some(&Outcome::Pass))
        .map(|(n, _)| match b.tests.get(n) {
            Some(Outcome::Fail) => n.clone(),
            Some(o) => format!("{n} ({})", o.word()),
            None => format!("{n} (did not run)"),
        })
        .collect();
    if failed.is_empty() {
        Verdict::Survived { detail: format!("KUnit and {} guest tests pass", b.tests.len()) }
    } else {
        Verdict::Killed {
            stage: "boot".into(),
            by: few(&failed),
            detail: format!("{} guest test(s) failed; log: {}", failed.len(), b.log),
        }
    }
}

/// `a, b, c and 4 more`.
fn few(names: &[String]) -> String {
    if names.len() <= 3 {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..3].join(", "), names.len() - 3)
    }
}

/// Prints the counts and the survivors; false when the sweep is complete
/// and a survivor is not explained as equivalent.
fn summary(
    compiled: &[&Mutant],
    records: &Records,
    equivalent: &BTreeMap<String, String>,
    text: &str,
    tip: &str,
) -> bool {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut survivors = vec![];
    let mut pending = 0;
    let mut seconds = 0;
    let mut waited = 0;
    let mut unknown = 0;
    let mut run = 0;
    for m in compiled {
        let r = records.get(&m.id).filter(|r| r.tip == tip && r.text == mutate::text_hash(&m.diff(text)));
        let Some(r) = r else {
            pending += 1;
            continue;
        };
        run += 1;
        seconds += r.seconds;
        waited += r.waited.unwrap_or(0);
        unknown += usize::from(r.waited.is_none());
        let key = match &r.verdict {
            Verdict::Survived { .. } if equivalent.contains_key(&m.id) => "survived, equivalent (explained)".into(),
            Verdict::Survived { .. } => "SURVIVED, not explained".into(),
            v => v.class(),
        };
        if matches!(r.verdict, Verdict::Survived { .. }) {
            survivors.push((m, equivalent.get(&m.id)));
        }
        *counts.entry(key).or_default() += 1;
    }
    println!("\nmutation sweep of {} on series tip {}:", mutate::PATH, &tip[..12.min(tip.len())]);
    println!("  {} mutants compiled in, {run} judged, {pending} not yet", compiled.len());
    for (k, n) in &counts {
        println!("  {n:>4} {k}");
    }
    if run > 0 {
        let avg = |s: u64| fmt_dur(std::time::Duration::from_secs(s / run as u64));
        let lock = if unknown == 0 {
            format!("{} of it", avg(waited))
        } else {
            format!("not known for {unknown} of them how much of it was")
        };
        println!("  {} per mutant on average ({lock} waiting for the machine-wide build lock)", avg(seconds));
    }
    if !survivors.is_empty() {
        println!("\n| survivor | line | mutation | status |\n|---|---|---|---|");
        for (m, why) in &survivors {
            let status =
                why.map_or("**SURVIVED**: no test and no explanation".to_string(), |w| format!("equivalent: {w}"));
            println!("| `{}` | {} | {} | {status} |", m.id, m.line, m.what.replace('|', "\\|"));
        }
    }
    let unexplained = survivors.iter().filter(|(_, w)| w.is_none()).count();
    if pending > 0 {
        println!("\nincomplete: {pending} mutants not judged on this tip yet (rerun `./entry-lab mutate` to go on)");
        return true;
    }
    if unexplained > 0 {
        println!("\n{unexplained} survivor(s): kill each with a test or explain it in lab/mutants-equivalent.toml");
    }
    unexplained == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kunit::Case;

    fn kunit(cases: &[(&str, Status)], complete: bool) -> KunitResult {
        KunitResult {
            cases: cases.iter().map(|(n, s)| Case { name: n.to_string(), status: *s }).collect(),
            complete,
            ..Default::default()
        }
    }

    #[test]
    fn a_compile_error_is_stillborn_an_objtool_warning_kills() {
        let log = "  RUSTC L kernel/entry/entry_rs.o\nerror[E0425]: cannot find value `x`\nmake[3]: *** [x] Error 1\n";
        assert!(matches!(judge_build(log, &[]), Some(Verdict::Stillborn { .. })));
        // An old objtool warning does not make a compile error a kill.
        let w = "vmlinux.o: warning: objtool: irqentry_exit+0x8: call to f() leaves .noinstr.text section".to_string();
        assert!(matches!(judge_build(log, std::slice::from_ref(&w)), Some(Verdict::Stillborn { .. })));
        let v = judge_build("make: *** [vmlinux.o] Error 1\n", std::slice::from_ref(&w)).unwrap();
        assert_eq!(v, Verdict::Killed { stage: "objtool".into(), by: "objtool".into(), detail: w });
        assert_eq!(judge_build("make: *** [x] Error 2\n", &[]), None);
    }

    #[test]
    fn a_kunit_case_that_passed_in_the_control_kills() {
        let ctl = kunit(&[("s.a", Status::Pass), ("s.b", Status::Fail), ("s.c", Status::Pass)], true);
        assert_eq!(
            judge_kunit(
                Some(&ctl),
                &kunit(&[("s.a", Status::Pass), ("s.b", Status::Fail), ("s.c", Status::Pass)], true)
            ),
            None
        );
        let v = judge_kunit(
            Some(&ctl),
            &kunit(&[("s.a", Status::Fail), ("s.b", Status::Fail), ("s.c", Status::Pass)], true),
        );
        assert!(matches!(v, Some(Verdict::Killed { ref by, .. }) if by == "s.a"), "{v:?}");
        // Unlike a fault, a run cut short kills the mutant.
        let v = judge_kunit(Some(&ctl), &kunit(&[("s.a", Status::Pass)], false));
        assert!(matches!(v, Some(Verdict::Killed { ref by, .. }) if by.contains("did not complete")), "{v:?}");
        let v = judge_kunit(Some(&ctl), &kunit(&[("s.a", Status::Pass), ("s.b", Status::Pass)], true));
        assert!(matches!(v, Some(Verdict::Killed { ref by, .. }) if by == "s.c (did not run)"), "{v:?}");
    }

    #[test]
    fn a_boot_kills_by_a_test_a_splat_or_a_crash() {
        let ok = crate::boot::tests::booted("rust", &[("entry_test", Outcome::Pass), ("entry_test: a", Outcome::Pass)]);
        let mut ctl = Control::default();
        ctl.add_boot(Variant::Rust, &ok);
        assert!(matches!(judge_boot(&ctl, &ok), Verdict::Survived { .. }));
        let failed =
            crate::boot::tests::booted("rust", &[("entry_test", Outcome::Fail), ("entry_test: a", Outcome::Fail)]);
        assert!(
            matches!(judge_boot(&ctl, &failed), Verdict::Killed { ref by, .. } if by == "entry_test, entry_test: a")
        );
        let mut splat = ok.clone();
        splat.splats = vec!["WARNING: at kernel/x.c".into()];
        assert!(matches!(judge_boot(&ctl, &splat), Verdict::Killed { ref by, .. } if by == "console splat"));
        let mut hung = ok.clone();
        hung.outcome = crate::qemu::Outcome::Panicked("x".into());
        assert!(matches!(judge_boot(&ctl, &hung), Verdict::Killed { ref by, .. } if by.contains("did not complete")));
    }
}
