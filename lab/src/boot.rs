//! Booting a built flavor in QEMU with the lab's initramfs: the options of
//! one boot, the configurations of the boot matrix, and the result of a
//! boot (programs, KTAP tests, splats) as the reports read it.

use crate::build;
use crate::guest::{self, Group};
use crate::lab::{Flavor, Lab, Target};
use crate::memo::{age, file_hash, Memo};
use crate::qemu::{self, Outcome, RunSpec};
use crate::util::{fmt_dur, say, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one boot runs.
pub struct BootOpts {
    /// Name of the configuration in the matrix (part of the log name).
    pub config: String,
    pub seconds: u64,
    pub smp: u32,
    pub append: String,
    /// Program groups to run (all when empty).
    pub groups: Vec<Group>,
    /// Only these programs (by name), whatever their group (all when
    /// empty): reruns and fault boots run just the programs they need.
    pub only: Vec<String>,
    /// A shorter limit for the whole boot than the plan's (seconds): a
    /// mutant that hangs the kernel is judged without waiting out every
    /// program's own limit.
    pub cap: Option<u64>,
    /// Extra arguments of a program (by name), as /init gets them from
    /// `entrylab.args.NAME=a,b` on the command line: a fault's boot runs
    /// only the entry kselftest's tests it names (`-t NAME`).
    pub args: BTreeMap<String, Vec<String>>,
}

impl BootOpts {
    /// A manual boot (`entry-lab boot`): every group, 60 s of workload.
    pub fn manual(seconds: Option<u64>, smp: Option<u32>, append: Option<String>) -> BootOpts {
        BootOpts {
            config: "manual".into(),
            seconds: seconds.unwrap_or(60),
            smp: smp.unwrap_or(4),
            append: append.unwrap_or_default(),
            groups: vec![],
            only: vec![],
            cap: None,
            args: BTreeMap::new(),
        }
    }

    /// Does this boot run program `p`?
    pub fn selects(&self, p: &guest::Program) -> bool {
        // No groups named: what /init runs, every group of the plan (the
        // benchmark is not in it).
        let group = if self.groups.is_empty() { Group::ALL.contains(&p.group) } else { self.groups.contains(&p.group) };
        group && (self.only.is_empty() || self.only.contains(&p.name))
    }

    /// The same boot restricted to some programs, under another log name.
    pub fn only(&self, config: &str, programs: Vec<String>) -> BootOpts {
        BootOpts {
            config: config.into(),
            seconds: self.seconds,
            smp: self.smp,
            append: self.append.clone(),
            groups: self.groups.clone(),
            only: programs,
            cap: self.cap,
            args: self.args.clone(),
        }
    }
}

/// One configuration of the boot matrix: a kernel (plain or debug) and a
/// command line. Both variants boot each one.
pub struct Config {
    pub name: &'static str,
    pub debug: bool,
    pub append: &'static str,
    pub groups: &'static [Group],
    pub seconds: u64,
}

/// The boot matrix of the main job. `preempt=` sets the preemption model
/// (x86 has ARCH_HAS_PREEMPT_LAZY, so 7.3 only offers `full` and `lazy`:
/// `none` and `voluntary` are refused and would boot as `full`);
/// `nohz_full=` turns on context tracking on user transitions
/// (CONFIG_NO_HZ_FULL is in base.config).
pub const MATRIX: &[Config] = &[
    Config { name: "full", debug: false, append: "preempt=full", groups: &Group::ALL, seconds: 20 },
    Config { name: "lazy", debug: false, append: "preempt=lazy", groups: &Group::ALL, seconds: 10 },
    Config { name: "nohz_full", debug: false, append: "preempt=full nohz_full=1-3", groups: &Group::OWN, seconds: 10 },
    Config { name: "debug", debug: true, append: "preempt=full", groups: &Group::OWN, seconds: 10 },
];

/// The test job's boot: the project's own programs, 20 s of workload.
pub const TEST: Config =
    Config { name: "test", debug: false, append: "preempt=full", groups: &Group::OWN, seconds: 20 };

impl Config {
    pub fn opts(&self, smp: u32) -> BootOpts {
        BootOpts {
            config: self.name.into(),
            seconds: self.seconds,
            smp,
            append: self.append.into(),
            groups: self.groups.to_vec(),
            only: vec![],
            cap: None,
            args: BTreeMap::new(),
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
    let kernel = build::kernel_image(lab, f);
    if !kernel.exists() {
        anyhow::bail!(
            "{}: no kernel at {}; run `./entry-lab build {}` first",
            f.name(),
            kernel.display(),
            f.variant.name()
        );
    }
    boot_target(lab, &f.target(), o, reuse)
}

/// [`boot`] for any target.
pub fn boot_target(lab: &Lab, t: &Target, o: &BootOpts, reuse: bool) -> Result<BootResult> {
    let name = t.name.clone();
    let kernel = build::target_image(lab, t);
    if !kernel.exists() {
        anyhow::bail!("{name}: no kernel at {}", kernel.display());
    }
    if crate::util::which("qemu-system-x86_64").is_none() {
        anyhow::bail!("missing tool `qemu-system-x86_64`: run `./entry-lab setup`");
    }
    let programs = guest::programs(lab)?;
    let initrd = qemu::initramfs(lab)?;
    let accel = qemu::accel(lab, &kernel)?;
    // "c-debug" booted with the "debug" configuration is just "c-debug".
    let tag = if name.ends_with(&format!("-{}", o.config)) { name.to_string() } else { format!("{name}-{}", o.config) };
    let log = lab.results.join("logs").join(format!("boot-{tag}.log"));
    let mut cmdline = format!("console=ttyS0 panic=-1 kunit.enable=0 entrylab.seconds={}", o.seconds);
    if !o.groups.is_empty() {
        let g: Vec<&str> = o.groups.iter().map(|g| g.name()).collect();
        cmdline.push_str(&format!(" entrylab.groups={}", g.join(",")));
    }
    if !o.only.is_empty() {
        cmdline.push_str(&format!(" entrylab.only={}", o.only.join(",")));
    }
    for (program, args) in &o.args {
        cmdline.push_str(&format!(" entrylab.args.{program}={}", args.join(",")));
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
    let selected = |p: &&guest::Program| o.selects(p);
    let budget: u64 = programs
        .iter()
        .filter(selected)
        .map(|p| if p.group == Group::Workload { o.seconds + 60 } else { p.limit })
        .sum();
    let spec = RunSpec {
        log: log.clone(),
        first_output: Duration::from_secs(
            std::env::var("ENTRY_LAB_SILENCE_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60),
        ),
        overall: Duration::from_secs(o.cap.map_or(budget + 240, |cap| cap.min(budget + 240))),
        done_marker: "ENTRY-LAB: DONE".into(),
    };
    let qemu_line = format!("{cmd:?}");
    let parts = file_hash(&kernel).zip(file_hash(&initrd)).map(|(k, i)| {
        ["boot".to_string(), k, i, qemu_line, format!("{:?} {:?}", o.groups, o.only), lab.results.display().to_string()]
    });
    let memo = Memo::new(
        lab.target_dir(t).join(format!("entry-lab.kept-boot-{}.json", o.config)),
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
        .filter(|p| Group::OWN.contains(&p.group))
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
        variant: t.variant.name().into(),
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

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A completed boot with these test results (for the report's tests).
    pub fn booted(variant: &str, tests: &[(&str, guest::Outcome)]) -> BootResult {
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
    fn guest_result_lines() {
        let c = "[ 1.0] ENTRY-LAB: RESULT entry_workload rc=0\nENTRY-LAB: RESULT other rc=3\nnoise rc=1\n";
        let r = guest_results(c);
        assert_eq!(r.len(), 2);
        assert_eq!(r["entry_workload"], 0);
        assert_eq!(r["other"], 3);
    }

    #[test]
    fn reruns_select_programs_by_name() {
        let p = |g, n: &str| guest::Program { group: g, name: n.into(), limit: 5, cmd: String::new(), files: vec![] };
        let o = TEST.opts(4);
        assert!(o.selects(&p(Group::Entry, "entry_test")));
        assert!(!o.selects(&p(Group::Upstream, "seccomp_bpf")));
        assert!(!BootOpts::manual(None, None, None).selects(&p(Group::Bench, "entry_bench")));
        let r = o.only("test-rerun1", vec!["entry_test".into()]);
        assert!(r.selects(&p(Group::Entry, "entry_test")));
        assert!(!r.selects(&p(Group::Workload, "entry_workload")));
    }
}
