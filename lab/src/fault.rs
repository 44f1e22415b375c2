//! Deliberate faults (`lab/faults/NAME.diff`) and the contract that says
//! when one is caught.
//!
//! A fault's header names how it is detected and which tests must catch it:
//!
//! ```text
//! # detect: build | kunit | boot
//! # arch: arm64                  (optional; x86_64 when absent)
//! # caught-by: generic_entry.irqentry_nmi_pair_and_nesting
//! # caught-by: entry_test: signal_on_irq_return
//! # Free text: what it breaks.
//! --- a/kernel/entry/entry_rs.rs
//! ```
//!
//! `caught-by` names a KUnit case (`suite.case`) for `kunit`, a guest test
//! as the report names it (`program` or `program: test`, any group) for
//! `boot`, and for `build` a piece of the compiler, linker or objtool
//! message the build must stop with. A fault is caught only when
//! - the run with the fault completed (a crash, a hang or a KUnit run cut
//!   short is reported as such, never as a catch),
//! - every named test failed (or the build stopped with every named
//!   message), and
//! - the same tests passed without the fault in the [`Control`] (the
//!   unfaulted `rust` build, its KUnit run and boots of `c` and `rust`),
//!   which is shared by all faults of a run.
//!
//! Faults touch only the `rust` variant: the fault is an extra commit on
//! top of the series, `rust` is rebuilt incrementally, and a boot fault
//! boots just the programs of its named tests. A fault with `# arch: arm64`
//! is a fault of the `arm64-rust` build instead (`crate::arm64`): a `build`
//! fault, whose control is that build passing with the noinstr check, or a
//! `kunit` fault, whose control is that build's `kunit.py run`.

use crate::boot::{self, BootOpts, BootResult};
use crate::build;
use crate::guest::{self, Outcome};
use crate::kunit::{self, KunitResult, Status};
use crate::lab::{Flavor, Lab, Target, Variant};
use crate::series::{self, Series};
use crate::util::{bail, read, say, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// How a fault is detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Detect {
    /// The build must stop with the named messages.
    Build,
    /// The named KUnit cases must fail.
    Kunit,
    /// The named guest tests must fail on a boot of the faulty `rust`.
    Boot,
}

impl std::str::FromStr for Detect {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Detect, String> {
        match s {
            "build" => Ok(Detect::Build),
            "kunit" => Ok(Detect::Kunit),
            "boot" => Ok(Detect::Boot),
            o => Err(format!("unknown `# detect: {o}` (use build, kunit or boot)")),
        }
    }
}

/// One deliberate fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub name: String,
    pub detect: Detect,
    /// The tests (or build messages) that must catch it.
    pub caught_by: Vec<String>,
    pub diff: PathBuf,
    /// Needs the debug flavor (`# flavor: debug`).
    pub debug: bool,
    /// Built for arm64 (`# arch: arm64`): a build or KUnit fault of `arm64-rust`.
    pub arm64: bool,
}

impl Fault {
    /// Parses the header of a fault's diff (the `#` lines before it).
    pub fn parse(name: &str, diff: PathBuf, text: &str) -> std::result::Result<Fault, String> {
        let mut detect = None;
        let mut caught_by = vec![];
        let mut debug = false;
        let mut arm64 = false;
        for l in text.lines().take_while(|l| !l.starts_with("--- ") && !l.starts_with("diff ")) {
            if let Some(d) = l.strip_prefix("# detect:") {
                detect = Some(d.trim().parse::<Detect>()?);
            } else if let Some(f) = l.strip_prefix("# flavor:") {
                debug = match f.trim() {
                    "debug" => true,
                    "plain" => false,
                    o => return Err(format!("unknown `# flavor: {o}` (use plain or debug)")),
                };
            } else if let Some(a) = l.strip_prefix("# arch:") {
                arm64 = match a.trim() {
                    "arm64" => true,
                    "x86_64" => false,
                    o => return Err(format!("unknown `# arch: {o}` (use x86_64 or arm64)")),
                };
            } else if let Some(t) = l.strip_prefix("# caught-by:") {
                let t = t.trim();
                if t.is_empty() {
                    return Err("an empty `# caught-by:` line".into());
                }
                caught_by.push(t.to_string());
            }
        }
        let detect = detect.ok_or("no `# detect: build|kunit|boot` line before the diff")?;
        if caught_by.is_empty() {
            return Err("no `# caught-by: TEST` line: name the tests that must catch it".into());
        }
        if debug && detect != Detect::Kunit {
            return Err("`# flavor: debug` is for `# detect: kunit` faults".into());
        }
        if arm64 && (detect == Detect::Boot || debug) {
            return Err("`# arch: arm64` faults are `build` or `kunit` faults of the plain flavor".into());
        }
        Ok(Fault { name: name.into(), detect, caught_by, diff, debug, arm64 })
    }

