//! The drift check of the Rust entry code: `scripts/rust_entry_mirror.py`
//! (added by the series, run by `kernel/entry/Makefile`) verifies that every
//! C statement `kernel/entry/entry_rs.rs` claims to mirror is still in the C
//! code, in the same order, and that no statement of a mirrored function is
//! left unmapped. The test job runs it on the assembled tree, runs its unit
//! tests, and shows it failing on edited copies of the C files.

use crate::util::{python_unit_tests, read, write, Result};
use anyhow::{bail, ensure, Context};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const SCRIPT: &str = "scripts/rust_entry_mirror.py";
pub const TESTS: &str = "scripts/rust_entry_mirror_test.py";
pub const RUST: &str = "kernel/entry/entry_rs.rs";
/// The C files entry_rs.rs mirrors (the stamp of kernel/entry/Makefile
/// depends on the same).
pub const C_FILES: [&str; 3] = ["kernel/entry/common.c", "include/linux/irq-entry-common.h", "include/linux/hardirq.h"];

/// What the script said: its exit status and its stderr lines.
#[derive(Debug)]
pub struct Outcome {
    pub ok: bool,
    pub errors: Vec<String>,
}

/// Runs the script of `src` on `src`'s entry_rs.rs against the C files of
/// `srctree`.
pub fn run(src: &Path, srctree: &Path) -> Result<Outcome> {
    let out = Command::new("python3")
        .current_dir(src)
        .arg(SCRIPT)
        .arg("--srctree")
        .arg(srctree)
        .arg(RUST)
        .output()
        .context("cannot run python3")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(stdout.trim().is_empty(), "{SCRIPT} printed on stdout: {stdout}");
    let errors = String::from_utf8_lossy(&out.stderr).lines().map(str::to_string).collect();
    Ok(Outcome { ok: out.status.success(), errors })
}

/// The check on the assembled tree: it must pass and print nothing.
pub fn check_tree(src: &Path) -> Result<()> {
    let o = run(src, Path::new("."))?;
    if !o.ok || !o.errors.is_empty() {
        bail!("{}", o.errors.join(" | "));
    }
    Ok(())
}

/// Runs the script's unit tests in the assembled tree; returns how many
/// ran. The tests against the tree's own C files must not be skipped.
pub fn unit_tests(src: &Path) -> Result<usize> {
    let tree = src.as_os_str();
    python_unit_tests(
        &src.join("scripts"),
        Path::new(TESTS).file_name().unwrap_or_default(),
        &[("RUST_ENTRY_MIRROR_SRCTREE", tree)],
    )
}

/// One edit of the mirrored C code and what the check must say about it.
pub struct Drift {
    pub name: &'static str,
    pub file: &'static str,
    pub old: &'static str,
    pub new: &'static str,
    /// Whether the check must fail; then the first error must name this
    /// file at a line of the edit.
    pub fails: bool,
}

pub const DRIFTS: [Drift; 4] = [
    Drift {
        name: "a mirrored header line edited",
        file: "include/linux/irq-entry-common.h",
        old: "\tuser_exit_irqoff();\n",
        new: "\tuser_exit_irqoff_now();\n",
        fails: true,
    },
    Drift {
        name: "two mirrored lines swapped",
        file: "include/linux/irq-entry-common.h",
        old: "\ttrace_hardirqs_on_prepare();\n\tlockdep_hardirqs_on_prepare();\n\tinstrumentation_end();\n\n\tuser_enter_irqoff();",
        new: "\tlockdep_hardirqs_on_prepare();\n\ttrace_hardirqs_on_prepare();\n\tinstrumentation_end();\n\n\tuser_enter_irqoff();",
        fails: true,
    },
    Drift {
        name: "a statement added to a mirrored function",
        file: "kernel/entry/common.c",
        old: "\tlockdep_hardirq_enter();\n\tct_nmi_enter();\n",
        new: "\tlockdep_hardirq_enter();\n\tct_nmi_enter();\n\trcu_nmi_check();\n",
        fails: true,
    },
    Drift {
        name: "comments and whitespace edited",
        file: "include/linux/irq-entry-common.h",
        old: "\tuser_exit_irqoff();\n",
        new: "\t/* RCU watches from here on. */\n\tuser_exit_irqoff (); // really\n\n",
        fails: false,
    },
];

