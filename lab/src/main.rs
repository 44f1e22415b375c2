//! entry-lab: from a fresh machine to the C and Rust generic entry code of
//! Linux 7.3.4 built, booted in QEMU and KUnit-tested, side by side.

mod base;
mod build;
mod guest;
mod kunit;
mod lab;
mod memo;
#[cfg(test)]
mod noinstr_tests;
mod qemu;
mod report;
mod series;
mod setup;
mod style;
mod symbols;
mod upstream;
mod util;

use lab::{Flavor, Lab, Variant};
use std::path::PathBuf;
use std::process::ExitCode;
use util::{say, Error, Result};

const USAGE: &str = "\
usage: entry-lab [--repo DIR] COMMAND [ARGS]

The main job and the test job (what the README calls the two commands):
  run [--quick] [--again]       setup, fetch, assemble, export, build c and rust
                                (plain and debug), KUnit, boot both in every
                                configuration of the matrix (preempt=full,
                                preempt=lazy, nohz_full, debug) with the
                                workload, the entry probe sample, the entry
                                kselftest and the upstream selftests; print the
                                side-by-side report (--quick: without the debug
                                builds). Builds, KUnit runs and boots whose
                                inputs did not change since they last passed
                                are kept, not redone (--again: redo them all)
  test                          the lab's unit tests, the series checks, both
                                variants built, KUnit-run and booted; last line
                                'N passed, N failed'

Steps:
  setup                         install and check the toolchain (apt, bindgen)
  fetch                         download, verify and unpack the 7.3.4 base
  assemble                      apply series/ onto the base (one commit a patch)
  export [--out DIR]            git format-patch --cover-letter, then git am check
  build VARIANT... [--debug]    configure and build (c, rust)
  kunit VARIANT [--debug]       run KUnit through tools/testing/kunit/kunit.py
  boot VARIANT [--debug] [--seconds N] [--smp N] [--append ARGS]
                                boot with the initramfs workload
  style                         rustfmt, checkpatch.pl and clippy on the series
  fault NAME                    build rust with lab/faults/NAME.diff, run the
                                test that should catch it (KUnit, or a boot of
                                both variants), restore; succeeds when caught

Environment: ENTRY_LAB_CACHE (default ~/.cache/entry-lab), ENTRY_LAB_RESULTS
(default ./results), ENTRY_LAB_ACCEL=auto|kvm|tcg (default auto: probe KVM).";

/// Command-line arguments after the command name.
struct Args {
    words: Vec<String>,
    debug: bool,
    quick: bool,
    again: bool,
    seconds: Option<u64>,
    smp: Option<u32>,
    out: Option<PathBuf>,
    append: Option<String>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args> {
    let mut a = Args {
        words: vec![],
        debug: false,
        quick: false,
        again: false,
        seconds: None,
        smp: None,
        out: None,
        append: None,
    };
    while let Some(w) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| Error(format!("{name} needs a value")));
        match w.as_str() {
            "--debug" => a.debug = true,
            "--quick" => a.quick = true,
            "--again" => a.again = true,
            "--seconds" => {
                a.seconds = Some(val("--seconds")?.parse().map_err(|_| Error("--seconds takes a number".into()))?)
            }
            "--smp" => a.smp = Some(val("--smp")?.parse().map_err(|_| Error("--smp takes a number".into()))?),
            "--out" => a.out = Some(val("--out")?.into()),
            "--append" => a.append = Some(val("--append")?),
            s if s.starts_with("--") => bail!("unknown option {s}\n{USAGE}"),
            _ => a.words.push(w),
        }
    }
    Ok(a)
}

fn variants(a: &Args) -> Result<Vec<Flavor>> {
    if a.words.is_empty() {
        bail!("name a variant: c or rust");
    }
    a.words
        .iter()
        .map(|w| {
            Variant::parse(w)
                .map(|variant| Flavor { variant, debug: a.debug })
                .ok_or_else(|| Error(format!("unknown variant `{w}`: use c or rust")))
        })
        .collect()
}

/// fetch + assemble: the work tree holds the series; returns it.
fn assemble(lab: &Lab) -> Result<series::Series> {
    base::ensure_base(lab)?;
    let sd = series::SeriesDir::in_repo(&lab.repo);
    let m = series::Manifest::load(&sd)?;
    let s = series::assemble(&lab.src(), base::BASE_TAG, &m, &sd)?;
    series::checkout(&lab.src(), s.tip())?;
    series::describe(&s);
    Ok(s)
}

