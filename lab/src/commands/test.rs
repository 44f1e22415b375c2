//! `entry-lab test`, the test job: the lab's unit tests, the series checks
//! (the drift check of the mirrored C code among them),
//! both variants built, KUnit-run and booted, the printed kunit.py command,
//! style, and every deliberate fault caught. Nothing is kept from earlier
//! runs. The last line is "N passed, N failed".

use crate::boot::TEST;
use crate::build;
use crate::fault::{self, Control, Fault, Verdict};
use crate::kunit::{self, Status};
use crate::lab::{Flavor, Lab, Variant};
use crate::report::{self, differences, real_differences, word, Row};
use crate::util::{read, say, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Counts of passed and failed checks, printed as the last line. Each
/// check line ends with the time since the previous one: the README's time
/// ledger comes from these.
struct Tally {
    passed: usize,
    failed: usize,
    last: Instant,
}

impl Tally {
    fn check(&mut self, name: &str, r: std::result::Result<(), String>) {
        let took = crate::util::fmt_dur(self.last.elapsed());
        self.last = Instant::now();
        match r {
            Ok(()) => {
                self.passed += 1;
                println!("PASS {name} [+{took}]");
            }
            Err(e) => {
                self.failed += 1;
                println!("FAIL {name}: {e} [+{took}]");
            }
        }
    }
}

/// Runs the lab's unit tests with `cargo test`: the result is its exit
/// status; the number of tests comes from `cargo test -- --list`.
fn unit_tests(lab: &Lab) -> Result<(usize, std::result::Result<(), String>)> {
    let cargo = |args: &[&str]| {
        let mut c = Command::new("cargo");
        c.current_dir(lab.repo.join("lab")).args(["test", "--release", "--quiet"]).args(args);
        c
    };
    let list = crate::util::run(&mut cargo(&["--", "--list", "--format", "terse"]))?;
    let n = list.lines().filter(|l| l.ends_with(": test")).count();
    say("test", &format!("cargo test: {n} unit and CLI tests of the lab"));
    let status = cargo(&[]).status().map_err(|e| anyhow::anyhow!("cannot run cargo test: {e}"))?;
    Ok((n, if status.success() { Ok(()) } else { Err(format!("cargo test failed ({status}); output above")) }))
}

fn from<T>(r: Result<T>) -> std::result::Result<T, String> {
    r.map_err(|e| format!("{e:#}"))
}

pub fn run(lab: &Lab) -> Result<bool> {
    let start = Instant::now();
    let mut t = Tally { passed: 0, failed: 0, last: start };
    // Setup first: some CLI tests boot a fake QEMU with the initramfs made
    // from busybox, which a fresh machine has only after setup. From an
    // empty cache the base (download, unpack, commit: about 2 minutes,
    // mostly one core for xz and git) comes in a second thread while
    // bindgen and the lab's tests are built (2 cores).
    let setup = crate::setup::packages();
    let (setup, fetched, unit) = std::thread::scope(|scope| {
        let fetch = setup.is_ok().then(|| scope.spawn(|| crate::base::ensure_base(lab)));
        let setup = setup.and_then(|()| crate::setup::toolchain(lab));
        let unit = unit_tests(lab);
        let fetched = match fetch {
            Some(h) => h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the fetch thread panicked"))),
            None => Ok(()),
        };
        (setup, fetched, unit)
    });
    let (n, r) = unit?;
    t.check(&format!("lab: {n} unit and CLI tests (cargo test)"), r);
    match setup.and(fetched) {
        Err(e) => t.check("lab: setup and fetch", Err(format!("{e:#}"))),
        Ok(()) => {
            if let Err(e) = steps(lab, &mut t) {
                t.check("lab steps", Err(format!("{e:#}")));
            }
        }
    }
    println!("(took {})", crate::util::fmt_dur(start.elapsed()));
    println!("{} passed, {} failed", t.passed, t.failed);
    Ok(t.failed == 0)
}

fn steps(lab: &Lab, t: &mut Tally) -> Result<()> {
    // The job decides itself what builds side by side (arm64 below).
    let _job = crate::util::job_lock("test")?;
    let s1 = crate::series::assemble_tree(lab)?;
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
        from(crate::series::export_checked(lab, &s1, None, &Default::default())).map(|_| ()),
    );
    mirror_checks(lab, t);
    // The test job always builds, runs and boots: nothing is kept.
    let rows: Vec<Row> = report::flavors(false).into_iter().map(|f| report::measure(lab, f, false)).collect();
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
                Some(k) => Err(k.error.clone().unwrap_or_else(|| {
                    let details: String = k.failures().iter().map(|d| format!("\n    FAILED {d}")).collect();
                    format!("{} failed{details}", k.count(Status::Fail))
                })),
                None => Err("not run".into()),
            },
        );
    }
    // From here on `arm64-rust` (a cross build from scratch in an empty
    // cache: 11 minutes on both cores) is built in its own work tree at the
    // lowest priority, beside the rest: the x86 faults relink one core at a
    // time (ld, objtool, kallsyms), and their boots wait on QEMU. Its KUnit
    // run comes after the faults and finds it built.
    std::thread::scope(|scope| {
        let arm64_build = scope.spawn(|| crate::arm64::prebuild(lab, Variant::Rust, s1.tip()));
        let r = x86_steps(lab, t, &s1, &rows);
        // A failed prebuild is built again, and its error reported, by the run.
        let _ = arm64_build.join();
        r?;
        arm64_checks(lab, t, &s1)
    })?;
    let rd = crate::style::rustdoc(lab)?;
    t.check("style: make rustdoc without warnings", if rd.is_empty() { Ok(()) } else { Err(rd.join("; ")) });
    let hd = crate::style::htmldocs(lab)?;
    t.check(
        &format!("style: make htmldocs of {} without warnings in the series' pages", crate::style::DOC_DIRS),
        if hd.is_empty() { Ok(()) } else { Err(hd.join("; ")) },
    );
    // Last: CLIPPY=1 rebuilds the entry objects (the next build restores them).
    let cl = crate::style::clippy(lab)?;
    t.check("style: clippy (CLIPPY=1) on the entry code", if cl.is_empty() { Ok(()) } else { Err(cl.join("; ")) });
    Ok(())
}

