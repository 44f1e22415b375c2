//! What runs inside the guest: the programs of the initramfs (the lab's
//! workload, the entry probe script, the series' entry kselftest and
//! upstream selftests from the base tree), the plan that /init follows, and
//! the parser of their results on the console.

use crate::lab::Lab;
use crate::util::{run, say, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One program of the plan.
#[derive(Debug, Clone)]
pub struct Program {
    /// Selected on the kernel command line with `entrylab.groups=`.
    pub group: Group,
    /// Name in the results (unique).
    pub name: String,
    /// Killed (SIGKILL) after this many seconds.
    pub limit: u64,
    /// The command line in the guest (`@SECONDS@` is the run length).
    pub cmd: String,
    /// Files to put into the initramfs: (path inside, file on the host).
    pub files: Vec<(String, PathBuf)>,
}

/// The groups of guest programs, in the order /init runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Group {
    /// The lab's workload (`lab/guest/entry_workload.c`).
    Workload,
    /// The entry probe sample's check (`lab/guest/entry_probe.sh`).
    Probe,
    /// The series' entry kselftest.
    Entry,
    /// Upstream selftests of the base tree.
    Upstream,
    /// The benchmark (`lab/guest/entry_bench.c`): only `entry-lab bench`
    /// runs it, in its own initramfs (not in [`Group::ALL`], so not in the
    /// plan of the other boots).
    Bench,
}

impl Group {
    pub const ALL: [Group; 4] = [Group::Workload, Group::Probe, Group::Entry, Group::Upstream];
    /// The project's own programs: they must pass on both variants.
    pub const OWN: [Group; 3] = [Group::Workload, Group::Probe, Group::Entry];

    pub fn name(self) -> &'static str {
        match self {
            Group::Workload => "workload",
            Group::Probe => "probe",
            Group::Entry => "entry",
            Group::Upstream => "upstream",
            Group::Bench => "bench",
        }
    }
}

/// The program a test belongs to: `entry_test` for `entry_test: name` and
/// for `entry_test` itself.
pub fn program_of(test: &str) -> &str {
    test.split_once(": ").map_or(test, |(p, _)| p)
}

/// The lines of /plan.
pub fn plan_text(programs: &[Program]) -> String {
    let mut s = String::from("# GROUP NAME TIMEOUT COMMAND (written by entry-lab)\n");
    for g in Group::ALL {
        for p in programs.iter().filter(|p| p.group == g) {
            s.push_str(&format!("{} {} {} {}\n", p.group.name(), p.name, p.limit, p.cmd));
        }
    }
    s
}

/// Compiles a static guest program unless the binary is newer than every
/// source; returns the binary.
pub fn cc_static(out: &Path, sources: &[PathBuf], flags: &[String]) -> Result<PathBuf> {
    cc_static_with("gcc", out, sources, flags)
}