/// Exports the series and proves it applies with git am on the base.
/// Skipped when this very tip was already checked.
fn export(lab: &Lab, s: &series::Series, out: Option<PathBuf>) -> Result<PathBuf> {
    let sd = series::SeriesDir::in_repo(&lab.repo);
    let m = series::Manifest::load(&sd)?;
    let out = out.unwrap_or_else(|| lab.results.join("series"));
    let mails = series::export(&lab.src(), s, &m, &out)?;
    let stamp = lab.cache.join("am-checked");
    if util::read(&stamp).ok().as_deref() != Some(s.tip()) {
        say("series", "checking the export with git am on a pristine base");
        series::check_am(&lab.src(), s, &mails, &lab.cache)?;
        util::write(&stamp, s.tip())?;
    }
    say("series", &format!("{} mails in {} (git am check passed)", mails.len(), out.display()));
    Ok(out)
}

/// Builds the rust variant with a deliberate fault from lab/faults/, runs
/// KUnit, restores the series; succeeds when KUnit caught the fault.
fn fault(lab: &Lab, a: &Args) -> Result<bool> {
    let Some(name) = a.words.first() else {
        bail!("name a fault: one of lab/faults/*.diff");
    };
    fault_detected(lab, name, a.debug)
}

/// How a fault is meant to be caught: the `# detect:` line at the top of
/// its diff (`kunit`, the default, or `boot`: the guest tests of the boot
/// matrix's `full` configuration, rust against c).
pub fn fault_detector(diff_text: &str) -> &str {
    diff_text
        .lines()
        .take_while(|l| !l.starts_with("--- ") && !l.starts_with("diff "))
        .find_map(|l| l.strip_prefix("# detect:"))
        .map_or("kunit", str::trim)
}