/// The x86 checks after the builds: compile-fail cases, the noinstr check,
/// KUnit compared, boots, style, and the x86 faults.
fn x86_steps(lab: &Lab, t: &mut Tally, s1: &crate::series::Series, rows: &[Row]) -> Result<()> {
    compile_fail_checks(lab, t);
    noinstr_checks(lab, t);
    if let [a, b] = rows {
        let d = report::kunit_diff(a, b);
        t.check("c and rust: identical KUnit results", if d.is_empty() { Ok(()) } else { Err(d.join("; ")) });
    }
    let rust = Flavor { variant: Variant::Rust, debug: false };
    t.check(
        "kunit --print-command: the printed kunit.py command runs KUnit in the lab's rust build folder",
        from(printed_kunit_command(lab, rust)),
    );
    t.check(
        "lab: a .config changed outside the lab (CONFIG_RUST dropped) is written again; rust still builds",
        from(config_owned(lab, rust)),
    );
    // The project's own guest programs, 20 s of workload: shorter than
    // the main job's matrix to keep CI well inside its limit.
    let pair = report::boot_pair(lab, &TEST, rows, 4, false);
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
    t.check("c and rust: boots compared", if pair.errors.is_empty() { Ok(()) } else { Err(pair.errors.join("; ")) });
    let d = real_differences(&pair);
    t.check(
        "c and rust: identical results of every guest test (differences rerun; flaky ones listed)",
        if d.is_empty() {
            for f in pair.flaky() {
                println!("  flaky (varies on c too): {}", f.test);
            }
            Ok(())
        } else {
            Err(d
                .iter()
                .map(|(n, c, r)| format!("{n}: c={} rust={}", word(*c), word(*r)))
                .collect::<Vec<_>>()
                .join("; "))
        },
    );
    // 10-15 s: one short boot of each plain variant (bench.rs).
    t.check("bench: the benchmark runs on c and rust (smoke)", from(crate::bench::smoke(lab)).map(|_| ()));
    let fmt = crate::style::rustfmt(lab)?;
    t.check(
        "style: rustfmt (kernel .rustfmt.toml) on the series' Rust files",
        if fmt.is_empty() { Ok(()) } else { Err(fmt.join(", ")) },
    );
    let guard = crate::style::selftest_arch_guard(lab)?;
    t.check(
        "selftests/entry: built for x86_64 and arm64 only (make -n with ARCH=riscv builds nothing)",
        if guard.is_empty() { Ok(()) } else { Err(guard.join("; ")) },
    );
    let cp = crate::style::checkpatch(lab, &lab.results.join("series"))?;
    t.check("style: checkpatch.pl on every patch", if cp.is_empty() { Ok(()) } else { Err(cp.join("; ")) });
    // The tests must be able to fail: every fault in lab/faults/ must be
    // caught by the tests it names, against this run as the control.
    let mut control = Control {
        build_ok: rows.iter().find(|r| r.flavor == "rust").map(Row::built),
        kunit: rows.iter().find(|r| r.flavor == "rust").and_then(|r| r.kunit.clone()),
        ..Default::default()
    };
    if let (Some(c), Some(r)) = (&pair.c, &pair.rust) {
        if differences(&pair).is_empty() {
            control.add_boot(Variant::C, c);
            control.add_boot(Variant::Rust, r);
        }
    }
    let (debug_faults, faults): (Vec<Fault>, Vec<Fault>) =
        Fault::all(lab)?.into_iter().filter(|f| !f.arm64).partition(|f| f.debug);
    for f in &debug_faults {
        println!("  (fault {} needs the debug flavor: `./entry-lab fault {}` runs it)", f.name, f.name);
        // Not built here, but it must still apply: a fault whose context
        // went stale would only be found when someone runs it.
        t.check(
            &format!("fault {}: applies on the series (debug flavor: not built by the test job)", f.name),
            crate::series::with_extra_diff(&lab.src(), s1, &f.diff, "check").map(|_| ()).map_err(|e| format!("{e:#}")),
        );
    }
    std::thread::scope(|scope| {
        // The unpatched tree's Sphinx warnings, for the htmldocs check below
        // (1.5 min from an empty cache, in a work tree of their own), are
        // made while the faults run, whose relinks are mostly one core (ld,
        // objtool, kallsyms one after the other).
        let docs_base = scope.spawn(|| crate::style::base_doc_warnings(lab));
        control.ensure(lab, &faults)?;
        fault::run_all(lab, s1, &faults, &control, |f, r| fault_check(t, f, r));
        // An error here comes again from the htmldocs check, which names it.
        let _ = docs_base.join();
        Ok::<(), anyhow::Error>(())
    })?;
    let pairs = vec![pair];
    println!("\n{}", report::table(rows, &pairs, false));
    report::save(lab, rows, &pairs)?;
    Ok(())
}