    pub fn load(lab: &Lab, name: &str) -> Result<Fault> {
        let diff = faults_dir(lab).join(format!("{name}.diff"));
        if !diff.is_file() {
            bail!("no fault `{name}`: the faults are {}", names(lab)?.join(", "));
        }
        Fault::parse(name, diff.clone(), &read(&diff)?).map_err(|e| anyhow::anyhow!("{}: {e}", diff.display()))
    }

    /// Every fault of lab/faults/, by name.
    pub fn all(lab: &Lab) -> Result<Vec<Fault>> {
        names(lab)?.iter().map(|n| Fault::load(lab, n)).collect()
    }

    /// The guest programs a boot fault needs.
    pub fn programs(&self) -> BTreeSet<String> {
        self.caught_by.iter().map(|t| guest::program_of(t).to_string()).collect()
    }

    /// The arguments that make the entry kselftest run only the tests this
    /// fault names (`-t NAME` each): a fault's boot then spends its time on
    /// what judges it. None when it names none of them.
    pub fn entry_test_args(&self) -> Option<Vec<String>> {
        let tests: Vec<&str> = self
            .caught_by
            .iter()
            .filter_map(|t| t.strip_prefix(ENTRY_TEST).and_then(|r| r.strip_prefix(": ")))
            .collect();
        (!tests.is_empty()).then(|| tests.iter().flat_map(|t| ["-t".to_string(), t.to_string()]).collect())
    }
}

/// The entry kselftest's program name in the guest.
const ENTRY_TEST: &str = "entry_test";

fn faults_dir(lab: &Lab) -> PathBuf {
    lab.repo.join("lab/faults")
}

/// Names of the faults in lab/faults/ (sorted).
pub fn names(lab: &Lab) -> Result<Vec<String>> {
    let dir = faults_dir(lab);
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".diff").map(String::from))
        .collect();
    v.sort();
    Ok(v)
}

/// What the unfaulted tree gave: the reference every fault is judged
/// against. Filled from the job's own runs where it has them, and by
/// [`Control::ensure`] for what a fault needs beyond them.
#[derive(Default, Debug)]
pub struct Control {
    /// The unfaulted `rust` build succeeded.
    pub build_ok: Option<bool>,
    /// The unfaulted `arm64-rust` build succeeded and its noinstr check
    /// found nothing (for `# arch: arm64` faults).
    pub arm64_ok: Option<bool>,
    /// KUnit on the unfaulted `rust`.
    pub kunit: Option<KunitResult>,
    /// KUnit on the unfaulted `arm64-rust` (for `# arch: arm64` KUnit faults).
    pub arm64_kunit: Option<KunitResult>,
    /// KUnit on the unfaulted `rust-debug` (for `# flavor: debug` faults).
    pub kunit_debug: Option<KunitResult>,
    /// Guest test results of the unfaulted boots, per variant.
    pub boots: BTreeMap<Variant, BTreeMap<String, Outcome>>,
    /// Programs the control boots ran.
    pub programs: BTreeSet<String>,
}

impl Control {
    /// Takes a completed boot of the unfaulted kernel as control.
    pub fn add_boot(&mut self, v: Variant, b: &BootResult) {
        if b.outcome != crate::qemu::Outcome::Completed {
            return;
        }
        self.programs.extend(b.programs.keys().cloned());
        self.boots.entry(v).or_default().extend(b.tests.iter().map(|(k, o)| (k.clone(), *o)));
    }

