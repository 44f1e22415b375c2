//! Kernel style checks of the series: rustfmt as the kernel configures it
//! (on the overlay's Rust files), checkpatch.pl (on the exported patches),
//! and clippy (`make CLIPPY=1` on the entry objects; only diagnostics that
//! point into the series' own Rust files count).

use crate::lab::{Flavor, Lab, Variant};
use crate::util::{read, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every `.rs` file of the overlay.
fn overlay_rust_files(lab: &Lab) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![lab.repo.join("linux")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// rustfmt --check with the kernel's .rustfmt.toml; returns the files that
/// are not formatted.
pub fn rustfmt(lab: &Lab) -> Result<Vec<String>> {
    let files = overlay_rust_files(lab);
    let out = Command::new("rustfmt")
        .args(["--check", "-l", "--edition", "2021", "--config-path"])
        .arg(lab.src().join(".rustfmt.toml"))
        .args(&files)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run rustfmt: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.ends_with(".rs"))
        .map(|l| l.trim().to_string())
        .collect())
}

/// checkpatch types accepted, each for a stated reason:
/// - FILE_PATH_CHANGES: the per-patch "does MAINTAINERS need updating?"
///   reminder: every patch that adds entry files adds them to GENERIC ENTRY
///   CODE [RUST]; the kernel crate abstractions (kthread, smp, irq_work)
///   are under RUST's `F: rust/` already.
/// - AVOID_BUG: entry_rs_nmi_exit_bug() is the BUG() of __nmi_exit()'s
///   BUG_ON(!in_nmi()); a WARN would change what the C code does.
/// - ENOSYS: the entry kselftest checks that bad syscall numbers give
///   ENOSYS, the one use checkpatch's own comment calls a false positive.
/// - MACRO_ARG_REUSE (a `--strict` check): the layout macros of
///   bindings_helper.h and entry_diff_kunit.c use a struct tag and a member
///   designator twice (`offsetof()` and `sizeof_field()`); neither is an
///   expression, so nothing is evaluated twice.
pub const CHECKPATCH_IGNORE: &str = "FILE_PATH_CHANGES,AVOID_BUG,ENOSYS,MACRO_ARG_REUSE";

/// CamelCase words accepted (a `--strict` check, kept for every other word): the ELF types of
/// the C library's `<elf.h>` (`Elf64_Ehdr`, `Elf64_Shdr`, ...), with which the entry
/// kselftest finds a function of the vDSO. checkpatch cannot seed them from the tree
/// (`--no-tree`), and the uapi `<linux/elf.h>` that names them in lower case cannot be
/// included beside the C library's.
pub const CAMELCASE_ACCEPTED: &[&str] = &["Elf64_"];

/// Whether a line of checkpatch's `--terse --show-types` output is a problem.
pub fn checkpatch_problem(line: &str) -> bool {
    if let Some((_, word)) = line.split_once("CHECK:CAMELCASE: Avoid CamelCase: <") {
        if CAMELCASE_ACCEPTED.iter().any(|p| word.starts_with(p)) {
            return false;
        }
    }
    line.contains(": ERROR:") || line.contains(": WARNING:") || line.contains(": CHECK:")
}