/// The check line of one fault.
fn fault_check(t: &mut Tally, f: &Fault, r: Result<Verdict>) {
    t.check(
        &format!("fault {} ({:?}): caught by {}", f.name, f.detect, f.caught_by.join(", ")),
        match r {
            Ok(v) if v.caught() => Ok(()),
            Ok(v) => Err(v.to_string()),
            Err(e) => Err(format!("{e:#}")),
        },
    );
}

/// The rust variant on arm64 (issue 15): kunit.py --arch arm64 under QEMU on a
/// GICv3 with pseudo-NMIs, the entry functions arm64 calls from the Rust
/// object. The c variant and the comparison are `./entry-lab arm64` (a second
/// cross build would not fit the time ledger).
fn arm64_checks(lab: &Lab, t: &mut Tally, s: &crate::series::Series) -> Result<()> {
    let name = "arm64-rust: KUnit via kunit.py --arch arm64 passes (GICv3, pseudo-NMIs enabled), \
                irqentry_nmi_enter/exit, exit_to_user_mode_loop, raw_ and dynamic_irqentry_exit_cond_resched \
                from entry_rs.o, the noinstr check without objtool finds nothing";
    let run = crate::arm64::run(lab, Variant::Rust, false);
    let ok = matches!(&run, Ok(r) if r.ok());
    let kunit = run.as_ref().ok().map(|r| r.kunit.clone());
    t.check(
        name,
        match run {
            Ok(r) => r.problem().map_or(Ok(()), Err),
            Err(e) => Err(format!("{e:#}")),
        },
    );
    // The faults of the arm64 build (`# arch: arm64`), against that run.
    let mut control = Control { arm64_ok: Some(ok), arm64_kunit: kunit, ..Default::default() };
    let faults: Vec<Fault> = Fault::all(lab)?.into_iter().filter(|f| f.arm64).collect();
    control.ensure(lab, &faults)?;
    for f in &faults {
        t.check(
            &format!("fault {} (arm64, {:?}): caught by {}", f.name, f.detect, f.caught_by.join(", ")),
            match fault::run(lab, s, f, &control) {
                Ok(v) if v.caught() => Ok(()),
                Ok(v) => Err(v.to_string()),
                Err(e) => Err(format!("{e:#}")),
            },
        );
    }
    Ok(())
}

