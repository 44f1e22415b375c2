//! The series' noinstr check without objtool (`scripts/rust_noinstr_check.py`)
//! run by the lab on built kernels: on the `rust` build's `vmlinux.o` for the
//! Rust entry objects (the kernel build runs it too, with
//! `RUST_GENERIC_ENTRY_NOINSTR_CHECK`), and on the `c` build's for every
//! object with noinstr code, where objtool found nothing and the check must
//! agree (a false positive there would show on the C code first).

use crate::util::{python_unit_tests, Result};
use anyhow::{ensure, Context};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const SCRIPT: &str = "scripts/rust_noinstr_check.py";
pub const TESTS: &str = "scripts/rust_noinstr_check_test.py";
/// The objects of the Rust entry code the kernel build checks.
pub const RUST_OBJECTS: [&str; 1] = ["kernel/entry/entry_rs.o"];

/// What the script said about one `vmlinux.o`.
#[derive(Debug)]
pub struct Outcome {
    /// Noinstr functions of the given objects it walked.
    pub checked: usize,
    /// Its findings (empty when it passed).
    pub findings: Vec<String>,
}

/// Parses the `-v` summary line, `N functions checked, M findings`.
pub fn parse_summary(stdout: &str) -> Option<(usize, usize)> {
    let l = stdout.lines().find(|l| l.contains("functions checked"))?;
    let mut n = l.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).map(|w| w.parse().ok());
    Some((n.next()??, n.next()??))
}

/// Runs the script of `src` on `build`'s `vmlinux.o` for `objects`
/// (relative to `build`).
pub fn run(src: &Path, build: &Path, objects: &[PathBuf]) -> Result<Outcome> {
    let out = Command::new("python3")
        .current_dir(build)
        .arg(src.join(SCRIPT))
        .arg("-v")
        .arg("--objdump")
        .arg(Path::new(crate::lab::LLVM_BIN).join("llvm-objdump"))
        .arg("--noreturns")
        .arg(src.join("tools/objtool/noreturns.h"))
        .arg("vmlinux.o")
        .args(objects)
        .output()
        .context("cannot run python3")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() != Some(2), "{SCRIPT}: {}", stderr.trim());
    let (checked, n) =
        parse_summary(&stdout).with_context(|| format!("{SCRIPT} printed no summary: {}", stderr.trim()))?;
    let findings: Vec<String> = stderr.lines().map(str::to_string).collect();
    ensure!(findings.len() == n && out.status.success() == (n == 0), "{SCRIPT}: summary and output disagree");
    Ok(Outcome { checked, findings })
}

/// Every object of `build` with a `.noinstr.text` section (the name is in
/// its section header strings), `vmlinux.o` and host tools aside.
pub fn noinstr_objects(build: &Path) -> Vec<PathBuf> {
    let needle = b".noinstr.text";
    let mut out = vec![];
    let mut stack = vec![build.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !matches!(name.as_str(), "tools" | "scripts" | "source" | "usr") {
                    stack.push(p);
                }
            } else if name.ends_with(".o")
                && name != "vmlinux.o"
                && !name.ends_with(".mod.o")
                && std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            {
                out.push(p.strip_prefix(build).unwrap_or(&p).to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The script's unit tests; returns how many ran.
pub fn unit_tests(src: &Path) -> Result<usize> {
    python_unit_tests(&src.join("scripts"), Path::new(TESTS).file_name().unwrap_or_default(), &[])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_summary_is_read() {
        assert_eq!(super::parse_summary("4 functions checked, 0 findings\n"), Some((4, 0)));
        assert_eq!(super::parse_summary("114 functions checked, 2 findings"), Some((114, 2)));
        assert_eq!(super::parse_summary("nothing"), None);
    }

    #[test]
    fn the_script_unit_tests_pass() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../linux");
        assert!(super::unit_tests(&dir).unwrap() >= 14);
    }
}