/// See [`fault`].
pub fn fault_detected(lab: &Lab, name: &str, debug: bool) -> Result<bool> {
    let diff = lab.repo.join("lab/faults").join(format!("{name}.diff"));
    if !diff.is_file() {
        bail!("no fault `{name}`: see lab/faults/");
    }
    let detector = fault_detector(&util::read(&diff)?).to_string();
    if detector != "kunit" && detector != "boot" {
        bail!("{}: unknown `# detect: {detector}` (use kunit or boot)", diff.display());
    }
    let s = assemble(lab)?;
    let commit = series::with_extra_diff(&lab.src(), &s, &diff, &format!("FAULT INJECTION: {name}"))?;
    series::checkout(&lab.src(), &commit)?;
    say("fault", &format!("{name} applied on top of the series ({})", &commit[..12]));
    let f = Flavor { variant: Variant::Rust, debug };
    let built = build::build(lab, f, false).and_then(|b| match b.error {
        Some(e) if e.starts_with("build failed") => Err(Error(e)),
        _ => Ok(()),
    });
    if detector == "kunit" {
        let result = built.and_then(|()| kunit::run(lab, f, false));
        // Put the work tree back to the series, whatever happened.
        series::checkout(&lab.src(), s.tip())?;
        let k = result?;
        let failed: Vec<&str> =
            k.cases.iter().filter(|c| c.status == kunit::Status::Fail).map(|c| c.name.as_str()).collect();
        return Ok(if !failed.is_empty() {
            println!("fault {name}: detected: KUnit failed {}", failed.join(", "));
            true
        } else if !k.complete {
            println!("fault {name}: detected: the KUnit run did not complete (crash?) (log: {})", k.log);
            true
        } else {
            println!("fault {name}: NOT detected: KUnit passed {} cases", k.cases.len());
            false
        });
    }
    // detect: boot. Boot the faulty rust kernel, then restore the series
    // (the c kernel does not depend on the Rust entry code) and boot c.
    let cfg =
        report::Config { name: "fault", debug, append: "preempt=full", groups: &["workload", "entry"], seconds: 10 };
    let rust = built.and_then(|()| report::boot(lab, f, &cfg.opts(4), false));
    series::checkout(&lab.src(), s.tip())?;
    let rust = rust?;
    let c = report::boot(lab, Flavor { variant: Variant::C, debug }, &cfg.opts(4), false)?;
    let pair = report::Pair {
        config: format!("fault {name}"),
        append: cfg.append.into(),
        c: Some(c),
        rust: Some(rust),
        errors: vec![],
    };
    println!("\n{}", report::table(&[], std::slice::from_ref(&pair), false));
    let d = report::differences(&pair);
    let failing: Vec<String> = d
        .iter()
        .filter(|(_, c, r)| *c == Some(guest::Outcome::Pass) && *r != Some(guest::Outcome::Pass))
        .map(|(n, _, _)| n.clone())
        .collect();
    if failing.is_empty() {
        println!("fault {name}: NOT detected: the rust boot gave the same results as c");
        Ok(false)
    } else {
        println!("fault {name}: detected: passes on c, not on rust: {}", failing.join(", "));
        Ok(true)
    }
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    let mut repo = std::env::current_dir().unwrap_or_else(|_| ".".into());
    if argv.peek().map(String::as_str) == Some("--repo") {
        argv.next();
        match argv.next() {
            Some(r) => repo = r.into(),
            None => {
                eprintln!("error: --repo needs a value");
                return ExitCode::from(2);
            }
        }
    }
    let Some(cmd) = argv.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    // Absolute: git runs in the kernel tree and reads overlay files by path.
    let repo = std::fs::canonicalize(&repo).unwrap_or(repo);
    let lab = Lab::new(repo);
    let r = parse_args(argv).and_then(|a| dispatch(&lab, &cmd, a));
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(lab: &Lab, cmd: &str, a: Args) -> Result<bool> {
    match cmd {
        "setup" => setup::setup(lab).map(|_| true),
        "fetch" => {
            base::ensure_base(lab)?;
            say("fetch", &format!("base ready in {}", lab.src().display()));
            Ok(true)
        }
        "assemble" => assemble(lab).map(|_| true),
        "export" => {
            let s = assemble(lab)?;
            export(lab, &s, a.out.clone()).map(|_| true)
        }
        "build" => {
            let fl = variants(&a)?;
            setup::setup(lab)?;
            assemble(lab)?;
            let mut ok = true;
            for f in fl {
                let r = build::build(lab, f, false)?;
                if let Some(e) = &r.error {
                    eprintln!("error: {}: {e}", r.flavor);
                    ok = false;
                }
            }
            Ok(ok)
        }
        "kunit" => {
            let fl = variants(&a)?;
            let mut ok = true;
            for f in fl {
                build::configure(lab, f)?;
                let r = kunit::run(lab, f, false)?;
                report::print_kunit(&r);
                ok &= r.ok();
            }
            Ok(ok)
        }
        "boot" => {
            let fl = variants(&a)?;
            let mut ok = true;
            for f in fl {
                let r = report::boot(lab, f, &report::BootOpts::from_args(a.seconds, a.smp, a.append.clone()), false)?;
                report::print_boot(&r);
                if let Some(e) = &r.error {
                    eprintln!("error: {}: {e}", r.flavor);
                }
                ok &= r.ok;
            }
            Ok(ok)
        }
        "style" => {
            let s = assemble(lab)?;
            let mails = export(lab, &s, None)?;
            let mut ok = true;
            for (name, found) in [
                ("rustfmt", style::rustfmt(lab)?),
                ("checkpatch", style::checkpatch(lab, &mails)?),
                ("clippy", style::clippy(lab)?),
            ] {
                for f in &found {
                    println!("{name}: {f}");
                }
                println!("{name}: {}", if found.is_empty() { "clean" } else { "FINDINGS" });
                ok &= found.is_empty();
            }
            Ok(ok)
        }
        "fault" => fault(lab, &a),
        "run" => report::main_job(lab, a.quick, a.again),
        "test" => report::test_job(lab),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(true)
        }
        other => bail!("unknown command `{other}`\n{USAGE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_and_variants() {
        let a = parse_args(["rust", "--debug", "--seconds", "60"].map(String::from).into_iter()).unwrap();
        assert!(a.debug);
        assert_eq!(a.seconds, Some(60));
        let v = variants(&a).unwrap();
        assert_eq!(v, [Flavor { variant: Variant::Rust, debug: true }]);
        let bad = parse_args(["go"].map(String::from).into_iter()).unwrap();
        assert_eq!(variants(&bad).unwrap_err().0, "unknown variant `go`: use c or rust");
        assert!(parse_args(["--seconds"].map(String::from).into_iter()).is_err());
        let run = parse_args(["--quick", "--again"].map(String::from).into_iter()).unwrap();
        assert!(run.quick && run.again && !run.debug);
    }

    #[test]
    fn fault_detectors() {
        assert_eq!(fault_detector("# detect: boot\n# why\n--- a/x\n+++ b/x\n"), "boot");
        assert_eq!(fault_detector("# a fault\n--- a/x\n# detect: boot\n"), "kunit");
    }
}