/// The compile-fail tests of the typed entry rules, against the `kernel`
/// crate the rows just built (before any fault rebuilds `rust`).
fn compile_fail_checks(lab: &Lab, t: &mut Tally) {
    let rust = Flavor { variant: Variant::Rust, debug: false };
    match crate::compile_fail::run(&lab.repo, &lab.build_dir(rust), &lab.cache.join("compile-fail")) {
        Ok(results) => {
            for (c, v) in results {
                t.check(
                    &format!("compile-fail: {}: stops with {} only, its twin compiles ({})", c.name, c.expect, c.rule),
                    v,
                );
            }
        }
        Err(e) => t.check("compile-fail: the cases of lab/compile-fail/", Err(format!("{e:#}"))),
    }
}

/// The noinstr check without objtool (`scripts/rust_noinstr_check.py`, about
/// 10 s): its unit tests, the Rust entry objects of the `rust` build (the
/// kernel build ran it too), and every noinstr object of the `c` build,
/// where objtool found nothing, so the check must find nothing either.
fn noinstr_checks(lab: &Lab, t: &mut Tally) {
    use crate::noinstr_check as nc;
    let src = lab.src();
    match nc::unit_tests(&src) {
        Ok(n) => t.check(&format!("noinstr check: {n} unit tests ({})", nc::TESTS), Ok(())),
        Err(e) => t.check(&format!("noinstr check: unit tests ({})", nc::TESTS), Err(format!("{e:#}"))),
    }
    let rust = lab.build_dir(Flavor { variant: Variant::Rust, debug: false });
    let objects: Vec<PathBuf> = nc::RUST_OBJECTS.iter().map(PathBuf::from).collect();
    let r = nc::run(&src, &rust, &objects);
    let name = match &r {
        Ok(o) => format!("rust: {} passes on vmlinux.o ({} noinstr functions of entry_rs.o)", nc::SCRIPT, o.checked),
        Err(_) => format!("rust: {} passes on vmlinux.o", nc::SCRIPT),
    };
    t.check(
        &name,
        match r {
            Ok(o) if o.checked == 0 => Err("no noinstr function found in entry_rs.o".into()),
            Ok(o) if o.findings.is_empty() => Ok(()),
            Ok(o) => Err(o.findings.join("; ")),
            Err(e) => Err(format!("{e:#}")),
        },
    );
    let c = lab.build_dir(Flavor { variant: Variant::C, debug: false });
    let objects = nc::noinstr_objects(&c);
    let r = nc::run(&src, &c, &objects);
    let name = match &r {
        Ok(o) => format!(
            "c: {} agrees with objtool on the C noinstr code (no finding in {} functions of {} objects)",
            nc::SCRIPT,
            o.checked,
            objects.len()
        ),
        Err(_) => format!("c: {} agrees with objtool on the C noinstr code", nc::SCRIPT),
    };
    t.check(
        &name,
        match r {
            Ok(o) if o.checked < 50 => Err(format!("only {} noinstr functions found", o.checked)),
            Ok(o) if o.findings.is_empty() => Ok(()),
            Ok(o) => Err(o.findings.join("; ")),
            Err(e) => Err(format!("{e:#}")),
        },
    );
}