    /// Runs what the faults need and the control does not have yet, on the
    /// unfaulted series (the work tree must hold it).
    pub fn ensure(&mut self, lab: &Lab, faults: &[Fault]) -> Result<()> {
        let rust = Flavor { variant: Variant::Rust, debug: false };
        let arm64_kunit = faults.iter().any(|f| f.arm64 && f.detect == Detect::Kunit);
        if (self.arm64_ok.is_none() && faults.iter().any(|f| f.arm64)) || (arm64_kunit && self.arm64_kunit.is_none()) {
            let r = crate::arm64::fault_control(lab)?;
            self.arm64_ok = Some(r.ok());
            self.arm64_kunit = Some(r.kunit);
        }
        if faults.iter().all(|f| f.arm64) {
            return Ok(());
        }
        if self.build_ok != Some(true) {
            let b = build::build(lab, rust, true)?;
            self.build_ok = Some(b.error.is_none());
        }
        if self.kunit.is_none() && faults.iter().any(|f| f.detect == Detect::Kunit && !f.debug) {
            // kunit.py exec boots what is built: make sure it is the unfaulted tree.
            build::build(lab, rust, true)?;
            self.kunit = Some(kunit::run_built(lab, rust, true)?);
        }
        if self.kunit_debug.is_none() && faults.iter().any(|f| f.debug) {
            let debug = Flavor { variant: Variant::Rust, debug: true };
            build::build(lab, debug, true)?;
            self.kunit_debug = Some(kunit::run_built(lab, debug, true)?);
        }
        let missing: BTreeSet<String> = faults
            .iter()
            .filter(|f| f.detect == Detect::Boot)
            .flat_map(Fault::programs)
            .filter(|p| !self.programs.contains(p))
            .collect();
        if !missing.is_empty() {
            let only: Vec<String> = missing.into_iter().collect();
            say("fault", &format!("control boots (c and unfaulted rust) of {}", only.join(", ")));
            for variant in Variant::ALL {
                let f = Flavor { variant, debug: false };
                if variant == Variant::C {
                    build::build(lab, f, true)?;
                }
                let b = boot::boot(lab, f, &opts("fault-control", only.clone()), true)?;
                self.add_boot(variant, &b);
            }
        }
        Ok(())
    }
}

/// The boot of a fault (`config`: its name) and of the control:
/// `preempt=full`, -smp 4, the test job's workload length, just the named
/// programs. The log is `results/logs/boot-<flavor>-<config>.log`.
fn opts(config: &str, only: Vec<String>) -> BootOpts {
    boot::TEST.opts(4).only(config, only)
}

/// What the run with the fault showed.
pub enum Observed {
    /// The build: `None` when it succeeded, else its error and objtool lines.
    Build(Option<Vec<String>>),
    Kunit(KunitResult),
    Boot(BootResult),
}

/// The judgement on one fault.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    /// Every named test failed, and passed in the control.
    Caught(Vec<String>),
    /// The run completed but did not fail as named.
    NotCaught(String),
    /// The run with the fault did not complete (crash, hang, cut short).
    Incomplete(String),
    /// The named tests do not pass without the fault: proves nothing.
    ControlFailed(String),
}

impl Verdict {
    pub fn caught(&self) -> bool {
        matches!(self, Verdict::Caught(_))
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Caught(by) => write!(f, "caught by {}", by.join(", ")),
            Verdict::NotCaught(why) => write!(f, "NOT caught: {why}"),
            Verdict::Incomplete(why) => write!(f, "NOT caught: the run with the fault did not complete: {why}"),
            Verdict::ControlFailed(why) => write!(f, "NOT caught: the control run without the fault fails too: {why}"),
        }
    }
}

