//! Compile-fail tests of the entry code's typed rules (issue 12).
//!
//! The kernel's doctest runner does not compile `compile_fail` examples, so
//! the rules that the types of `rust/kernel/entry/` enforce are shown here,
//! on the host, against the `kernel` crate of a real build: each case in
//! `lab/compile-fail/NAME.rs` is a small crate that is compiled twice with
//! the exact `rustc` command Kbuild used for `kernel/entry/entry_rs.o`
//! (its flags, target, cfgs and `--extern kernel`), once as the **failing**
//! version and once as its **twin**:
//!
//! - lines ending in `// fail-only` are in the failing version only, lines
//!   ending in `// twin-only` in the twin only; the two differ in nothing
//!   else, so the rule is the only difference;
//! - `//! expect: E0599` pins the error code. The failing version must stop
//!   with that code and no other; the twin must compile (to an object: some
//!   rules are checked when code is generated) without errors.
//!
//! So a case cannot pass by failing for another reason (a typo, a missing
//! import), and a rule that stops holding makes its failing version compile.

use crate::util::{read, Result};
use anyhow::{bail, Context};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of the cases, relative to the repository.
pub const DIR: &str = "lab/compile-fail";
/// The Kbuild command file of the object whose `rustc` line the cases use.
pub const CMD_FILE: &str = "kernel/entry/.entry_rs.o.cmd";

const FAIL_ONLY: &str = "// fail-only";
const TWIN_ONLY: &str = "// twin-only";

/// One rule: the failing version, its twin and the error code it must give.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    /// What the rule is (the `//! rule:` line).
    pub rule: String,
    /// The one error code the failing version must stop with.
    pub expect: String,
    pub failing: String,
    pub twin: String,
}

/// Parses a case file.
pub fn parse(name: &str, text: &str) -> Result<Case> {
    let header =
        |key: &str| text.lines().find_map(|l| l.strip_prefix(&format!("//! {key}:")).map(|v| v.trim().to_string()));
    let expect = header("expect").with_context(|| format!("{name}: no `//! expect: E....` line"))?;
    if !(expect.len() == 5 && expect.starts_with('E') && expect[1..].chars().all(|c| c.is_ascii_digit())) {
        bail!("{name}: `expect: {expect}` is not an error code like E0599");
    }
    let rule = header("rule").with_context(|| format!("{name}: no `//! rule:` line"))?;
    let (mut failing, mut twin) = (String::new(), String::new());
    let (mut n_fail, mut n_twin) = (0, 0);
    for l in text.lines() {
        let t = l.trim_end();
        if let Some(code) = t.strip_suffix(FAIL_ONLY) {
            failing.push_str(code.trim_end());
            failing.push('\n');
            twin.push('\n');
            n_fail += 1;
        } else if let Some(code) = t.strip_suffix(TWIN_ONLY) {
            twin.push_str(code.trim_end());
            twin.push('\n');
            failing.push('\n');
            n_twin += 1;
        } else {
            failing.push_str(l);
            failing.push('\n');
            twin.push_str(l);
            twin.push('\n');
        }
    }
    if n_fail + n_twin == 0 {
        bail!("{name}: no line ends in `{FAIL_ONLY}` or `{TWIN_ONLY}`: the twin would be the failing version");
    }
    Ok(Case { name: name.to_string(), rule, expect, failing, twin })
}

/// Every case of the repository, sorted by name.
pub fn load(repo: &Path) -> Result<Vec<Case>> {
    let dir = repo.join(DIR);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            parse(&name, &read(p)?)
        })
        .collect()
}

/// The `rustc` command line of `kernel/entry/entry_rs.o`, from its Kbuild
/// command file, with the source and the outputs left out.
pub fn rustc_line(cmd_file_text: &str) -> Result<String> {
    let line = cmd_file_text
        .lines()
        .find_map(|l| l.strip_prefix("savedcmd_kernel/entry/entry_rs.o :="))
        .context("no savedcmd_kernel/entry/entry_rs.o line (was entry_rs.o built by Kbuild?)")?;
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let Some(src) = words.pop() else { bail!("empty rustc command") };
    if !src.ends_with("entry_rs.rs") {
        bail!("the command does not end with entry_rs.rs: {src}");
    }
    // Drop the outputs: `--emit=...` and `--out-dir DIR` (two words).
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        if w == "--out-dir" {
            words.next();
        } else if !w.starts_with("--emit=") {
            out.push(w);
        }
    }
    if !out.contains(&"--extern") || !out.iter().any(|w| w.starts_with("--target")) {
        bail!("the command has no --extern or --target: not a kernel rustc line");
    }
    Ok(out.join(" "))
}

