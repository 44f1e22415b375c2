//! The arm64 variants (issue 15): the series on a second architecture.
//!
//! `arm64-c` and `arm64-rust` are cross builds (`ARCH=arm64 LLVM=1`, the same
//! clang, rustc and bindgen as x86) made by kunit.py itself in
//! `build/arm64-<variant>`, from `lab/configs/arm64.config` plus the
//! variant's fragment, and run under QEMU TCG (`qemu-system-aarch64`, virt
//! machine, GICv3) with pseudo-NMIs enabled on the command line. A run
//! passes when every KUnit case passes and the boot log says the GIC uses
//! pseudo-NMIs, so `irqentry_nmi_enter()` is what an interrupt taken with
//! interrupts masked goes through.
//!
//! The two arm64 folders build from a work tree of their own
//! ([`tree`], a `git worktree` of the kernel work tree, put on the commit
//! to build before each build), not from the kernel work tree itself: the
//! test job builds `arm64-rust` while the x86 faults check other commits
//! out in the kernel work tree ([`prebuild`]).

use crate::kunit::{self, KunitResult, Status};
use crate::lab::{Lab, Variant};
use crate::memo::{age, Memo};
use crate::util::{fmt_dur, read, say, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The arm64 fragment in `lab/configs/`, applied before the variant's.
pub const FRAGMENT: &str = "arm64.config";
/// QEMU: the virt machine with a GICv3 (pseudo-NMIs need one) and two CPUs.
pub const QEMU_ARGS: &str = "-machine gic-version=3 -smp 2";
/// Kernel command line: pseudo-NMIs are off unless asked for.
pub const KERNEL_ARGS: &str = "irqchip.gicv3_pseudo_nmi=1";
/// What the GICv3 driver prints when it uses priority masking.
pub const PSEUDO_NMI_LINE: &str = "GICv3: Pseudo-NMIs enabled";
/// QEMU for the EL2 run: the same with EL2 emulated, so that the kernel
/// runs at EL2 with VHE (`-cpu max` of kunit.py's arm64 config has it).
pub const QEMU_ARGS_EL2: &str = "-machine gic-version=3,virtualization=on -smp 2";
/// What the boot prints when the kernel runs at EL2, and with VHE.
pub const EL2_LINES: [&str; 2] = ["CPU: All CPU(s) started at EL2", "detected: Virtualization Host Extensions"];

/// The entry functions arm64's own entry code calls, which the Rust object
/// must define (and `common.o` must not) in the rust variant.
pub const ARM64_ENTRY_SYMBOLS: &[&str] = &[
    "irqentry_nmi_enter",
    "irqentry_nmi_exit",
    "exit_to_user_mode_loop",
    "raw_irqentry_exit_cond_resched",
    "dynamic_irqentry_exit_cond_resched",
];

/// `arm64-c` or `arm64-rust`: the build folder and log names.
pub fn name(v: Variant) -> String {
    format!("arm64-{}", v.name())
}

pub fn build_dir(lab: &Lab, v: Variant) -> PathBuf {
    lab.cache.join("build").join(name(v))
}

/// The kunitconfig of a variant: the arm64 fragment, the variant's, and
/// for rust `arm64-rust.config` (the noinstr check, which arm64 turns on
/// itself: it has no `NOINSTR_VALIDATION` to imply it).
pub fn kunitconfig(lab: &Lab, v: Variant) -> Result<String> {
    let mut files = vec![FRAGMENT.to_string(), format!("variant-{}.config", v.name())];
    if v == Variant::Rust {
        files.push("arm64-rust.config".into());
    }
    let mut text = String::new();
    for f in files {
        text.push_str(&read(&lab.configs().join(f))?);
        text.push('\n');
    }
    Ok(text)
}

/// The work tree the `arm64-c` and `arm64-rust` folders build from: a
/// `git worktree` of the kernel work tree (objects shared, about 1.5 GB of
/// files of its own). A build folder's objects name their source files by
/// path, so a folder always builds from the same tree.
pub fn tree(lab: &Lab) -> PathBuf {
    lab.cache.join("src/linux-7.3.4-arm64")
}

/// Puts [`tree`] on `commit` (only the files that differ are written, so
/// make rebuilds what changed), making it first when it is missing or no
/// longer a work tree of the kernel work tree (the base was fetched again).
pub fn sync_tree(lab: &Lab, commit: &str) -> Result<PathBuf> {
    let src = lab.src();
    let t = tree(lab);
    let git = crate::base::git;
    let valid = t.join(".git").is_file() && crate::util::run(git(&t).args(["rev-parse", "--git-dir"])).is_ok();
    if !valid {
        say("arm64", &format!("making the arm64 work tree {} (once: about a minute)", t.display()));
        if t.exists() {
            std::fs::remove_dir_all(&t)?;
        }
        crate::util::run(git(&src).args(["worktree", "prune"]))?;
        crate::util::run(git(&src).args(["worktree", "add", "-q", "--detach"]).arg(&t).arg(commit))?;
        return Ok(t);
    }
    let head = crate::util::run(git(&t).args(["rev-parse", "HEAD"]))?;
    if head.trim() != commit {
        // The tree is the lab's alone: local changes there are the lab's
        // own leftovers (a build interrupted mid-checkout), dropped.
        crate::util::run(git(&t).args(["checkout", "-q", "-f", "--detach", commit]))?;
    }
    Ok(t)
}

/// [`sync_tree`] on the kernel work tree's commit, which must have no
/// local changes: what the arm64 folders build is always a commit.
fn sync_to_src(lab: &Lab) -> Result<PathBuf> {
    let Some(head) = crate::series::clean_head(&lab.src()) else {
        anyhow::bail!(
            "the kernel work tree {} has local changes: the arm64 builds take a commit (commit them, or assemble again)",
            lab.src().display()
        );
    };
    sync_tree(lab, &head)
}

/// A `make` command for an arm64 build folder in `tree`, with the lab's
/// make options.
pub fn make(lab: &Lab, tree: &Path, v: Variant) -> Command {
    let mut c = lab.make_arch("arm64", &build_dir(lab, v));
    c.current_dir(tree).arg(format!("-j{}", crate::build::jobs()));
    c
}

/// kunit.py `sub` (`run` or `exec`) for arm64 in a variant's build folder,
/// under QEMU with `qemu` arguments and pseudo-NMIs on the kernel command
/// line. `--raw_output=all` keeps the whole console, which the pseudo-NMI
/// and EL2 checks read; the KTAP parser skips the other lines.
fn kunit_py(lab: &Lab, tree: &Path, sub: &str, v: Variant, qemu: &str) -> Command {
    let mut cmd = kunit_py_base(lab, tree, sub, v, false);
    cmd.args(["--qemu_args", qemu, "--kernel_args", KERNEL_ARGS, "--timeout", "300", "--raw_output=all"]);
    cmd
}

/// kunit.py `sub` in `tree` for a variant's build folder; with `low`, at
/// the lowest CPU priority (`nice -n 19`).
fn kunit_py_base(lab: &Lab, tree: &Path, sub: &str, v: Variant, low: bool) -> Command {
    let mut cmd = Command::new(if low { "nice" } else { "python3" });
    if low {
        cmd.args(["-n", "19", "python3"]);
    }
    cmd.current_dir(tree)
        .env("PATH", lab.path_env(None))
        .args(["tools/testing/kunit/kunit.py", sub, "--arch", "arm64"])
        .arg(format!("--build_dir={}", build_dir(lab, v).display()));
    cmd
}

/// Writes the variant's kunitconfig into its build folder, where
/// [`build_options`] points kunit.py.
fn write_kunitconfig(lab: &Lab, v: Variant) -> Result<()> {
    let b = build_dir(lab, v);
    std::fs::create_dir_all(&b)?;
    crate::util::write(&b.join("entry-lab.kunitconfig"), kunitconfig(lab, v)?)
}

/// The kunit.py options that decide what is built: the variant's
/// kunitconfig, the lab's make options, clang through ccache.
fn build_options(lab: &Lab, cmd: &mut Command, v: Variant) {
    cmd.env("LIBCLANG_PATH", crate::lab::LIBCLANG_PATH)
        .env("CCACHE_DIR", lab.cache.join("ccache"))
        .arg(format!("--kunitconfig={}", build_dir(lab, v).join("entry-lab.kunitconfig").display()))
        .arg(format!("--jobs={}", crate::build::jobs()));
    for o in lab.make_options() {
        cmd.arg(format!("--make_options={o}"));
    }
}

/// The kunit.py command that builds and runs a variant from `tree`.
pub fn command(lab: &Lab, tree: &Path, v: Variant) -> Command {
    let mut cmd = kunit_py(lab, tree, "run", v, QEMU_ARGS);
    build_options(lab, &mut cmd, v);
    cmd
}

/// Builds a variant at `commit` as its next [`run`] will (`kunit.py build`
/// with the same options, so that run finds nothing to rebuild), at the
/// lowest CPU priority (`nice -n 19`), without the machine-wide lock: for a
/// job that holds that lock and has a core to spare. The test job builds
/// `arm64-rust` so while its x86 faults relink, one core at a time.
pub fn prebuild(lab: &Lab, v: Variant, commit: &str) -> Result<bool> {
    let name = name(v);
    let t = sync_tree(lab, commit)?;
    write_kunitconfig(lab, v)?;
    let log = lab.results.join("logs").join(format!("build-{name}-prebuild.log"));
    let mut cmd = kunit_py_base(lab, &t, "build", v, true);
    build_options(lab, &mut cmd, v);
    say(&name, &format!("kunit.py build at low priority, beside the other work (log: {})", log.display()));
    let start = Instant::now();
    let ok = crate::util::run_logged(&mut cmd, &log, |_| {})?;
    say(
        &name,
        &format!("built ahead of its KUnit run: {} ({})", if ok { "ok" } else { "FAILED" }, fmt_dur(start.elapsed())),
    );
    Ok(ok)
}

/// A KUnit run of an arm64 variant.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Run {
    pub kunit: KunitResult,
    /// The boot said [`PSEUDO_NMI_LINE`].
    pub pseudo_nmi: bool,
    /// What is wrong with the entry symbols of the build (see [`symbol_problems`]).
    pub symbols: Vec<String>,
    /// rust: the noinstr check without objtool on `vmlinux.o`: how many
    /// noinstr functions of `entry_rs.o` it walked, and its findings.
    #[serde(default)]
    pub noinstr: Option<(usize, Vec<String>)>,
    /// Hash of the folder's `vmlinux` after the run: a kept run counts only
    /// while the folder still holds that kernel (a fault's build replaces it).
    #[serde(default)]
    pub vmlinux: Option<String>,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.problem().is_none()
    }

    /// Why the run did not pass, in one line.
    pub fn problem(&self) -> Option<String> {
        if let Some(e) = &self.kunit.error {
            return Some(e.clone());
        }
        if self.kunit.count(Status::Fail) > 0 {
            let details: String = self.kunit.failures().iter().map(|d| format!("\n    FAILED {d}")).collect();
            return Some(format!("{} failed{details}", self.kunit.count(Status::Fail)));
        }
        if !self.pseudo_nmi {
            return Some(format!("the boot did not say \"{PSEUDO_NMI_LINE}\" (log: {})", self.kunit.log));
        }
        if !self.symbols.is_empty() {
            return Some(self.symbols.join("; "));
        }
        match &self.noinstr {
            Some((0, _)) => Some("the noinstr check found no noinstr function in entry_rs.o".into()),
            Some((_, f)) if !f.is_empty() => Some(format!("noinstr check: {}", f.join("; "))),
            _ => None,
        }
    }
}