/// Judges a fault from the control and what its run showed.
pub fn judge(fault: &Fault, control: &Control, seen: &Observed) -> Verdict {
    match seen {
        Observed::Build(errors) => {
            if fault.arm64 && control.arm64_ok != Some(true) {
                return Verdict::ControlFailed("the unfaulted arm64-rust build or its noinstr check failed".into());
            }
            if !fault.arm64 && control.build_ok != Some(true) {
                return Verdict::ControlFailed("the unfaulted rust build failed".into());
            }
            let Some(lines) = errors else {
                return Verdict::NotCaught("the build succeeded with the fault".into());
            };
            let missing: Vec<&String> =
                fault.caught_by.iter().filter(|m| !lines.iter().any(|l| l.contains(m.as_str()))).collect();
            if missing.is_empty() {
                Verdict::Caught(fault.caught_by.clone())
            } else {
                Verdict::NotCaught(format!(
                    "the build failed, but not with `{}` (first error: {})",
                    missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join("`, `"),
                    lines.first().map_or("none", String::as_str)
                ))
            }
        }
        Observed::Kunit(k) => {
            let ctl = if fault.arm64 {
                &control.arm64_kunit
            } else if fault.debug {
                &control.kunit_debug
            } else {
                &control.kunit
            };
            let Some(ctl) = ctl else {
                return Verdict::ControlFailed("no KUnit run without the fault".into());
            };
            let status = |r: &KunitResult, n: &str| r.cases.iter().find(|c| c.name == *n).map(|c| c.status);
            for n in &fault.caught_by {
                if status(ctl, n) != Some(Status::Pass) {
                    return Verdict::ControlFailed(format!("{n} is {:?} without the fault", status(ctl, n)));
                }
            }
            if !k.complete || k.cases.is_empty() {
                return Verdict::Incomplete(format!(
                    "the KUnit run was cut short (crash or timeout?) (log: {})",
                    k.log
                ));
            }
            judge_tests(fault, |n| match status(k, n) {
                Some(Status::Fail) => Ok(true),
                Some(Status::Pass) => Ok(false),
                Some(Status::Skip) => Err(format!("{n} was skipped")),
                None => Err(format!("{n} did not run")),
            })
        }
        Observed::Boot(b) => {
            for n in &fault.caught_by {
                for v in Variant::ALL {
                    let o = control.boots.get(&v).and_then(|m| m.get(n)).copied();
                    if o != Some(Outcome::Pass) {
                        return Verdict::ControlFailed(format!(
                            "{n} is {} on {} without the fault",
                            o.map_or("missing", Outcome::word),
                            v.name()
                        ));
                    }
                }
            }
            if b.outcome != crate::qemu::Outcome::Completed {
                return Verdict::Incomplete(format!(
                    "the boot did not finish: {} (log: {})",
                    b.error.as_deref().unwrap_or("?"),
                    b.log
                ));
            }
            judge_tests(fault, |n| match b.tests.get(n) {
                Some(Outcome::Fail) => Ok(true),
                Some(Outcome::Pass) => Ok(false),
                Some(o @ (Outcome::Timeout | Outcome::Crash)) => Err(format!("{n}: {}", o.word())),
                Some(Outcome::Skip) => Err(format!("{n} was skipped")),
                None => Err(format!("{n} did not run")),
            })
        }
    }
}

/// `failed(name)`: Ok(true) failed, Ok(false) passed, Err: did not
/// complete. Caught only when every named test failed.
fn judge_tests(fault: &Fault, failed: impl Fn(&str) -> std::result::Result<bool, String>) -> Verdict {
    let mut passed = vec![];
    for n in &fault.caught_by {
        match failed(n) {
            Ok(true) => {}
            Ok(false) => passed.push(n.clone()),
            Err(e) => return Verdict::Incomplete(e),
        }
    }
    if passed.is_empty() {
        Verdict::Caught(fault.caught_by.clone())
    } else {
        Verdict::NotCaught(format!("{} passed with the fault", passed.join(", ")))
    }
}

/// Applies a fault on top of the series, builds `rust`, runs its detector
/// and puts the work tree back to the series, whatever happened. The
/// control must already hold what the fault needs ([`Control::ensure`]).
pub fn run(lab: &Lab, s: &Series, fault: &Fault, control: &Control) -> Result<Verdict> {
    let commit = series::with_extra_diff(&lab.src(), s, &fault.diff, &format!("FAULT INJECTION: {}", fault.name))?;
    series::checkout(&lab.src(), &commit)?;
    say("fault", &format!("{} applied on top of the series ({})", fault.name, &commit[..12]));
    let seen = observe(lab, fault);
    series::checkout(&lab.src(), s.tip())?;
    let verdict = judge(fault, control, &seen?);
    println!("fault {}: {verdict}", fault.name);
    Ok(verdict)
}