impl Drift {
    /// The edited text and the lines (1-based) the edit covers, or an error
    /// when `old` is not exactly once in `text`.
    pub fn apply(&self, text: &str) -> Result<(String, std::ops::RangeInclusive<usize>)> {
        ensure!(text.matches(self.old).count() == 1, "{:?} is not exactly once in {}", self.old, self.file);
        let at = text.find(self.old).unwrap_or_default();
        let first = text[..at].matches('\n').count() + 1;
        let last = first + self.new.trim_end_matches('\n').matches('\n').count();
        Ok((text.replacen(self.old, self.new, 1), first..=last))
    }
}

/// Copies the mirrored C files of `src` to `dir`, applies each drift and
/// runs the check: the edits must fail naming the edited line, the comment
/// edit must pass. Returns one line per drift (with the first error).
pub fn demonstrate(src: &Path, dir: &Path) -> Result<Vec<String>> {
    let mut lines = vec![];
    for d in &DRIFTS {
        let _ = std::fs::remove_dir_all(dir);
        for f in C_FILES {
            write(&dir.join(f), read(&src.join(f))?)?;
        }
        let (edited, span) = d.apply(&read(&src.join(d.file))?)?;
        write(&dir.join(d.file), edited)?;
        let o = run(src, dir)?;
        if !d.fails {
            ensure!(o.ok && o.errors.is_empty(), "{}: the check failed: {}", d.name, o.errors.join(" | "));
            lines.push(format!("{}: passes", d.name));
            continue;
        }
        ensure!(!o.ok, "{}: the check passed", d.name);
        let first = o.errors.first().cloned().unwrap_or_default();
        let named = first
            .strip_prefix(&format!("{}:", d.file))
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse::<usize>().ok());
        ensure!(
            named.is_some_and(|n| span.contains(&n)),
            "{}: the first error does not name {} lines {}-{}: {first}",
            d.name,
            d.file,
            span.start(),
            span.end()
        );
        lines.push(format!("{}: fails: {first}", d.name));
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(lines)
}

/// Where [`demonstrate`] puts its copies.
pub fn scratch(cache: &Path) -> PathBuf {
    cache.join("mirror-drift")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "static __always_inline void exit_to_user_mode(void)\n{\n\tinstrumentation_begin();\n\tunwind_reset_info();\n\ttrace_hardirqs_on_prepare();\n\tlockdep_hardirqs_on_prepare();\n\tinstrumentation_end();\n\n\tuser_enter_irqoff();\n\tuser_exit_irqoff();\n}\n";

    #[test]
    fn drift_edits_name_their_lines() {
        let (t, span) = DRIFTS[0].apply(HEADER).unwrap();
        assert!(t.contains("user_exit_irqoff_now();"));
        assert_eq!(span, 10..=10);
        let (t, span) = DRIFTS[1].apply(HEADER).unwrap();
        assert!(t.contains("\tlockdep_hardirqs_on_prepare();\n\ttrace_hardirqs_on_prepare();\n"));
        assert_eq!(span, 5..=9);
        let (_, span) = DRIFTS[3].apply(HEADER).unwrap();
        assert_eq!(span, 10..=11);
    }

    #[test]
    fn drift_text_must_be_there_once() {
        assert!(DRIFTS[2].apply(HEADER).is_err());
        assert!(DRIFTS[0].apply(&HEADER.repeat(2)).is_err());
    }

    /// The script's own unit tests (the ones that need no kernel tree), from
    /// the repository's copy under linux/scripts/.
    #[test]
    fn script_unit_tests() {
        if crate::util::which("python3").is_none() {
            eprintln!("python3 missing: skipped");
            return;
        }
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../linux/scripts");
        let out = Command::new("python3")
            .current_dir(&scripts)
            .env_remove("RUST_ENTRY_MIRROR_SRCTREE")
            .arg("rust_entry_mirror_test.py")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