/// The kept result: keyed by the series commit, the kunitconfig and the
/// make options (kunit.py builds, so the image is not known before), and
/// valid only while `vmlinux` is the one the run left.
fn memo(lab: &Lab, v: Variant) -> Memo {
    let parts = crate::series::clean_head(&lab.src()).and_then(|head| {
        Some(vec![
            "arm64-kunit".to_string(),
            head,
            kunitconfig(lab, v).ok()?,
            lab.make_options().join(" "),
            lab.results.display().to_string(),
        ])
    });
    Memo::new(build_dir(lab, v).join("entry-lab.kept-kunit.json"), parts.as_deref())
}

/// The global functions an object defines (`llvm-nm --defined-only`), with
/// their section for the rust object (`llvm-objdump -t`).
fn defined_functions(obj: &Path) -> Result<Vec<(String, String)>> {
    let out = crate::util::run(Command::new(Path::new(crate::lab::LLVM_BIN).join("llvm-objdump")).arg("-t").arg(obj))?;
    Ok(parse_function_symbols(&out))
}

/// `(name, section)` of every global function in `llvm-objdump -t` output.
pub fn parse_function_symbols(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // ADDR g F SECTION SIZE NAME
            (f.len() == 6 && f[1] == "g" && f[2] == "F").then(|| (f[5].to_string(), f[3].to_string()))
        })
        .collect()
}