/// [`cc_static`] with another compiler (the aarch64 cross compiler).
pub fn cc_static_with(cc: &str, out: &Path, sources: &[PathBuf], flags: &[String]) -> Result<PathBuf> {
    let fresh = std::fs::metadata(out)
        .and_then(|b| {
            let t = b.modified()?;
            for s in sources {
                if std::fs::metadata(s)?.modified()? > t {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .unwrap_or(false);
    if !fresh {
        if let Some(d) = out.parent() {
            std::fs::create_dir_all(d)?;
        }
        run(Command::new(cc).args(["-static", "-O2", "-Wall", "-o"]).arg(out).args(sources).args(flags))
            .map_err(|e| anyhow::anyhow!("cannot build guest program {}: {e}", out.display()))?;
    }
    Ok(out.to_path_buf())
}

/// The UAPI headers of the tree (`make headers`, which needs no .config and
/// writes only below O=), for the selftests; made once per tree checkout.
pub fn uapi_headers(lab: &Lab) -> Result<PathBuf> {
    uapi_headers_for(lab, "x86_64", "headers")
}

/// [`uapi_headers`] of architecture `arch` (`make ARCH=arch headers`) in the
/// cache folder `dir`.
pub fn uapi_headers_for(lab: &Lab, arch: &str, dir: &str) -> Result<PathBuf> {
    let dir = lab.cache.join(dir);
    let inc = dir.join("usr/include");
    let head = crate::util::read(&lab.src().join(".git/HEAD")).unwrap_or_default();
    let stamp = dir.join("stamp");
    if inc.join("linux/rseq.h").exists() && crate::util::read(&stamp).ok().as_deref() == Some(head.as_str()) {
        return Ok(inc);
    }
    say("guest", &format!("making the 7.3.4 {arch} UAPI headers for the selftests"));
    let mut c = Command::new("make");
    c.current_dir(lab.src()).args(["-s", &format!("ARCH={arch}")]).arg(format!("O={}", dir.display())).arg("headers");
    run(&mut c).map_err(|e| anyhow::anyhow!("make ARCH={arch} headers failed: {e}"))?;
    crate::util::write(&stamp, &head)?;
    Ok(inc)
}

/// Every guest program: built (cached) and ready to pack.
pub fn programs(lab: &Lab) -> Result<Vec<Program>> {
    let guest = lab.repo.join("lab/guest");
    let out = lab.cache.join("guest");
    let src = lab.src();
    let mut v = vec![];
    let workload = cc_static(&out.join("entry_workload"), &[guest.join("entry_workload.c")], &[])?;
    v.push(Program {
        group: Group::Workload,
        name: "entry_workload".into(),
        // At most the longest run length; the boot has its own overall limit.
        limit: 900,
        cmd: "/tests/entry_workload @SECONDS@".into(),
        files: vec![("tests/entry_workload".into(), workload)],
    });
    v.push(Program {
        group: Group::Probe,
        name: "entry_probe".into(),
        limit: 60,
        cmd: "/tests/entry_probe".into(),
        files: vec![("tests/entry_probe".into(), guest.join("entry_probe.sh"))],
    });
    let st = src.join("tools/testing/selftests");
    if st.join("entry/entry_test.c").exists() {
        let inc = uapi_headers(lab)?;
        let bin = cc_static(
            &out.join("entry_test"),
            &[st.join("entry/entry_test.c")],
            &[format!("-I{}", st.display()), "-isystem".into(), inc.display().to_string()],
        )?;
        v.push(Program {
            group: Group::Entry,
            name: "entry_test".into(),
            limit: 120,
            cmd: "/tests/entry_test".into(),
            files: vec![("tests/entry_test".into(), bin)],
        });
    }
    v.extend(crate::upstream::programs(lab)?);
    v.push(bench_program(lab)?);
    Ok(v)
}

/// The benchmark: static, against the C library's headers only (it needs
/// nothing from the kernel tree). Its time limit (guest time: under
/// -icount a full run takes about 2 s of it) bounds a full run.
pub fn bench_program(lab: &Lab) -> Result<Program> {
    let bin = cc_static(&lab.cache.join("guest/entry_bench"), &[lab.repo.join("lab/guest/entry_bench.c")], &[])?;
    Ok(Program {
        group: Group::Bench,
        name: "entry_bench".into(),
        limit: 120,
        cmd: "/tests/entry_bench".into(),
        files: vec![("tests/entry_bench".into(), bin)],
    })
}

/// The result of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
    /// Killed at its time limit.
    Timeout,
    /// Killed by a signal (crash).
    Crash,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
            Outcome::Timeout => "TIMEOUT",
            Outcome::Crash => "CRASH",
        }
    }
}

/// A program's exit code as a result: 0 pass, 4 (KSFT_SKIP) skip, 137
/// (SIGKILL from the time limit) timeout, other signals crash.
pub fn rc_outcome(rc: i32) -> Outcome {
    match rc {
        0 => Outcome::Pass,
        4 => Outcome::Skip,
        137 => Outcome::Timeout,
        129..=159 => Outcome::Crash,
        _ => Outcome::Fail,
    }
}

/// One KTAP result line at the top level ("ok 3 name # SKIP why"):
/// (name, outcome).
pub fn ktap_line(line: &str) -> Option<(String, Outcome)> {
    let (ok, rest) = if let Some(r) = line.strip_prefix("not ok ") {
        (false, r)
    } else if let Some(r) = line.strip_prefix("ok ") {
        (true, r)
    } else {
        return None;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest.split_once(" # ") {
        Some((n, d)) => (n, d.trim()),
        None => (rest.strip_suffix(" #").unwrap_or(rest), ""),
    };
    let skip = directive.to_ascii_uppercase().starts_with("SKIP");
    let o = match (ok, skip) {
        (_, true) => Outcome::Skip,
        (true, false) => Outcome::Pass,
        (false, false) => Outcome::Fail,
    };
    Some((name.trim().to_string(), o))
}

/// Results of every program on a console log: "program" from its exit code
/// and "program: test" for each top-level KTAP line it printed. Lines of
/// the kernel (with a printk time stamp) are not program output.
pub fn results(console: &str) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for raw in console.lines() {
        if raw.starts_with('[') {
            continue;
        }
        let l = raw.trim_end();
        if let Some(n) = l.strip_prefix("ENTRY-LAB: RUN ") {
            current = Some(n.trim().to_string());
        } else if let Some(r) = l.strip_prefix("ENTRY-LAB: RESULT ") {
            if let Some((n, rc)) = r.split_once(" rc=") {
                if let Ok(rc) = rc.trim().parse() {
                    out.insert(n.to_string(), rc_outcome(rc));
                }
            }
            current = None;
        } else if let (Some(p), Some((t, o))) = (&current, ktap_line(l)) {
            let mut key = format!("{p}: {t}");
            // Repeated names (several test programs in one) stay apart.
            let mut i = 2;
            while out.contains_key(&key) {
                key = format!("{p}: {t} ({i})");
                i += 1;
            }
            out.insert(key, o);
        }
    }
    out
}

/// Reads a file for the initramfs, naming it when it is missing.
pub fn file_bytes(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("cannot read guest file {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ktap_lines() {
        assert_eq!(ktap_line("ok 1 syscall_enosys"), Some(("syscall_enosys".into(), Outcome::Pass)));
        assert_eq!(ktap_line("not ok 12 seccomp trap"), Some(("seccomp trap".into(), Outcome::Fail)));
        assert_eq!(ktap_line("ok 3 ipi # SKIP one CPU"), Some(("ipi".into(), Outcome::Skip)));
        assert_eq!(ktap_line("not ok - preempt # want x"), Some(("preempt".into(), Outcome::Fail)));
        assert_eq!(ktap_line("# ok 1 nested"), None);
        assert_eq!(ktap_line("okay"), None);
    }

    #[test]
    fn results_per_program_and_test() {
        let log = "ENTRY-LAB: RUN entry_test\n\
                   TAP version 13\n\
                   ok 1 a\n\
                   [   1.0] ok 9 kernel line\n\
                   not ok 2 b\n\
                   ENTRY-LAB: RESULT entry_test rc=1\n\
                   ENTRY-LAB: RUN sysret_rip\n\
                   [OK]\tWe survived\n\
                   ENTRY-LAB: RESULT sysret_rip rc=0\n\
                   ENTRY-LAB: RUN slow\n\
                   ENTRY-LAB: RESULT slow rc=137\n\
                   ok 5 outside any program\n";
        let r = results(log);
        assert_eq!(r["entry_test"], Outcome::Fail);
        assert_eq!(r["entry_test: a"], Outcome::Pass);
        assert_eq!(r["entry_test: b"], Outcome::Fail);
        assert_eq!(r["sysret_rip"], Outcome::Pass);
        assert_eq!(r["slow"], Outcome::Timeout);
        assert_eq!(r.len(), 5, "{r:?}");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(rc_outcome(4), Outcome::Skip);
        assert_eq!(rc_outcome(139), Outcome::Crash);
        assert_eq!(rc_outcome(2), Outcome::Fail);
    }

    #[test]
    fn plan_is_in_group_order() {
        let p = |g, n: &str| Program { group: g, name: n.into(), limit: 5, cmd: format!("/tests/{n}"), files: vec![] };
        let t = plan_text(&[p(Group::Upstream, "u"), p(Group::Workload, "w")]);
        let lines: Vec<&str> = t.lines().skip(1).collect();
        assert_eq!(lines, ["workload w 5 /tests/w", "upstream u 5 /tests/u"]);
        let t = plan_text(&[p(Group::Bench, "b"), p(Group::Workload, "w")]);
        assert_eq!(t.lines().skip(1).collect::<Vec<_>>(), ["workload w 5 /tests/w"], "bench is not in the plan");
    }
}