/// The limit of a fault's boot (seconds). The programs a fault names finish
/// in 2-80 s; a fault that hangs the kernel is cut off here instead of at the
/// plan's limit (300 s and more).
pub const FAULT_BOOT_CAP: u64 = 150;

/// How many times a fault's boot is tried when it does not complete.
pub const FAULT_BOOT_ATTEMPTS: u32 = 2;

/// Whether a fault's boot that ended with `outcome` on attempt `attempt`
/// (from 1) is run again. A fault can hang a boot or not depending on timing
/// (`idle-irq-without-rcu` leaves RCU blind to some idle interrupts: most
/// boots finish and show the catch, one in a few hangs early), so a boot that
/// did not complete gets one more try. It never turns into a catch: the
/// verdict is taken on the last boot, which must have completed.
pub fn boot_again(outcome: &crate::qemu::Outcome, attempt: u32) -> bool {
    *outcome != crate::qemu::Outcome::Completed && attempt < FAULT_BOOT_ATTEMPTS
}

fn observe(lab: &Lab, fault: &Fault) -> Result<Observed> {
    if fault.arm64 {
        return match fault.detect {
            Detect::Kunit => Ok(Observed::Kunit(crate::arm64::fault_kunit(lab)?)),
            _ => Ok(Observed::Build(crate::arm64::fault_build(lab)?)),
        };
    }
    let rust = Flavor { variant: Variant::Rust, debug: fault.debug };
    let b = build::build(lab, rust, false)?;
    if fault.detect == Detect::Build {
        if b.error.is_none() {
            return Ok(Observed::Build(None));
        }
        let log = read(std::path::Path::new(&b.log)).unwrap_or_default();
        let mut lines: Vec<String> = build::error_lines(&log).into_iter().map(String::from).collect();
        lines.extend(b.objtool.iter().cloned());
        return Ok(Observed::Build(Some(lines)));
    }
    if !b.made() {
        bail!("the rust build with the fault failed: {}", b.error.as_deref().unwrap_or_default());
    }
    match fault.detect {
        Detect::Kunit => Ok(Observed::Kunit(kunit::run_built(lab, rust, false)?)),
        _ => boot_fault(lab, &rust.target(), fault),
    }
}

/// Boots the kernel of `t` with the programs of a boot fault, once more
/// when the boot does not complete ([`boot_again`]).
fn boot_fault(lab: &Lab, t: &Target, fault: &Fault) -> Result<Observed> {
    let config = format!("fault-{}", fault.name);
    let mut o = opts(&config, fault.programs().into_iter().collect());
    o.cap = Some(FAULT_BOOT_CAP);
    if let Some(args) = fault.entry_test_args() {
        o.args.insert(ENTRY_TEST.into(), args);
    }
    let mut attempt = 1;
    loop {
        let b = boot::boot_target(lab, t, &o, false)?;
        boot::print_boot(&b);
        if !boot_again(&b.outcome, attempt) {
            return Ok(Observed::Boot(b));
        }
        say(
            "fault",
            &format!(
                "{}: the boot did not complete ({}); booting once more",
                fault.name,
                b.error.as_deref().unwrap_or("?")
            ),
        );
        attempt += 1;
    }
}