/// The rust variant must define the functions arm64 calls in `entry_rs.o`,
/// the NMI pair in `.noinstr.text`, and `common.o` none of them; the c
/// variant has no `entry_rs.o`.
pub fn symbol_problems(v: Variant, common: &[(String, String)], rust: Option<&[(String, String)]>) -> Vec<String> {
    let mut p = vec![];
    match (v, rust) {
        (Variant::C, Some(_)) => p.push("c variant: kernel/entry/entry_rs.o was built".to_string()),
        (Variant::C, None) => {
            for s in ARM64_ENTRY_SYMBOLS {
                if !common.iter().any(|(n, _)| n == s) {
                    p.push(format!("c variant: common.o does not define {s}"));
                }
            }
        }
        (Variant::Rust, None) => p.push("rust variant: no kernel/entry/entry_rs.o".to_string()),
        (Variant::Rust, Some(rust)) => {
            for s in ARM64_ENTRY_SYMBOLS {
                match rust.iter().find(|(n, _)| n == s) {
                    None => p.push(format!("entry_rs.o does not define {s}")),
                    Some((_, sec)) if s.starts_with("irqentry_nmi") && sec != ".noinstr.text" => {
                        p.push(format!("{s} is in {sec}, not .noinstr.text"))
                    }
                    _ => {}
                }
                if common.iter().any(|(n, _)| n == s) {
                    p.push(format!("common.o still defines {s}"));
                }
            }
        }
    }
    p
}