/// The error codes in rustc's output (`error[E0599]`).
pub fn error_codes(output: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (i, _) in output.match_indices("error[E") {
        let code = &output[i + 6..];
        if let Some(end) = code.find(']') {
            codes.insert(code[..end].to_string());
        }
    }
    codes
}

/// What one compilation did.
#[derive(Debug)]
pub struct Compiled {
    pub ok: bool,
    pub output: String,
}

/// The verdict on a case from its two compilations.
pub fn judge(case: &Case, failing: &Compiled, twin: &Compiled) -> std::result::Result<(), String> {
    if !twin.ok {
        return Err(format!("the twin does not compile, so the case shows nothing: {}", first_error(&twin.output)));
    }
    if failing.ok {
        return Err(format!("the failing version compiles: the rule `{}` does not hold", case.rule));
    }
    let codes = error_codes(&failing.output);
    let want = BTreeSet::from([case.expect.clone()]);
    if codes != want {
        return Err(format!(
            "the failing version stops with {:?}, not with {} alone: {}",
            codes,
            case.expect,
            first_error(&failing.output)
        ));
    }
    Ok(())
}

/// The first error line of rustc's output.
pub fn first_error(output: &str) -> String {
    output.lines().find(|l| l.starts_with("error")).unwrap_or("(no error line)").to_string()
}

/// Compiles `src` with the entry object's rustc line in `build`.
fn compile(build: &Path, line: &str, name: &str, src: &str, scratch: &Path) -> Result<Compiled> {
    std::fs::create_dir_all(scratch)?;
    let file = scratch.join(format!("{name}.rs"));
    std::fs::write(&file, src)?;
    compile_file(build, line, name, &file, scratch)
}

/// Compiles `file` (a version of `kernel/entry/entry_rs.rs`, where it lies, so that its
/// relative paths hold) to an object in `scratch` with `line`, the `rustc` line Kbuild used
/// for `entry_rs.o` in `build` ([`entry_rustc_line`]), and nothing else of Kbuild: a few seconds instead of a `make`
/// of the tree. The mutation sweep tells stillborn mutants with it.
pub fn compile_entry_object(build: &Path, line: &str, file: &Path, scratch: &Path) -> Result<Compiled> {
    std::fs::create_dir_all(scratch)?;
    compile_file(build, line, "entry_rs_alone", file, scratch)
}

/// [`rustc_line`] of the `entry_rs.o` that `build` holds.
pub fn entry_rustc_line(build: &Path) -> Result<String> {
    rustc_line(&read(&build.join(CMD_FILE))?)
}

fn compile_file(build: &Path, line: &str, name: &str, file: &Path, scratch: &Path) -> Result<Compiled> {
    let obj = scratch.join(format!("{name}.o"));
    let _ = std::fs::remove_file(&obj);
    let full = format!(
        "{line} --crate-name compile_fail_{} --emit=obj={} {}",
        name.replace('-', "_"),
        obj.display(),
        file.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&full)
        .current_dir(build)
        // Kbuild exports it for every rustc it runs (the kernel uses unstable options).
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .with_context(|| format!("running rustc for {name}"))?;
    let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stdout));
    Ok(Compiled { ok: out.status.success() && obj.exists(), output })
}