/// Runs `faults` in order (the control must hold what they need:
/// [`Control::ensure`]) and hands each verdict to `done` as it comes. A
/// boot or KUnit fault's QEMU runs while the next fault builds: its image is
/// set aside ([`stage`]) and the boot or `kunit.py exec` runs in a thread. A
/// fault's relink is mostly one core (ld, objtool, kallsyms one after the
/// other), so QEMU takes the other: 5-15 s of each such fault. One QEMU runs
/// at a time; verdicts may come out of order.
pub fn run_all<'a>(
    lab: &Lab,
    s: &Series,
    faults: &'a [Fault],
    control: &Control,
    mut done: impl FnMut(&'a Fault, Result<Verdict>),
) {
    type Pending<'a, 's> = Option<(&'a Fault, std::thread::ScopedJoinHandle<'s, Result<Verdict>>)>;
    fn join<'a>(p: Pending<'a, '_>) -> Option<(&'a Fault, Result<Verdict>)> {
        p.map(|(f, h)| (f, h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the boot thread panicked")))))
    }
    std::thread::scope(|scope| {
        let mut pending: Pending<'a, '_> = None;
        for f in faults {
            match f.detect {
                Detect::Boot | Detect::Kunit if !f.arm64 && !f.debug => {
                    let staged = stage(lab, s, f);
                    if let Some((pf, r)) = join(pending.take()) {
                        done(pf, r);
                    }
                    match staged {
                        Ok(st) => pending = Some((f, scope.spawn(move || st.run(lab, f, control)))),
                        Err(e) => done(f, Err(e)),
                    }
                }
                _ => {
                    if f.detect != Detect::Build {
                        if let Some((pf, r)) = join(pending.take()) {
                            done(pf, r);
                        }
                    }
                    done(f, run(lab, s, f, control));
                }
            }
        }
        if let Some((pf, r)) = join(pending.take()) {
            done(pf, r);
        }
    });
}

/// A boot or KUnit fault built, its kernel image set aside in a folder of
/// its own (`build/rust-fault-NAME`), the work tree back on the series: the
/// boot or KUnit run ([`Staged::run`]) can go on while the next fault builds.
pub struct Staged {
    target: Target,
}

/// Applies a boot or KUnit fault, builds `rust` and sets its image aside.
/// The control must already hold what the fault needs ([`Control::ensure`]).
pub fn stage(lab: &Lab, s: &Series, fault: &Fault) -> Result<Staged> {
    let commit = series::with_extra_diff(&lab.src(), s, &fault.diff, &format!("FAULT INJECTION: {}", fault.name))?;
    series::checkout(&lab.src(), &commit)?;
    say("fault", &format!("{} applied on top of the series ({})", fault.name, &commit[..12]));
    let rust = Flavor { variant: Variant::Rust, debug: false };
    let built = build::build(lab, rust, false);
    series::checkout(&lab.src(), s.tip())?;
    let b = built?;
    if !b.made() {
        bail!("the rust build with the fault failed: {}", b.error.as_deref().unwrap_or_default());
    }
    let target = Target { name: format!("rust-fault-{}", fault.name), seed: None, ..rust.target() };
    let image = build::target_image(lab, &target);
    let _ = std::fs::remove_dir_all(lab.target_dir(&target));
    std::fs::create_dir_all(image.parent().unwrap_or(&lab.cache))?;
    std::fs::copy(build::kernel_image(lab, rust), &image).context("setting the fault's kernel image aside")?;
    Ok(Staged { target })
}

impl Staged {
    /// Boots the set-aside image (or runs KUnit on it) and judges the fault;
    /// the image's folder goes away afterwards.
    pub fn run(self, lab: &Lab, fault: &Fault, control: &Control) -> Result<Verdict> {
        let seen = match fault.detect {
            Detect::Kunit => {
                kunit::exec_image_in(lab, &self.target.name, &lab.target_dir(&self.target)).map(Observed::Kunit)
            }
            _ => boot_fault(lab, &self.target, fault),
        };
        let _ = std::fs::remove_dir_all(lab.target_dir(&self.target));
        let verdict = judge(fault, control, &seen?);
        println!("fault {}: {verdict}", fault.name);
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kunit::Case;

    fn fault(detect: Detect, by: &[&str]) -> Fault {
        Fault {
            name: "f".into(),
            detect,
            caught_by: by.iter().map(|s| s.to_string()).collect(),
            diff: "f.diff".into(),
            debug: false,
            arm64: false,
        }
    }

    fn kunit(cases: &[(&str, Status)], complete: bool) -> KunitResult {
        KunitResult {
            cases: cases.iter().map(|(n, s)| Case { name: n.to_string(), status: *s }).collect(),
            complete,
            ..Default::default()
        }
    }

    fn booted(tests: &[(&str, Outcome)], outcome: crate::qemu::Outcome) -> BootResult {
        let mut b = crate::boot::tests::booted("rust", tests);
        b.outcome = outcome;
        b
    }

    fn boot_control(tests: &[(&str, Outcome)]) -> Control {
        let mut c = Control::default();
        for v in Variant::ALL {
            c.add_boot(v, &booted(tests, crate::qemu::Outcome::Completed));
        }
        c
    }

    #[test]
    fn a_boot_fault_runs_only_the_entry_tests_it_names() {
        let f = fault(Detect::Boot, &["entry_test: seccomp_kill", "entry_test", "entry_test: sud_off", "entry_probe"]);
        assert_eq!(f.entry_test_args(), Some(["-t", "seccomp_kill", "-t", "sud_off"].map(String::from).to_vec()));
        assert_eq!(fault(Detect::Boot, &["entry_test", "entry_probe: preempt"]).entry_test_args(), None);
    }

    #[test]
    fn a_boot_that_did_not_complete_is_tried_once_more() {
        use crate::qemu::Outcome as O;
        assert!(!boot_again(&O::Completed, 1));
        assert!(boot_again(&O::TimedOut(150), 1));
        assert!(boot_again(&O::Panicked("x".into()), 1));
        assert!(!boot_again(&O::TimedOut(150), 2));
        assert!(!boot_again(&O::Completed, 2));
    }

    #[test]
    fn headers_are_parsed_and_checked() {
        let f = Fault::parse(
            "x",
            "x.diff".into(),
            "# detect: boot\n# caught-by: entry_test: a\n# caught-by: entry_test\n# why\n--- a/f\n# caught-by: no\n",
        )
        .unwrap();
        assert_eq!(f.detect, Detect::Boot);
        assert_eq!(f.caught_by, ["entry_test: a", "entry_test"]);
        assert_eq!(f.programs().into_iter().collect::<Vec<_>>(), ["entry_test"]);
        let e = Fault::parse("x", "x".into(), "# caught-by: t\n--- a/f\n").unwrap_err();
        assert!(e.contains("no `# detect"), "{e}");
        let e = Fault::parse("x", "x".into(), "# detect: kunit\n--- a/f\n").unwrap_err();
        assert!(e.contains("no `# caught-by"), "{e}");
        let d = Fault::parse("x", "x".into(), "# detect: kunit\n# flavor: debug\n# caught-by: s.a\n").unwrap();
        assert!(d.debug);
        let e = Fault::parse("x", "x".into(), "# detect: boot\n# flavor: debug\n# caught-by: t\n").unwrap_err();
        assert!(e.contains("for `# detect: kunit`"), "{e}");
        let a = Fault::parse("x", "x".into(), "# detect: build\n# arch: arm64\n# caught-by: m\n").unwrap();
        assert!(a.arm64 && !a.debug);
        let e = Fault::parse("x", "x".into(), "# detect: boot\n# arch: arm64\n# caught-by: t\n").unwrap_err();
        assert!(e.contains("`# arch: arm64` faults are `build` or `kunit` faults"), "{e}");
        let k = Fault::parse("x", "x".into(), "# detect: kunit\n# arch: arm64\n# caught-by: s.c\n").unwrap();
        assert!(k.arm64 && k.detect == Detect::Kunit);
        let e = Fault::parse("x", "x".into(), "# detect: build\n# arch: riscv\n# caught-by: t\n").unwrap_err();
        assert!(e.contains("unknown `# arch: riscv`"), "{e}");
        let e = Fault::parse("x", "x".into(), "# detect: luck\n# caught-by: t\n").unwrap_err();
        assert!(e.contains("unknown `# detect: luck`"), "{e}");
    }

    #[test]
    fn a_no_op_fault_is_not_caught() {
        // The fault changes nothing: its run gives what the control gave.
        let mut ctl = Control { kunit: Some(kunit(&[("s.a", Status::Pass)], true)), ..Default::default() };
        let f = fault(Detect::Kunit, &["s.a"]);
        let v = judge(&f, &ctl, &Observed::Kunit(kunit(&[("s.a", Status::Pass)], true)));
        assert_eq!(v, Verdict::NotCaught("s.a passed with the fault".into()));
        ctl = boot_control(&[("entry_test: a", Outcome::Pass)]);
        let f = fault(Detect::Boot, &["entry_test: a"]);
        let same = booted(&[("entry_test: a", Outcome::Pass)], crate::qemu::Outcome::Completed);
        assert!(!judge(&f, &ctl, &Observed::Boot(same)).caught());
        ctl.build_ok = Some(true);
        let f = fault(Detect::Build, &["offset of task_struct"]);
        assert!(!judge(&f, &ctl, &Observed::Build(None)).caught());
    }

    #[test]
    fn only_the_named_tests_catch_a_fault() {
        let ctl =
            Control { kunit: Some(kunit(&[("s.a", Status::Pass), ("s.b", Status::Pass)], true)), ..Default::default() };
        let f = fault(Detect::Kunit, &["s.a"]);
        // Another case failing is not a catch.
        let other = kunit(&[("s.a", Status::Pass), ("s.b", Status::Fail)], true);
        assert!(!judge(&f, &ctl, &Observed::Kunit(other)).caught());
        let named = kunit(&[("s.a", Status::Fail), ("s.b", Status::Pass)], true);
        assert_eq!(judge(&f, &ctl, &Observed::Kunit(named)), Verdict::Caught(vec!["s.a".into()]));
    }

    #[test]
    fn a_crash_or_hang_is_not_a_catch() {
        let ctl = Control { kunit: Some(kunit(&[("s.a", Status::Pass)], true)), ..Default::default() };
        let f = fault(Detect::Kunit, &["s.a"]);
        let cut = kunit(&[("s.a", Status::Fail)], false);
        assert!(matches!(judge(&f, &ctl, &Observed::Kunit(cut)), Verdict::Incomplete(_)));
        let ctl = boot_control(&[("entry_test: a", Outcome::Pass)]);
        let f = fault(Detect::Boot, &["entry_test: a"]);
        let panicked = booted(&[("entry_test: a", Outcome::Fail)], crate::qemu::Outcome::Panicked("x".into()));
        assert!(matches!(judge(&f, &ctl, &Observed::Boot(panicked)), Verdict::Incomplete(_)));
        let timeout = booted(&[("entry_test: a", Outcome::Timeout)], crate::qemu::Outcome::Completed);
        assert!(matches!(judge(&f, &ctl, &Observed::Boot(timeout)), Verdict::Incomplete(_)));
        let failed = booted(&[("entry_test: a", Outcome::Fail)], crate::qemu::Outcome::Completed);
        assert!(judge(&f, &ctl, &Observed::Boot(failed)).caught());
    }

    #[test]
    fn a_test_that_fails_without_the_fault_proves_nothing() {
        let ctl = boot_control(&[("entry_test: a", Outcome::Fail)]);
        let f = fault(Detect::Boot, &["entry_test: a"]);
        let failed = booted(&[("entry_test: a", Outcome::Fail)], crate::qemu::Outcome::Completed);
        assert!(matches!(judge(&f, &ctl, &Observed::Boot(failed)), Verdict::ControlFailed(_)));
    }

    #[test]
    fn an_arm64_kunit_fault_is_judged_against_the_arm64_run() {
        let n = "entry_rust_vs_c.exit_loop_notify_resume_same_as_c";
        let mut f = fault(Detect::Kunit, &[n]);
        f.arm64 = true;
        let failed = Observed::Kunit(kunit(&[(n, Status::Fail)], true));
        // The x86 run passing the case is no control for an arm64 fault.
        let x86 = Control { kunit: Some(kunit(&[(n, Status::Pass)], true)), ..Default::default() };
        assert!(matches!(judge(&f, &x86, &failed), Verdict::ControlFailed(_)));
        let arm64 = Control { arm64_kunit: Some(kunit(&[(n, Status::Pass)], true)), ..Default::default() };
        assert!(judge(&f, &arm64, &failed).caught());
    }

    #[test]
    fn a_build_fault_needs_its_message() {
        let ctl = Control { build_ok: Some(true), ..Default::default() };
        let f = fault(Detect::Build, &["leaves .noinstr.text section"]);
        let other = Observed::Build(Some(vec!["error[E0425]: cannot find function `x`".into()]));
        assert!(matches!(judge(&f, &ctl, &other), Verdict::NotCaught(_)));
        let objtool = Observed::Build(Some(vec![
            "vmlinux.o: warning: objtool: irqentry_exit+0x8: call to f() leaves .noinstr.text section".into(),
        ]));
        assert!(judge(&f, &ctl, &objtool).caught());
    }
}