/// Builds (kunit.py does) and runs KUnit for an arm64 variant. With
/// `reuse`, a passing run kept for the same series commit is returned.
pub fn run(lab: &Lab, v: Variant, reuse: bool) -> Result<Run> {
    let name = name(v);
    let b = build_dir(lab, v);
    std::fs::create_dir_all(&b)?;
    let memo = memo(lab, v);
    if reuse {
        let vmlinux = crate::memo::file_hash(&b.join("vmlinux"));
        let same_kernel = |r: &Run| r.vmlinux.is_some() && r.vmlinux == vmlinux;
        if let Some(mut r) = memo.get(|r: &Run| r.ok() && Path::new(&r.kunit.log).exists() && same_kernel(r)) {
            say(
                &name,
                &format!("same series commit and kunitconfig as the run {}: kept ({})", age(&memo), r.kunit.summary()),
            );
            r.kunit.kept = true;
            return Ok(r);
        }
    }
    memo.forget();
    let KunitPy { k, text, start, tree: t, lock: _lock } =
        kunit_py_run(lab, v, &name, "(cross build, then QEMU TCG, GICv3, pseudo-NMIs)")?;
    let entry = b.join("kernel/entry");
    let common = defined_functions(&entry.join("common.o")).unwrap_or_default();
    let rust_obj = entry.join("entry_rs.o");
    let rust = if rust_obj.exists() { Some(defined_functions(&rust_obj)?) } else { None };
    let noinstr = if v == Variant::Rust && b.join("vmlinux.o").exists() {
        let objects: Vec<PathBuf> = crate::noinstr_check::RUST_OBJECTS.iter().map(PathBuf::from).collect();
        let o = crate::noinstr_check::run(&t, &b, &objects)?;
        Some((o.checked, o.findings))
    } else {
        None
    };
    let r = Run {
        pseudo_nmi: text.contains(PSEUDO_NMI_LINE),
        symbols: symbol_problems(v, &common, rust.as_deref()),
        noinstr,
        kunit: k,
        vmlinux: crate::memo::file_hash(&b.join("vmlinux")),
    };
    let checked = match &r.noinstr {
        Some((n, f)) => format!(", noinstr check: {n} functions, {} findings", f.len()),
        None => String::new(),
    };
    say(
        &name,
        &format!(
            "KUnit: {}, pseudo-NMIs {}{checked} ({})",
            r.kunit.summary(),
            if r.pseudo_nmi { "enabled" } else { "NOT enabled" },
            fmt_dur(start.elapsed())
        ),
    );
    if r.ok() {
        memo.put(&r)?;
    }
    Ok(r)
}

/// The control of the `# arch: arm64` faults: the unfaulted `arm64-rust`
/// passes (kept from this series commit when it did), its noinstr check
/// included.
pub fn fault_control(lab: &Lab) -> Result<Run> {
    let r = run(lab, Variant::Rust, true)?;
    if let Some(p) = r.problem() {
        say("fault", &format!("arm64-rust control failed: {p}"));
    }
    Ok(r)
}