/// The drift check of the mirrored C code (`scripts/rust_entry_mirror.py`,
/// about a second): on the assembled tree, its unit tests, and edited copies
/// of the C files, whose failure messages are shown.
fn mirror_checks(lab: &Lab, t: &mut Tally) {
    let src = lab.src();
    t.check(
        "mirror: scripts/rust_entry_mirror.py passes on the assembled tree (entry_rs.rs against common.c, irq-entry-common.h, hardirq.h)",
        from(crate::mirror::check_tree(&src)),
    );
    match crate::mirror::unit_tests(&src) {
        Ok(n) => {
            t.check(&format!("mirror: {n} unit tests of the drift check (scripts/rust_entry_mirror_test.py)"), Ok(()))
        }
        Err(e) => {
            t.check("mirror: unit tests of the drift check (scripts/rust_entry_mirror_test.py)", Err(format!("{e:#}")))
        }
    }
    let name = "mirror: the drift check fails naming the C line on an edited line, two swapped lines and an added statement, and passes a comment-only edit";
    match crate::mirror::demonstrate(&src, &crate::mirror::scratch(&lab.cache)) {
        Ok(lines) => {
            t.check(name, Ok(()));
            for l in lines {
                println!("  {l}");
            }
        }
        Err(e) => t.check(name, Err(format!("{e:#}"))),
    }
}

/// Runs what `entry-lab kunit rust --print-command` prints, in a shell, and
/// checks its KTAP.
fn printed_kunit_command(lab: &Lab, f: Flavor) -> Result<()> {
    let line = kunit::print_command(lab, f)?;
    let log = lab.results.join("logs/kunit-printed-command.log");
    let _ = std::fs::remove_file(&log);
    say("test", &format!("running the printed kunit.py command (log: {})", log.display()));
    let _lock = crate::util::machine_lock("test")?;
    let ok = crate::util::run_logged(Command::new("sh").args(["-c", &line]), &log, |_| {})?;
    let text = read(&log)?;
    let (cases, _, complete) = kunit::parse_ktap(&text);
    let failed = cases.iter().filter(|c| c.status == Status::Fail).count();
    if !ok || !complete || cases.is_empty() || failed > 0 {
        let details = kunit::failure_details(&text, 6);
        anyhow::bail!(
            "kunit.py: exit ok={ok}, {} cases, {failed} failed, complete={complete} (log: {}){}",
            cases.len(),
            log.display(),
            details.iter().map(|d| format!("\n    FAILED {d}")).collect::<String>()
        );
    }
    Ok(())
}

/// Drops CONFIG_RUST from the build folder's .config, as kunit.py with a
/// wrong bindgen did, then builds through the lab: it must notice, write
/// .config again and build.
fn config_owned(lab: &Lab, f: Flavor) -> Result<()> {
    let dotconfig = lab.build_dir(f).join(".config");
    let text = read(&dotconfig)?;
    let broken = text.replace("CONFIG_RUST=y\n", "# CONFIG_RUST is not set\n");
    anyhow::ensure!(broken != text, "{} has no CONFIG_RUST=y to drop", dotconfig.display());
    crate::util::write(&dotconfig, broken)?;
    let b = build::build(lab, f, false)?;
    if let Some(e) = b.error {
        anyhow::bail!("{e}");
    }
    anyhow::ensure!(read(&dotconfig)?.contains("\nCONFIG_RUST=y\n"), "CONFIG_RUST=y is still missing");
    Ok(())
}