/// Runs every case against the `kernel` crate of `build` (a built `rust`
/// tree). One result per case, in order.
pub fn run(repo: &Path, build: &Path, scratch: &Path) -> Result<Vec<(Case, std::result::Result<(), String>)>> {
    let cases = load(repo)?;
    if cases.is_empty() {
        bail!("no cases in {DIR}");
    }
    let line = entry_rustc_line(build)?;
    let _ = std::fs::remove_dir_all(scratch);
    let mut out = vec![];
    for c in cases {
        let failing = compile(build, &line, &format!("{}-fail", c.name), &c.failing, scratch)?;
        let twin = compile(build, &line, &format!("{}-twin", c.name), &c.twin, scratch)?;
        let v = judge(&c, &failing, &twin);
        out.push((c, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: &str = "//! rule: steps in order\n//! expect: E0599\nfn f() {\n    a(); // twin-only\n    b(); // fail-only\n    c();\n}\n";

    #[test]
    fn the_two_versions_differ_only_in_the_marked_lines() {
        let c = parse("order", CASE).unwrap();
        assert_eq!(c.expect, "E0599");
        assert_eq!(c.rule, "steps in order");
        assert!(c.twin.contains("    a();\n") && !c.twin.contains("b()"), "{}", c.twin);
        assert!(c.failing.contains("    b();\n") && !c.failing.contains("a()"), "{}", c.failing);
        // Same line numbers in both, so the compiler's messages line up.
        assert_eq!(c.twin.lines().count(), c.failing.lines().count());
        assert!(!c.failing.contains("fail-only") && !c.twin.contains("twin-only"));
    }

    #[test]
    fn a_case_without_code_marker_or_difference_is_refused() {
        assert!(parse("x", "//! rule: r\nfn f() {}\n").unwrap_err().to_string().contains("expect"));
        assert!(parse("x", "//! expect: 599\n//! rule: r\n").unwrap_err().to_string().contains("not an error code"));
        assert!(parse("x", "//! expect: E0599\nfn f() {}\n").unwrap_err().to_string().contains("rule"));
        let e = parse("x", "//! expect: E0599\n//! rule: r\nfn f() {}\n").unwrap_err().to_string();
        assert!(e.contains("the twin would be the failing version"), "{e}");
    }

    fn compiled(ok: bool, output: &str) -> Compiled {
        Compiled { ok, output: output.to_string() }
    }

    #[test]
    fn a_case_passes_only_when_the_failing_version_stops_with_its_code_alone() {
        let c = parse("order", CASE).unwrap();
        let twin_ok = compiled(true, "");
        let e0599 = compiled(false, "error[E0599]: no method named `x` found\n");
        assert_eq!(judge(&c, &e0599, &twin_ok), Ok(()));
        // The rule does not hold: the failing version compiles.
        assert!(judge(&c, &compiled(true, ""), &twin_ok).unwrap_err().contains("compiles"));
        // Fails for another reason as well, or only for another one.
        let two = compiled(false, "error[E0599]: a\nerror[E0425]: cannot find value\n");
        assert!(judge(&c, &two, &twin_ok).unwrap_err().contains("E0425"));
        let other = compiled(false, "error[E0308]: mismatched types\n");
        assert!(judge(&c, &other, &twin_ok).unwrap_err().contains("not with E0599 alone"));
        // A twin that does not compile shows nothing.
        let bad_twin = compiled(false, "error[E0599]: x\n");
        assert!(judge(&c, &e0599, &bad_twin).unwrap_err().contains("twin does not compile"));
    }

    #[test]
    fn the_rustc_line_is_the_entry_objects_without_its_source_and_outputs() {
        let cmd = "savedcmd_kernel/entry/entry_rs.o := OBJTREE=/b RUST_MODFILE=kernel/entry/entry_rs /usr/bin/rustc \
                   --edition=2021 -Cpanic=abort --target=./scripts/target.json @./include/generated/rustc_cfg \
                   -Zcrate-attr='feature(asm_goto)' --extern kernel --crate-type rlib -L ./rust/ \
                   --sysroot=/dev/null --out-dir kernel/entry/ --emit=dep-info=kernel/entry/.entry_rs.o.d \
                   --emit=obj=kernel/entry/entry_rs.o /s/kernel/entry/entry_rs.rs  \n\nsource_kernel/entry/entry_rs.o := x\n";
        let l = rustc_line(cmd).unwrap();
        assert!(l.starts_with("OBJTREE=/b RUST_MODFILE=kernel/entry/entry_rs /usr/bin/rustc --edition=2021"), "{l}");
        assert!(l.contains("-Zcrate-attr='feature(asm_goto)' --extern kernel"), "{l}");
        assert!(!l.contains("--emit") && !l.contains("--out-dir") && !l.contains("entry_rs.rs"), "{l}");
        assert!(l.ends_with("--sysroot=/dev/null"), "{l}");
        assert!(rustc_line("savedcmd_x.o := cc x.c").is_err());
        assert!(rustc_line("savedcmd_kernel/entry/entry_rs.o := rustc x.rs").is_err());
    }

    #[test]
    fn error_codes_are_collected_from_the_output() {
        let o = "error[E0599]: a\n --> x\nerror[E0080]: b\nerror: aborting due to 2 previous errors\n";
        assert_eq!(error_codes(o), BTreeSet::from(["E0080".to_string(), "E0599".to_string()]));
        assert!(error_codes("warning: unused\n").is_empty());
    }
}