/// Builds and runs `arm64-rust` under kunit.py as [`run`] does, with the
/// work tree as it is (a fault applied), and returns the KUnit result. Its
/// kernel is not the series': the next [`run`] finds another `vmlinux` than
/// the one it kept a result for and runs again.
pub fn fault_kunit(lab: &Lab) -> Result<KunitResult> {
    let v = Variant::Rust;
    let name = format!("{}-fault", name(v));
    let KunitPy { k, start, .. } = kunit_py_run(lab, v, &name, "with the fault")?;
    say(&name, &format!("KUnit: {} ({})", k.summary(), fmt_dur(start.elapsed())));
    Ok(k)
}

/// One `kunit.py run --arch arm64`, and what its callers go on with.
struct KunitPy {
    k: KunitResult,
    /// The console output.
    text: String,
    start: Instant,
    /// The kernel work tree, at the commit it was built from.
    tree: PathBuf,
    /// Held until the caller is done with the build folder.
    lock: crate::util::MachineLock,
}

/// `kunit.py run --arch arm64` of `v` with the kernel work tree's commit (a fault applied or
/// not), under the machine-wide build lock, logged to `results/logs/kunit-NAME.log`; `what`
/// ends the progress line.
fn kunit_py_run(lab: &Lab, v: Variant, name: &str, what: &str) -> Result<KunitPy> {
    write_kunitconfig(lab, v)?;
    let log = lab.results.join("logs").join(format!("kunit-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let lock = crate::util::machine_lock(name)?;
    let tree = sync_to_src(lab)?;
    say(name, &format!("kunit.py run --arch arm64 {what} (log: {})", log.display()));
    let start = Instant::now();
    let (k, text) = kunit::run_kunit_py(name, &mut command(lab, &tree, v), &log)?;
    Ok(KunitPy { k, text, start, tree, lock })
}

/// Builds `vmlinux` in the `arm64-rust` folder with the work tree as it is
/// (a fault applied): the error lines when the build stops, None when it
/// succeeds. The folder is rebuilt by its next KUnit run.
pub fn fault_build(lab: &Lab) -> Result<Option<Vec<String>>> {
    let name = name(Variant::Rust);
    let log = lab.results.join("logs").join(format!("build-{name}-fault.log"));
    let _lock = crate::util::machine_lock(&name)?;
    let t = sync_to_src(lab)?;
    say(&name, &format!("make vmlinux (log: {})", log.display()));
    let ok = crate::util::run_logged(make(lab, &t, Variant::Rust).arg("vmlinux"), &log, |_| {})?;
    if ok {
        return Ok(None);
    }
    Ok(Some(crate::build::error_lines(&read(&log)?).into_iter().map(String::from).collect()))
}

/// The rust variant's kernel once more, without building, on a CPU with EL2
/// and VHE (`kunit.py exec`): the kernel runs at EL2, so the boot code
/// patches the per-CPU offset's alternative to `tpidr_el2` (a record the
/// boot code did not apply would leave `tpidr_el1`, and every per-CPU read
/// of the Rust code, which the differential suite compares with C's, would
/// read another CPU's or no CPU's data), and the NMI entry takes the
/// `HCR_EL2` path of `arch_nmi_enter()`. Needs a built `arm64-rust`.
pub fn run_el2(lab: &Lab) -> Result<KunitResult> {
    let v = Variant::Rust;
    let name = format!("{}-el2", name(v));
    let log = lab.results.join("logs").join(format!("kunit-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let mut cmd = kunit_py(lab, &tree(lab), "exec", v, QEMU_ARGS_EL2);
    say(&name, &format!("kunit.py exec --arch arm64, EL2 with VHE (log: {})", log.display()));
    let start = Instant::now();
    let (mut k, text) = kunit::run_kunit_py(&name, &mut cmd, &log)?;
    if k.error.is_none() {
        let missing: Vec<&str> = EL2_LINES.iter().copied().filter(|l| !text.contains(l)).collect();
        if !missing.is_empty() {
            k.error = Some(format!("the boot did not say {missing:?} (log: {})", log.display()));
        } else if !text.contains(PSEUDO_NMI_LINE) {
            k.error = Some(format!("the boot did not say \"{PSEUDO_NMI_LINE}\" (log: {})", log.display()));
        }
    }
    say(&name, &format!("KUnit at EL2 (VHE): {} ({})", k.summary(), fmt_dur(start.elapsed())));
    Ok(k)
}

/// Cases whose result differs between the two variants (the rust-only
/// differential suites left out), as `case: c=... rust=...`.
pub fn kunit_differences(c: &KunitResult, rust: &KunitResult) -> Vec<String> {
    let word = |s: Option<Status>| match s {
        Some(Status::Pass) => "pass",
        Some(Status::Fail) => "FAIL",
        Some(Status::Skip) => "skip",
        None => "missing",
    };
    kunit::case_differences(&c.cases, &rust.cases, true)
        .into_iter()
        .map(|(n, a, b)| format!("{n}: c={} rust={}", word(a), word(b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kunit::Case;

    fn objdump(entries: &[(&str, &str)]) -> String {
        let mut s = String::from("\nkernel/entry/entry_rs.o:\tfile format elf64-littleaarch64\n\nSYMBOL TABLE:\n");
        s.push_str("0000000000000000 l    df *ABS*\t0000000000000000 entry_rs.rs\n");
        for (n, sec) in entries {
            s.push_str(&format!("0000000000000000 g     F {sec}\t0000000000000044 {n}\n"));
        }
        s.push_str("0000000000000000         *UND*\t0000000000000000 ct_nmi_enter\n");
        s
    }

    fn syms(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        parse_function_symbols(&objdump(entries))
    }

    #[test]
    fn function_symbols_from_objdump() {
        let s = syms(&[("irqentry_nmi_enter", ".noinstr.text"), ("exit_to_user_mode_loop", ".text")]);
        assert_eq!(
            s,
            vec![
                ("irqentry_nmi_enter".to_string(), ".noinstr.text".to_string()),
                ("exit_to_user_mode_loop".to_string(), ".text".to_string())
            ]
        );
    }

    #[test]
    fn rust_variant_needs_every_function_in_the_rust_object() {
        let all: Vec<(&str, &str)> = vec![
            ("irqentry_nmi_enter", ".noinstr.text"),
            ("irqentry_nmi_exit", ".noinstr.text"),
            ("exit_to_user_mode_loop", ".text"),
            ("raw_irqentry_exit_cond_resched", ".text"),
            ("dynamic_irqentry_exit_cond_resched", ".text"),
        ];
        assert!(symbol_problems(Variant::Rust, &[], Some(&syms(&all))).is_empty());
        // One missing, one in the wrong section, one still in common.o.
        let rust = syms(&[("irqentry_nmi_enter", ".text"), ("exit_to_user_mode_loop", ".text")]);
        let common = syms(&[("raw_irqentry_exit_cond_resched", ".text")]);
        let p = symbol_problems(Variant::Rust, &common, Some(&rust));
        assert!(p.contains(&"irqentry_nmi_enter is in .text, not .noinstr.text".to_string()), "{p:?}");
        assert!(p.contains(&"entry_rs.o does not define irqentry_nmi_exit".to_string()), "{p:?}");
        assert!(p.contains(&"common.o still defines raw_irqentry_exit_cond_resched".to_string()), "{p:?}");
        assert_eq!(symbol_problems(Variant::Rust, &[], None), vec!["rust variant: no kernel/entry/entry_rs.o"]);
    }

    #[test]
    fn c_variant_has_them_in_common_and_no_rust_object() {
        let all: Vec<(&str, &str)> = ARM64_ENTRY_SYMBOLS.iter().map(|s| (*s, ".text")).collect();
        assert!(symbol_problems(Variant::C, &syms(&all), None).is_empty());
        assert_eq!(
            symbol_problems(Variant::C, &syms(&all), Some(&[])),
            vec!["c variant: kernel/entry/entry_rs.o was built"]
        );
        assert_eq!(
            symbol_problems(Variant::C, &syms(&all[1..]), None),
            vec!["c variant: common.o does not define irqentry_nmi_enter"]
        );
    }

    #[test]
    fn differences_leave_out_the_rust_only_suites() {
        let case = |n: &str, s| Case { name: n.to_string(), status: s };
        let c = KunitResult {
            cases: vec![case("generic_entry.a", Status::Pass), case("generic_entry.b", Status::Pass)],
            ..Default::default()
        };
        let r = KunitResult {
            cases: vec![
                case("generic_entry.a", Status::Pass),
                case("generic_entry.b", Status::Fail),
                case("entry_rust_vs_c.x", Status::Pass),
            ],
            ..Default::default()
        };
        assert_eq!(kunit_differences(&c, &r), vec!["generic_entry.b: c=pass rust=FAIL"]);
        assert!(kunit_differences(&c, &c).is_empty());
    }
}
