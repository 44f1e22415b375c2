//! The option-off identity on arm64 (issue 15): with `RUST_GENERIC_ENTRY`
//! off, the series must leave arm64's entry objects as the unpatched tree
//! builds them. `arm64-c` (the KUnit build of `arm64.rs`) is the series tip
//! with the option off; this builds the base commit with the same `.config`
//! in `build/arm64-base` and compares the objects of `kernel/entry/` and
//! arm64's entry code byte for byte (objects that differ only in line
//! numbers are named, as in `bisect.rs`).
//!
//! The base is checked out in the lab's kernel work tree (as `bisect` does,
//! so that ccache and the paths in the objects are those of the tip's build)
//! and the tip is checked out again afterwards, also on an error. The files
//! the series changes then have new times, so the next x86 builds recompile
//! them.

use crate::arm64;
use crate::lab::{Lab, Variant};
use crate::memo::{file_hash, Memo};
use crate::util::{bail, fmt_dur, read, say, write, Result};
use std::path::PathBuf;
use std::time::Instant;

/// What must not change on arm64 with the option off: the generic entry
/// code and arm64's own entry code that calls it.
pub const ARM64_SAME: [&str; 3] = ["kernel/entry", "arch/arm64/kernel/entry-common.o", "arch/arm64/kernel/entry.o"];

/// The result of the comparison.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// Objects compared.
    pub compared: usize,
    /// Objects that differ (or that one build lacks).
    pub problems: Vec<String>,
    /// Objects that differ only in line numbers.
    pub bug_lines: Vec<String>,
    pub seconds: u64,
}

fn base_dir(lab: &Lab) -> PathBuf {
    lab.cache.join("build/arm64-base")
}

/// Builds the base with `arm64-c`'s configuration and compares. Kept for
/// the same base commit and `arm64-c` kernel unless `again`.
pub fn check(lab: &Lab, again: bool) -> Result<Identity> {
    let s = crate::series::assemble_tree(lab)?;
    let c = arm64::run(lab, Variant::C, !again)?;
    if let Some(p) = c.problem() {
        bail!("arm64-c failed, so there is no option-off build to compare: {p}");
    }
    let tip_dir = arm64::build_dir(lab, Variant::C);
    let config = read(&tip_dir.join(".config"))?;
    if config.contains("CONFIG_RUST_GENERIC_ENTRY=y") {
        bail!("arm64-c has RUST_GENERIC_ENTRY on");
    }
    let memo = Memo::new(
        base_dir(lab).join("entry-lab.kept-identity.json"),
        file_hash(&tip_dir.join("vmlinux")).map(|v| vec!["arm64-identity".to_string(), s.base.clone(), v]).as_deref(),
    );
    if !again {
        if let Some(r) = memo.get(|r: &Identity| r.problems.is_empty()) {
            say("arm64-base", "same base and arm64-c kernel as before: kept");
            return Ok(r);
        }
    }
    memo.forget();
    let start = Instant::now();
    let b = base_dir(lab);
    std::fs::create_dir_all(&b)?;
    let log = lab.results.join("logs").join("build-arm64-base.log");
    {
        let _lock = crate::util::machine_lock("arm64-base")?;
        // From the arm64 work tree, as arm64-c: the objects compared are
        // then built from the same paths.
        let tree = arm64::sync_tree(lab, &s.base)?;
        write(&b.join(".config"), &config)?;
        say("arm64-base", &format!("the unpatched tree with arm64-c's .config: make (log: {})", log.display()));
        let mut make = lab.make_arch("arm64", &b);
        if !crate::util::run_logged(make.current_dir(&tree).arg("olddefconfig"), &log, |_| {})? {
            bail!("make olddefconfig of the base failed (log: {})", log.display());
        }
        let mut make = lab.make_arch("arm64", &b);
        make.current_dir(&tree).arg(format!("-j{}", crate::build::jobs())).arg("vmlinux");
        let mut n = 0usize;
        let mut tick = Instant::now();
        let ok = crate::util::run_logged(&mut make, &log, |l| {
            if l.trim_start().starts_with("CC ") || l.trim_start().starts_with("RUSTC ") {
                n += 1;
            }
            if tick.elapsed().as_secs() >= 30 {
                tick = Instant::now();
                say("arm64-base", &format!("{n} objects built, {}", fmt_dur(start.elapsed())));
            }
        })?;
        if !ok {
            bail!("the base build failed (log: {})", log.display());
        }
    }
    let (compared, problems, bug_lines) = crate::bisect::compare_objects_in(&b, &tip_dir, &ARM64_SAME);
    // kernel/entry/virt.o: selected by the series' KUnit option (bisect.rs).
    let problems = crate::bisect::without_selected_by_test(problems, &config);
    let r = Identity { compared, problems, bug_lines, seconds: start.elapsed().as_secs() };
    say(
        "arm64-base",
        &format!(
            "{} objects compared with arm64-c: {} differ, {} only in line numbers ({})",
            r.compared,
            r.problems.len(),
            r.bug_lines.len(),
            fmt_dur(start.elapsed())
        ),
    );
    if r.problems.is_empty() && r.compared > 0 {
        memo.put(&r)?;
    }
    Ok(r)
}