/// The entry kselftest builds on x86_64 and arm64 only (its Makefile's arch
/// guard; the file has an `#error` for other architectures): `make -n` of
/// `tools/testing/selftests/entry` in the assembled tree must compile
/// `entry_test.c` for `ARCH=x86_64` and `ARCH=arm64` and nothing for
/// `ARCH=riscv` (a cross build of the selftests there skips it instead of
/// failing). A dry run: nothing in the tree changes. Returns the problems.
pub fn selftest_arch_guard(lab: &Lab) -> Result<Vec<String>> {
    let dir = lab.src().join("tools/testing/selftests/entry");
    let dry = |arch: &str| -> Result<String> {
        let out = Command::new("make")
            .args(["-s", "-n", "-C"])
            .arg(&dir)
            .arg(format!("ARCH={arch}"))
            .output()
            .map_err(|e| crate::util::anyhow!("make -n in {}: {e}", dir.display()))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    Ok(guard_problems(&dry("x86_64")?, &dry("arm64")?, &dry("riscv")?))
}

/// What [`selftest_arch_guard`] finds in the three dry runs' output.
pub fn guard_problems(x86: &str, arm64: &str, other: &str) -> Vec<String> {
    let mut p = vec![];
    for (arch, out) in [("x86_64", x86), ("arm64", arm64)] {
        if !out.contains("entry_test.c") {
            p.push(format!("ARCH={arch} does not build entry_test"));
        }
    }
    if other.contains("entry_test.c") {
        p.push("ARCH=riscv builds entry_test".to_string());
    }
    p
}

/// checkpatch.pl --strict on each exported patch; returns "patch: first
/// problem" for each patch with errors, warnings or checks.
pub fn checkpatch(lab: &Lab, mails: &Path) -> Result<Vec<String>> {
    let mut problems = vec![];
    let mut patches: Vec<PathBuf> = std::fs::read_dir(mails)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.ends_with(".patch") && !n.starts_with("0000-")
        })
        .collect();
    patches.sort();
    for p in patches {
        let out = Command::new("perl")
            .current_dir(lab.src())
            .args(["scripts/checkpatch.pl", "--strict", "--no-tree", "--terse", "--show-types"])
            .arg(format!("--ignore={CHECKPATCH_IGNORE}"))
            .arg(&p)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let bad: Vec<&str> = text.lines().filter(|l| checkpatch_problem(l)).collect();
        if !bad.is_empty() {
            problems.push(format!(
                "{}: {} problem(s), first: {}",
                p.file_name().unwrap_or_default().to_string_lossy(),
                bad.len(),
                bad[0]
            ));
        }
    }
    Ok(problems)
}

/// Clippy diagnostics (warning/error with a `-->` location) in files whose
/// path contains one of `ours`.
pub fn clippy_findings(log: &str, ours: &[&str]) -> Vec<String> {
    let mut out = vec![];
    let mut head: Option<&str> = None;
    for l in log.lines() {
        if l.starts_with("warning: ") || l.starts_with("error: ") || l.starts_with("error[") {
            head = Some(l);
        } else if let Some(loc) = l.trim_start().strip_prefix("--> ") {
            if let Some(h) = head.take() {
                if ours.iter().any(|o| loc.contains(o)) {
                    out.push(format!("{loc}: {h}"));
                }
            }
        }
    }
    out
}

/// Paths (substrings) of the series' Rust files in build output.
pub const OURS: &[&str] = &[
    "kernel/entry/",
    "rust/kernel/entry/",
    "rust/kernel/kthread.rs",
    "rust/kernel/smp.rs",
    "rust/kernel/irq_work.rs",
    "rust/macros/noinstr.rs",
    "samples/rust/rust_entry_probe.rs",
];

/// Builds the entry objects of the rust flavor with CLIPPY=1 and returns the
/// findings in the series' files. The next normal build rebuilds them.
pub fn clippy(lab: &Lab) -> Result<Vec<String>> {
    let f = Flavor { variant: Variant::Rust, debug: false };
    let log = lab.results.join("logs/clippy-rust.log");
    let _ = std::fs::remove_file(&log);
    let ok = crate::util::run_logged(
        lab.make(f).args([
            "CLIPPY=1",
            "CLIPPY_DRIVER=/usr/bin/clippy-driver",
            // The kernel crate: the building blocks in rust/kernel/entry/
            // and the series' abstractions (kthread, smp, irq_work).
            "rust/kernel.o",
            "kernel/entry/entry_rs.o",
            "kernel/entry/syscall_rs.o",
            "kernel/entry/sud_rs.o",
            "kernel/entry/virt_rs.o",
            "kernel/entry/entry_kunit.o",
            "kernel/entry/virt_kunit.o",
            "samples/rust/rust_entry_probe.o",
        ]),
        &log,
        |_| {},
    )?;
    let text = read(&log)?;
    let mut found = clippy_findings(&text, OURS);
    if !ok && found.is_empty() {
        found.push(format!("make CLIPPY=1 failed (log: {})", log.display()));
    }
    Ok(found)
}

/// `make rustdoc` in the rust flavor's build folder (the documentation of
/// core, macros, the kernel crate with `kernel::entry` and the series'
/// abstractions): returns every warning and error it prints, or that it
/// failed.
pub fn rustdoc(lab: &Lab) -> Result<Vec<String>> {
    let f = Flavor { variant: Variant::Rust, debug: false };
    let log = lab.results.join("logs/rustdoc-rust.log");
    let _ = std::fs::remove_file(&log);
    let ok = crate::util::run_logged(lab.make(f).arg("rustdoc"), &log, |_| {})?;
    let text = read(&log)?;
    let mut found = rustdoc_findings(&text);
    if !ok && found.is_empty() {
        found.push(format!("make rustdoc failed (log: {})", log.display()));
    }
    Ok(found)
}

/// The diagnostics of a rustdoc log: each `warning:`/`error:` line with the
/// location on the `-->` line after it, if any.
pub fn rustdoc_findings(log: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut head: Option<&str> = None;
    for l in log.lines() {
        let t = l.trim_start();
        let summary = t.contains("warnings generated")
            || t.contains("warning generated")
            || t.contains("emitted")
            || t.starts_with("error: aborting");
        if (t.starts_with("warning") || t.starts_with("error")) && !summary {
            if let Some(h) = head.take() {
                out.push(h.to_string());
            }
            head = Some(t);
        } else if let Some(loc) = t.strip_prefix("--> ") {
            if let Some(h) = head.take() {
                out.push(format!("{loc}: {h}"));
            }
        }
    }
    out.extend(head.map(str::to_string));
    out
}

/// The Documentation folders the series writes to: `make htmldocs` builds
/// only these (`SPHINXDIRS`), about 1.5 minutes.
pub const DOC_DIRS: &str = "core-api rust";

/// The Documentation files the series adds (overlay) or changes (diffs).
pub fn series_doc_files(lab: &Lab) -> Vec<String> {
    let overlay = crate::series::walk(&lab.repo.join("linux/Documentation")).unwrap_or_default();
    let mut out: Vec<String> = overlay.into_iter().map(|f| format!("Documentation/{f}")).collect();
    for e in std::fs::read_dir(lab.repo.join("series/diffs")).into_iter().flatten().flatten() {
        for l in read(&e.path()).unwrap_or_default().lines() {
            if let Some(f) = l.strip_prefix("+++ b/").filter(|f| f.starts_with("Documentation/")) {
                out.push(f.trim().to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Sphinx's warnings and errors that name one of `files` and that the
/// unpatched tree does not have (`base`, normalized by [`doc_warning_key`]):
/// the upstream pages have warnings of their own when `SPHINXDIRS` leaves
/// out the folders they refer to, also in a page the series edits
/// (`rust/index.rst`), and a line the series adds moves them.
pub fn htmldocs_findings(log: &str, files: &[String], base: &[String]) -> Vec<String> {
    warnings(log)
        .filter(|l| files.iter().any(|f| l.contains(f.as_str())))
        .filter(|l| !base.contains(&doc_warning_key(l)))
        .map(|l| l.trim().to_string())
        .collect()
}

fn warnings(log: &str) -> impl Iterator<Item = &str> {
    log.lines().filter(|l| l.contains("WARNING") || l.contains("ERROR") || l.contains("CRITICAL"))
}

/// A warning without the tree it was built in and without line numbers.
pub fn doc_warning_key(line: &str) -> String {
    let l = line.trim();
    let l = l.find("Documentation/").map_or(l, |i| &l[i..]);
    let mut out = String::new();
    let mut rest = l;
    while let Some(i) = rest.find(':') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && rest[digits..].starts_with(':') {
            rest = &rest[digits + 1..];
        }
        out.push(':');
    }
    out.push_str(rest);
    out
}

/// The warnings of the unpatched tree's `make htmldocs` of [`DOC_DIRS`],
/// as keys; built once per base in a work tree of the base tag and kept in
/// the cache (about 1.5 minutes). The test job makes them while its faults
/// run.
pub fn base_doc_warnings(lab: &Lab) -> Result<Vec<String>> {
    let src = lab.src();
    let base = crate::util::run(Command::new("git").current_dir(&src).args(["rev-parse", crate::base::BASE_TAG]))?;
    let base = base.trim().to_string();
    let keep = lab.cache.join(format!("docs-base/warnings-{base}.txt"));
    if let Ok(t) = std::fs::read_to_string(&keep) {
        return Ok(t.lines().map(str::to_string).collect());
    }
    let tree = lab.cache.join("docs-base/tree");
    if !tree.join("Makefile").is_file() {
        let _ = std::fs::remove_dir_all(&tree);
        let _ = crate::util::run(Command::new("git").current_dir(&src).args(["worktree", "prune"]));
        crate::util::run(
            Command::new("git").current_dir(&src).args(["worktree", "add", "--detach"]).arg(&tree).arg(&base),
        )?;
    }
    let log = lab.results.join("logs/htmldocs-base.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = Command::new("make");
    cmd.current_dir(&tree)
        .arg(format!("O={}", lab.cache.join("docs-base/out").display()))
        .arg(format!("SPHINXDIRS={DOC_DIRS}"))
        .arg("htmldocs");
    crate::util::run_logged(&mut cmd, &log, |_| {})?;
    let keys: Vec<String> = warnings(&read(&log)?).map(doc_warning_key).collect();
    crate::util::write(&keep, keys.join("\n") + "\n")?;
    Ok(keys)
}

/// `make htmldocs` of [`DOC_DIRS`] on the assembled tree: findings are the
/// warnings naming the series' Documentation files, and missing pages.
pub fn htmldocs(lab: &Lab) -> Result<Vec<String>> {
    if crate::util::which("sphinx-build").is_none() {
        return Ok(vec!["sphinx-build not found (./entry-lab setup installs python3-sphinx)".into()]);
    }
    let out = lab.cache.join("docs");
    let log = lab.results.join("logs/htmldocs.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = Command::new("make");
    cmd.current_dir(lab.src())
        .arg(format!("O={}", out.display()))
        .arg(format!("SPHINXDIRS={DOC_DIRS}"))
        .arg("htmldocs");
    let ok = crate::util::run_logged(&mut cmd, &log, |_| {})?;
    let files = series_doc_files(lab);
    let base = base_doc_warnings(lab)?;
    let mut found = htmldocs_findings(&read(&log)?, &files, &base);
    if !ok {
        found.push(format!("make htmldocs failed (log: {})", log.display()));
    }
    for f in files.iter().filter(|f| f.ends_with(".rst") && !f.ends_with("index.rst")) {
        let rel = f.trim_start_matches("Documentation/").trim_end_matches(".rst");
        let page = out.join(format!("Documentation/output/{rel}.html"));
        if !page.is_file() {
            found.push(format!("{f}: no page {} (not in a toctree?)", page.display()));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_elf_types_are_accepted_camelcase() {
        let elf = "p.patch:3173: CHECK:CAMELCASE: Avoid CamelCase: <Elf64_Ehdr>";
        let other = "p.patch:12: CHECK:CAMELCASE: Avoid CamelCase: <irqState>";
        assert!(!checkpatch_problem(elf));
        assert!(checkpatch_problem(other));
        assert!(checkpatch_problem("p.patch:1: WARNING:LONG_LINE: line length of 101 exceeds 100 columns"));
        assert!(checkpatch_problem("p.patch:1: ERROR:SPACING: space required"));
        assert!(!checkpatch_problem("total: 0 errors, 0 warnings, 10 lines checked"));
    }

    #[test]
    fn the_series_doc_files_are_its_overlay_and_diff_targets() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let lab = crate::lab::Lab::new(repo, crate::lab::Accel::Auto);
        assert_eq!(
            super::series_doc_files(&lab),
            ["Documentation/core-api/entry.rst", "Documentation/rust/index.rst", "Documentation/rust/noinstr.rst"]
        );
    }

    #[test]
    fn htmldocs_findings_are_ours_only() {
        let files = vec!["Documentation/core-api/entry.rst".to_string(), "Documentation/rust/noinstr.rst".to_string()];
        let log = "WARNING: dot(1) not found\n/t/Documentation/core-api/index.rst:75: WARNING: toctree contains reference to nonexisting document 'RCU/index'\n/t/Documentation/rust/noinstr.rst:12: WARNING: Title underline too short.\n/t/Documentation/core-api/entry.rst:300: ERROR: Unknown directive type \"foo\".\n";
        let base =
            vec![super::doc_warning_key("/b/Documentation/rust/noinstr.rst:7: WARNING: Title underline too short.")];
        assert_eq!(
            super::htmldocs_findings(log, &files, &base),
            ["/t/Documentation/core-api/entry.rst:300: ERROR: Unknown directive type \"foo\"."]
        );
        assert_eq!(
            super::htmldocs_findings(log, &files, &[]),
            [
                "/t/Documentation/rust/noinstr.rst:12: WARNING: Title underline too short.",
                "/t/Documentation/core-api/entry.rst:300: ERROR: Unknown directive type \"foo\"."
            ]
        );
        assert!(super::htmldocs_findings("WARNING: dot(1) not found\n", &files, &[]).is_empty());
        assert_eq!(
            super::doc_warning_key(
                "/x/y/Documentation/rust/index.rst:42: WARNING: unknown document: '../process/kernel-docs'"
            ),
            "Documentation/rust/index.rst: WARNING: unknown document: '../process/kernel-docs'"
        );
    }

    #[test]
    fn rustdoc_findings_keep_their_location() {
        let log = "  RUSTDOC K rust/kernel/lib.rs\nwarning: unresolved link to `Foo`\n  --> rust/kernel/kthread.rs:3:5\n   |\nwarning: 1 warning generated\nwarning: 1 warning emitted\n";
        assert_eq!(super::rustdoc_findings(log), ["rust/kernel/kthread.rs:3:5: warning: unresolved link to `Foo`"]);
        assert!(super::rustdoc_findings("  RUSTDOC K rust/kernel/lib.rs\n").is_empty());
    }

    #[test]
    fn the_selftest_builds_on_x86_64_and_arm64_only() {
        let cc = "gcc -static -O2 -Wall entry_test.c -o entry_test\n";
        assert!(super::guard_problems(cc, cc, "").is_empty());
        assert_eq!(
            super::guard_problems("", "", cc),
            [
                "ARCH=x86_64 does not build entry_test",
                "ARCH=arm64 does not build entry_test",
                "ARCH=riscv builds entry_test"
            ]
        );
    }

    use super::*;

    #[test]
    fn clippy_findings_are_filtered_to_our_files() {
        let log = "\
warning: this could be simplified
  --> /src/rust/kernel/alloc.rs:10:5
warning: needless borrow
   --> /src/kernel/entry/entry_rs.rs:42:9
    |
warning: 2 warnings emitted
";
        assert_eq!(clippy_findings(log, OURS), ["/src/kernel/entry/entry_rs.rs:42:9: warning: needless borrow"]);
    }
}
