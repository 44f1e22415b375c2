//! Every prefix of the series builds on its own (`entry-lab bisect`):
//! the lab's work tree is moved to the base and then to each patch in
//! turn, and three build folders follow it incrementally:
//!
//! - `off`: the `c` variant's fragments (Rust on, `RUST_GENERIC_ENTRY` off);
//! - `norust`: the same with `CONFIG_RUST` off;
//! - `on`: the `rust` variant's fragments, from the first patch whose tree
//!   has the option (before it, `on` is the `off` configuration).
//!
//! objtool runs in each build (`NOINSTR_VALIDATION`): a warning fails the
//! step. The base's `off` and `norust` objects of `kernel/entry/` and
//! `arch/x86/entry/` are kept, and every later `off` and `norust` build
//! must leave the same bytes: with the option off the series changes
//! nothing there. An object the base does not have is allowed only for a
//! KUnit test (and `kernel/entry/virt.o`, which the series' KUnit option
//! selects). Last, the tip is built with GCC (`norust`'s fragments, no
//! `LLVM=1`). Results are kept per commit and configuration
//! (`results/bisect.json`), so an interrupted run resumes.
//!
//! On arm64 (asked for by name: `--config arm64-off arm64-on`), two more
//! folders follow the same commits with the `arm64-c` and `arm64-rust`
//! fragments (`arm64.rs`; cross builds of `vmlinux`, LLVM=1): `arm64-off`
//! leaves `kernel/entry/` and arm64's entry objects as the base builds them,
//! and `arm64-on` builds, with the noinstr check without objtool, from the
//! first patch whose option is available on arm64.

use crate::build::{first_error, jobs, merge_objtool, objtool_warning, step_target, target_fragment};
use crate::lab::{Lab, Target, Variant};
use crate::util::{bail, fmt_dur, read, say, write, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One configuration every prefix is built in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Config {
    Off,
    NoRust,
    On,
    Gcc,
    Arm64Off,
    Arm64On,
}

impl Config {
    pub const PREFIX: [Config; 3] = [Config::Off, Config::NoRust, Config::On];
    /// Every configuration, in the order of the table's columns.
    pub const ALL: [Config; 6] =
        [Config::Off, Config::NoRust, Config::On, Config::Gcc, Config::Arm64Off, Config::Arm64On];

    pub fn name(self) -> &'static str {
        match self {
            Config::Off => "off",
            Config::NoRust => "norust",
            Config::On => "on",
            Config::Gcc => "gcc",
            Config::Arm64Off => "arm64-off",
            Config::Arm64On => "arm64-on",
        }
    }

    /// The arm64 configurations, built only when asked for by name.
    pub fn arm64(self) -> bool {
        matches!(self, Config::Arm64Off | Config::Arm64On)
    }

    /// The directories whose objects must not change with the option off.
    pub fn same_dirs(self) -> &'static [&'static str] {
        if self.arm64() {
            &crate::arm64_identity::ARM64_SAME
        } else {
            &SAME_DIRS
        }
    }

    pub fn parse(s: &str) -> Option<Config> {
        Config::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The fragment: the lab's variant fragments, `CONFIG_RUST` dropped
    /// for `norust` and `gcc`.
    pub fn fragment(self, lab: &Lab) -> Result<String> {
        match self {
            Config::Arm64Off => return crate::arm64::kunitconfig(lab, Variant::C),
            Config::Arm64On => return crate::arm64::kunitconfig(lab, Variant::Rust),
            _ => {}
        }
        let variant = if self == Config::On { Variant::Rust } else { Variant::C };
        let t = Target {
            name: String::new(),
            variant,
            configs: vec!["base.config".into(), format!("variant-{}.config", variant.name())],
            seed: None,
        };
        let mut f = target_fragment(lab, &t)?;
        if matches!(self, Config::NoRust | Config::Gcc) {
            f = without_rust(&f);
        }
        Ok(f)
    }

    /// Does this configuration's built object set have to equal the base's?
    fn compared(self) -> bool {
        matches!(self, Config::Off | Config::NoRust | Config::Arm64Off)
    }

    /// Builds with `RUST_GENERIC_ENTRY` on (where the tree has it).
    fn on(self) -> bool {
        matches!(self, Config::On | Config::Arm64On)
    }
}

/// A fragment with `CONFIG_RUST` and the Rust-only requests turned off.
pub fn without_rust(fragment: &str) -> String {
    let mut out: String = fragment
        .lines()
        .filter(|l| !l.starts_with("CONFIG_RUST=") && !l.starts_with("CONFIG_RUST_"))
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str("# CONFIG_RUST is not set\n");
    out
}

/// What `.config` must say after olddefconfig, given whether the tree
/// has the option yet.
pub fn config_problems(c: Config, dotconfig: &str, has_option: bool) -> Vec<String> {
    let set = |k: &str| dotconfig.lines().any(|l| l == format!("{k}=y"));
    let mut p = vec![];
    let rust = set("CONFIG_RUST");
    let opt = set("CONFIG_RUST_GENERIC_ENTRY");
    match c {
        Config::NoRust | Config::Gcc if rust => p.push("CONFIG_RUST is set".into()),
        Config::Off | Config::Arm64Off if !rust => p.push("CONFIG_RUST is not set".into()),
        c if c.on() && has_option && !opt => p.push("CONFIG_RUST_GENERIC_ENTRY is not set".into()),
        _ => {}
    }
    if !c.on() && opt {
        p.push("CONFIG_RUST_GENERIC_ENTRY is set".into());
    }
    p
}

/// The result of one configuration at one commit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub commit: String,
    pub subject: String,
    pub config: String,
    pub ok: bool,
    pub seconds: u64,
    /// Build failure, objtool warnings, or objects that differ from the base's.
    pub problems: Vec<String>,
    /// Objects of kernel/entry and arch/x86/entry compared with the base's.
    #[serde(default)]
    pub compared: usize,
    /// Of those, the ones that differ only in `__bug_table` line numbers.
    #[serde(default)]
    pub bug_lines: Vec<String>,
    /// The build was skipped: `on` before the option exists.
    #[serde(default)]
    pub note: Option<String>,
    /// The configuration's fragment (its SHA-256, first 12 digits): a
    /// result is kept only for the same fragment (see [`fragment_id`]).
    #[serde(default)]
    pub fragment: String,
}

pub fn results_file(lab: &Lab) -> PathBuf {
    lab.results.join("bisect.json")
}

pub fn load(lab: &Lab) -> BTreeMap<String, Step> {
    read(&results_file(lab)).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

/// What a kernel build of `commit` depends on: its tree without
/// `tools/testing/` (the selftests, which no kernel build compiles; the rest
/// of `tools/` builds objtool and is kept), as the listing of the top level
/// and of `tools/`.
pub fn kernel_tree(src: &Path, commit: &str) -> Option<String> {
    let ls = |what: String| {
        let out = Command::new("git").current_dir(src).args(["ls-tree", &what]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    Some(kernel_listing(&ls(commit.to_string())?, &ls(format!("{commit}:tools"))?))
}

/// The listing [`kernel_tree`] compares: `top` without its `tools` line,
/// then `tools` without its `testing` line.
pub fn kernel_listing(top: &str, tools: &str) -> String {
    let name = |l: &str| l.rsplit('\t').next().unwrap_or_default().to_string();
    let mut out: String = top.lines().filter(|l| name(l) != "tools").map(|l| format!("{l}\n")).collect();
    out.push_str("tools/\n");
    out.extend(tools.lines().filter(|l| name(l) != "testing").map(|l| format!("{l}\n")));
    out
}

/// A passed step of configuration `c` for another commit with the same
/// kernel sources as `commit` (a series change that touched only the
/// selftests rebuilds nothing the bisection checks).
fn same_kernel_step(
    src: &Path,
    all: &BTreeMap<String, Step>,
    commit: &str,
    c: Config,
    fragment: &str,
    trees: &mut BTreeMap<String, Option<String>>,
) -> Option<Step> {
    let mut tree = |x: &str| trees.entry(x.to_string()).or_insert_with(|| kernel_tree(src, x)).clone();
    let want = tree(commit)?;
    all.values()
        .filter(|st| {
            st.ok && st.config == c.name() && st.fragment == fragment && st.commit != commit && st.note.is_none()
        })
        .find(|st| tree(&st.commit).as_deref() == Some(want.as_str()))
        .cloned()
}

/// A step's key: the commit, the configuration and its fragment, so that a
/// changed `lab/configs/` fragment (a new option in `base.config`) builds
/// every step again instead of keeping results of another configuration.
fn key(commit: &str, c: Config, fragment: &str) -> String {
    format!("{commit}:{}:{fragment}", c.name())
}

/// The first 12 hex digits of the SHA-256 of a fragment.
pub fn fragment_id(fragment: &str) -> String {
    crate::memo::fingerprint(&[fragment])[..12].to_string()
}

/// The build folders of the bisection.
fn dir(lab: &Lab, c: Config) -> PathBuf {
    lab.cache.join("bisect").join(c.name())
}

/// Where the base's objects of a configuration are kept: one folder per
/// fragment, so that objects of an unpatched build with another fragment
/// are never the reference.
fn base_objects(lab: &Lab, c: Config, fragment: &str) -> PathBuf {
    lab.cache.join("bisect").join(format!("{}-{fragment}.base-objects", c.name()))
}

/// The directories whose objects must not change with the option off.
pub const SAME_DIRS: [&str; 2] = ["kernel/entry", "arch/x86/entry"];

/// Every `.o` below `SAME_DIRS` of a build folder, relative to it.
pub fn entry_objects(build: &Path) -> Vec<PathBuf> {
    objects_in(build, &SAME_DIRS)
}

/// Built with the option off only because the series' KUnit option
/// (`GENERIC_ENTRY_KUNIT_TEST`, on in the lab's fragments) selects
/// `VIRT_XFER_TO_GUEST_WORK` for its guest-transfer cases: the base has no
/// such option, so it does not build the object.
pub const SELECTED_BY_TEST: &str = "kernel/entry/virt.o";

/// The problems of a comparison without the new-object problem of
/// [`SELECTED_BY_TEST`] when `dotconfig` has the series' KUnit option.
pub fn without_selected_by_test(problems: Vec<String>, dotconfig: &str) -> Vec<String> {
    if !dotconfig.lines().any(|l| l == "CONFIG_GENERIC_ENTRY_KUNIT_TEST=y") {
        return problems;
    }
    let new = format!("{SELECTED_BY_TEST} is new (the unpatched build has no such object)");
    problems.into_iter().filter(|p| *p != new).collect()
}

/// Every `.o` below `dirs` of a build folder (or a `dirs` entry that is an
/// object itself), relative to it.
pub fn objects_in(build: &Path, dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = vec![];
    for f in dirs.iter().filter(|d| d.ends_with(".o")) {
        if build.join(f).is_file() {
            out.push(PathBuf::from(f));
        }
    }
    let mut stack: Vec<PathBuf> = dirs.iter().filter(|d| !d.ends_with(".o")).map(|d| build.join(d)).collect();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "o") {
                if let Ok(r) = p.strip_prefix(build) {
                    out.push(r.to_path_buf());
                }
            }
        }
    }
    out.sort();
    out
}

/// Compares the objects of `build` with those kept in `base`: returns
/// the number compared and the problems (a differing object, one the
/// base has and the build lost, or a new one that is not a KUnit test).
pub fn compare_objects(base: &Path, build: &Path) -> (usize, Vec<String>, Vec<String>) {
    compare_objects_in(base, build, &SAME_DIRS)
}

/// [`compare_objects`] for the objects below `dirs` (see [`objects_in`]).
pub fn compare_objects_in(base: &Path, build: &Path, dirs: &[&str]) -> (usize, Vec<String>, Vec<String>) {
    let old = objects_in(base, dirs);
    let new = objects_in(build, dirs);
    let mut problems = vec![];
    let mut bug_lines = vec![];
    let mut n = 0;
    for o in &old {
        match (std::fs::read(base.join(o)), std::fs::read(build.join(o))) {
            (Ok(a), Ok(b)) => {
                n += 1;
                if a != b {
                    if same_but_line_numbers(&base.join(o), &build.join(o)) {
                        bug_lines.push(o.display().to_string());
                    } else {
                        problems.push(format!("{} differs from the unpatched build's", o.display()));
                    }
                }
            }
            (_, Err(_)) => problems.push(format!("{} is not built (the unpatched build has it)", o.display())),
            (Err(e), _) => problems.push(format!("cannot read the kept {}: {e}", o.display())),
        }
    }
    for o in new.iter().filter(|o| !old.contains(o) && linked(build, o)) {
        if !is_test_object(o) {
            problems.push(format!("{} is new (the unpatched build has no such object)", o.display()));
        }
    }
    (n, problems, bug_lines)
}

/// Whether this build linked `o` (relative to `build`): listed in the thin
/// archive `built-in.a` of its directory, which Kbuild writes anew on every
/// build. An object of an earlier build in the same folder that this one no
/// longer selects stays there (Kbuild does not delete it) but is not listed:
/// a bisect that goes back from the tip to patch 7 finds the tip's
/// `kernel/entry/virt.o`. True where the directory has no `built-in.a`.
fn linked(build: &Path, o: &Path) -> bool {
    let (Some(dir), Some(name)) = (o.parent(), o.file_name().and_then(|n| n.to_str())) else {
        return true;
    };
    let Ok(archive) = std::fs::read(build.join(dir).join("built-in.a")) else {
        return true;
    };
    let needle = format!("\n{name}/\n");
    archive.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Two objects that differ only in line numbers of their source: the same
/// sections, the same bytes once `__bug_table` is dropped and the initcall
/// symbols are given the base's names. A file the series adds lines to
/// (comments, `#ifdef CONFIG_RUST_GENERIC_ENTRY`) moves what is below them:
/// `CONFIG_DEBUG_BUGVERBOSE` records each `WARN()`'s line in `__bug_table`,
/// and `__initcall_id()` puts `__LINE__` into the initcall's symbol name
/// (`__initcall__kmod_syscall_user_dispatch__678_197_...`). The code and
/// every other byte stay the same. The lab prints which objects these are.
pub fn same_but_line_numbers(a: &Path, b: &Path) -> bool {
    let llvm = |tool: &str| Path::new(crate::lab::LLVM_BIN).join(tool);
    let listing = |o: &Path, arg: &str| {
        Command::new(llvm("llvm-objdump"))
            .arg(arg)
            .arg(o)
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).lines().skip(3).map(str::to_string).collect::<Vec<_>>())
    };
    let (Some(sa), Some(sb), Some(ya), Some(yb)) =
        (listing(a, "-h"), listing(b, "-h"), listing(a, "-t"), listing(b, "-t"))
    else {
        return false;
    };
    let name = |l: &String| l.split_whitespace().last().unwrap_or_default().to_string();
    let Some(renames) =
        line_renames(&ya.iter().map(name).collect::<Vec<_>>(), &yb.iter().map(name).collect::<Vec<_>>())
    else {
        return false;
    };
    let stripped = |o: &Path, to: &Path, renames: &[(String, String)]| {
        let mut c = Command::new(llvm("llvm-objcopy"));
        // The annotations of objtool's data (ANNOTATE_DATA_SPECIAL) point
        // into __bug_table, so it cannot go alone.
        c.args(["-R", "__bug_table", "-R", ".rela__bug_table", "-R", ".discard.annotate_data"]);
        // The linker's address-significance table (for identical code
        // folding, which the kernel does not do): its link to the symbol
        // table was 0 in a kept base object and set in the rebuilt one.
        c.args(["-R", ".llvm_addrsig"]);
        for (from, to) in renames {
            c.arg(format!("--redefine-sym={from}={to}"));
        }
        c.arg(o).arg(to).status().is_ok_and(|s| s.success()).then(|| std::fs::read(to).ok()).flatten()
    };
    let tmp = std::env::temp_dir().join(format!("entry-lab-linecmp-{}", std::process::id()));
    let (ta, tb) = (tmp.with_extension("a.o"), tmp.with_extension("b.o"));
    let same = match (stripped(a, &ta, &[]), stripped(b, &tb, &renames)) {
        (Some(xa), Some(xb)) => {
            // Section names and sizes; the string table's size follows the
            // names, which may have a digit more or less.
            let names = |v: &[String]| {
                v.iter()
                    .map(|l| {
                        let w: Vec<&str> = l.split_whitespace().collect();
                        if w.get(1) == Some(&".strtab") {
                            w.iter().take(2).copied().collect::<Vec<_>>().join(" ")
                        } else {
                            w.iter().take(3).copied().collect::<Vec<_>>().join(" ")
                        }
                    })
                    .collect::<Vec<_>>()
            };
            let explained = !renames.is_empty() || sa.iter().any(|l| l.contains("__bug_table"));
            explained && names(&sa) == names(&sb) && xa == xb
        }
        _ => false,
    };
    let _ = std::fs::remove_file(&ta);
    let _ = std::fs::remove_file(&tb);
    same
}

/// The renames (`b`'s name to `a`'s) that make two symbol lists equal when
/// they differ only in the numbers of initcall names; None when they differ
/// otherwise.
pub fn line_renames(a: &[String], b: &[String]) -> Option<Vec<(String, String)>> {
    if a.len() != b.len() {
        return None;
    }
    let digits = |s: &str| s.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect::<String>();
    let squeeze = |s: String| {
        let mut out = String::new();
        for c in s.chars() {
            if !(c == '#' && out.ends_with('#')) {
                out.push(c);
            }
        }
        out
    };
    let mut renames = vec![];
    for (x, y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        if x.starts_with("__initcall__kmod_") && squeeze(digits(x)) == squeeze(digits(y)) {
            renames.push((y.clone(), x.clone()));
        } else {
            return None;
        }
    }
    Some(renames)
}

/// KUnit objects the series adds: not part of the kernel under test.
pub fn is_test_object(o: &Path) -> bool {
    o.file_name().is_some_and(|n| n.to_string_lossy().contains("kunit"))
}

/// Copies the objects below `dirs` of `build` to `to` (the base's, kept).
fn keep_objects(build: &Path, to: &Path, dirs: &[&str]) -> Result<usize> {
    let _ = std::fs::remove_dir_all(to);
    let objs = objects_in(build, dirs);
    for o in &objs {
        let dst = to.join(o);
        std::fs::create_dir_all(dst.parent().unwrap_or(to))?;
        std::fs::copy(build.join(o), dst)?;
    }
    Ok(objs.len())
}

/// A `make` in the lab's work tree for a bisection folder: the lab's
/// options, or GCC for `gcc`.
fn make(lab: &Lab, c: Config, out: &Path) -> Command {
    if c.arm64() {
        return lab.make_arch("arm64", out);
    }
    if c != Config::Gcc {
        return lab.make_in(out);
    }
    let mut m = Command::new("make");
    m.current_dir(lab.src())
        .env("CCACHE_DIR", lab.cache.join("ccache"))
        .arg("ARCH=x86_64")
        .arg(format!("O={}", out.display()))
        .arg("CC=ccache gcc");
    m
}

/// Configures and builds one configuration at the checked-out commit.
fn build_one(lab: &Lab, c: Config, label: &str, has_option: bool) -> Result<(bool, Vec<String>)> {
    let b = dir(lab, c);
    std::fs::create_dir_all(&b)?;
    let logs = lab.results.join("logs");
    std::fs::create_dir_all(&logs)?;
    let log = logs.join(format!("bisect-{}.log", c.name()));
    let _ = std::fs::remove_file(&log);
    write(&b.join(".config"), &c.fragment(lab)?)?;
    if !crate::util::run_logged(make(lab, c, &b).arg("olddefconfig"), &log, |_| {})? {
        return Ok((false, vec![format!("make olddefconfig failed (log: {})", log.display())]));
    }
    let problems = config_problems(c, &read(&b.join(".config"))?, has_option);
    if !problems.is_empty() {
        return Ok((false, problems));
    }
    let start = Instant::now();
    let mut tick = Instant::now();
    let (mut steps, mut rebuilt, mut warnings) = (0usize, vec![], vec![]);
    let mut m = make(lab, c, &b);
    m.arg(format!("-j{}", jobs()));
    if c.arm64() {
        // Not the default targets: those build every device tree of arm64.
        m.arg("vmlinux");
    }
    let ok = crate::util::run_logged(&mut m, &log, |l| {
        if let Some((_, t)) = step_target(l) {
            steps += 1;
            rebuilt.push(t.to_string());
        }
        if let Some((obj, w)) = objtool_warning(l) {
            warnings.push((obj.to_string(), w.to_string()));
        }
        if tick.elapsed().as_secs() >= 30 {
            tick = Instant::now();
            say("bisect", &format!("{label} {}: {steps} objects built, {}", c.name(), fmt_dur(start.elapsed())));
        }
    })?;
    // Warnings of objects not rebuilt this time are kept from earlier builds.
    let store = b.join("entry-lab.objtool.json");
    let old: BTreeMap<String, Vec<String>> =
        read(&store).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    let merged = merge_objtool(&old, &rebuilt, &warnings);
    write(&store, serde_json::to_string_pretty(&merged).unwrap_or_default())?;
    let mut problems = vec![];
    if !ok {
        let text = read(&log).unwrap_or_default();
        problems.push(format!(
            "build failed: {} (log: {})",
            first_error(&text).unwrap_or("make failed").trim(),
            log.display()
        ));
    }
    problems.extend(merged.values().flatten().cloned());
    say(
        "bisect",
        &format!(
            "{label} {}: {} in {} ({steps} objects, {} objtool warnings)",
            c.name(),
            if ok { "built" } else { "FAILED" },
            fmt_dur(start.elapsed()),
            merged.values().flatten().count()
        ),
    );
    Ok((problems.is_empty(), problems))
}

/// Whether the tree's `kernel/entry/Kconfig` offers `RUST_GENERIC_ENTRY`
/// for the configuration's architecture: on arm64 from the patch whose
/// `depends on` names it.
pub fn option_available(kconfig: &str, c: Config) -> bool {
    let Some(i) = kconfig.find("config RUST_GENERIC_ENTRY\n") else { return false };
    let entry = &kconfig[i..];
    let entry = &entry[..entry[1..].find("\nconfig ").map_or(entry.len(), |j| j + 1)];
    !c.arm64() || entry.lines().any(|l| l.trim_start().starts_with("depends on") && l.contains("ARM64"))
}

/// Puts the lab's work tree back on the series tip when dropped.
pub struct Restore<'a> {
    pub lab: &'a Lab,
    pub tip: String,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Err(e) = crate::series::checkout(&self.lab.src(), &self.tip) {
            eprintln!("error: cannot put the kernel work tree back on the series tip {}: {e:#}", self.tip);
        }
    }
}

/// Runs the bisection over `configs` (all when empty); returns every step
/// of this series, in order.
pub fn run(lab: &Lab, configs: &[Config]) -> Result<Vec<Step>> {
    let s = crate::series::assemble_tree(lab)?;
    let want = |c: Config| if configs.is_empty() { !c.arm64() } else { configs.contains(&c) };
    let _lock = crate::util::machine_lock("bisect")?;
    crate::util::catch_interrupts();
    let _restore = Restore { lab, tip: s.tip().to_string() };
    let mut all = load(lab);
    let mut points: Vec<(String, String)> = vec![(s.base.clone(), "(base, unpatched)".into())];
    points.extend(s.commits.iter().map(|c| (c.commit.clone(), c.subject.clone())));
    let n = points.len() - 1;
    let mut out = vec![];
    let mut trees = BTreeMap::new();
    for (i, (commit, subject)) in points.iter().enumerate() {
        let label = format!("{i}/{n}");
        let mut todo = Config::PREFIX.to_vec();
        if i == n {
            todo.push(Config::Gcc);
        }
        todo.extend([Config::Arm64Off, Config::Arm64On]);
        for c in todo.into_iter().filter(|&c| want(c)) {
            if crate::util::interrupted() {
                bail!("interrupted: the kernel work tree goes back to the series tip; run `entry-lab bisect` again to resume");
            }
            let frag = fragment_id(&c.fragment(lab)?);
            // The base's objects are the reference: always rebuilt when missing.
            let reference = i == 0 && c.compared() && !base_objects(lab, c, &frag).exists();
            if let Some(st) = all.get(&key(commit, c, &frag)).filter(|st| st.ok && !reference) {
                say("bisect", &format!("{label} {}: passed before (kept)", c.name()));
                out.push(st.clone());
                continue;
            }
            if !reference {
                if let Some(old) = same_kernel_step(&lab.src(), &all, commit, c, &frag, &mut trees) {
                    say(
                        "bisect",
                        &format!(
                            "{label} {}: passed before with the same kernel sources (kept; {} differs only in tools/testing/)",
                            c.name(),
                            &old.commit[..12.min(old.commit.len())]
                        ),
                    );
                    let st = Step { commit: commit.clone(), subject: subject.clone(), ..old };
                    all.insert(key(commit, c, &frag), st.clone());
                    out.push(st);
                    continue;
                }
            }
            crate::series::checkout(&lab.src(), commit)?;
            let has_option = option_available(&read(&lab.src().join("kernel/entry/Kconfig")).unwrap_or_default(), c);
            if c.on() && !has_option {
                let st = Step {
                    commit: commit.clone(),
                    subject: subject.clone(),
                    config: c.name().into(),
                    ok: true,
                    seconds: 0,
                    problems: vec![],
                    compared: 0,
                    bug_lines: vec![],
                    note: Some(format!(
                        "no RUST_GENERIC_ENTRY {}in this tree yet: the same as off",
                        if c.arm64() { "for arm64 " } else { "" }
                    )),
                    fragment: frag.clone(),
                };
                all.insert(key(commit, c, &frag), st.clone());
                out.push(st);
                continue;
            }
            say("bisect", &format!("{label} {}: {subject}", c.name()));
            let start = Instant::now();
            let (ok, mut problems) = build_one(lab, c, &label, has_option)?;
            let mut compared = 0;
            let mut bug_lines = vec![];
            if ok && c.compared() {
                if i == 0 {
                    let k = keep_objects(&dir(lab, c), &base_objects(lab, c, &frag), c.same_dirs())?;
                    say(
                        "bisect",
                        &format!("{label} {}: {k} unpatched objects of {} kept", c.name(), c.same_dirs().join(" and ")),
                    );
                } else {
                    let (k, p, b) = compare_objects_in(&base_objects(lab, c, &frag), &dir(lab, c), c.same_dirs());
                    let p = without_selected_by_test(p, &read(&dir(lab, c).join(".config")).unwrap_or_default());
                    compared = k;
                    if p.is_empty() {
                        say("bisect", &format!("{label} {}: {k} objects identical to the unpatched build's", c.name()));
                    }
                    if !b.is_empty() {
                        say(
                            "bisect",
                            &format!(
                                "{label} {}: identical but for line numbers (WARN table, initcall names): {}",
                                c.name(),
                                b.join(", ")
                            ),
                        );
                    }
                    bug_lines = b;
                    problems.extend(p);
                }
            }
            let st = Step {
                commit: commit.clone(),
                subject: subject.clone(),
                config: c.name().into(),
                ok: problems.is_empty(),
                seconds: start.elapsed().as_secs(),
                problems,
                compared,
                bug_lines,
                note: None,
                fragment: frag.clone(),
            };
            for p in &st.problems {
                say("bisect", &format!("{label} {}: {p}", c.name()));
            }
            all.insert(key(commit, c, &frag), st.clone());
            write(&results_file(lab), serde_json::to_string_pretty(&all).unwrap_or_default())?;
            out.push(st);
        }
    }
    write(&results_file(lab), serde_json::to_string_pretty(&all).unwrap_or_default())?;
    Ok(out)
}

/// The table of a bisection: one line a commit, one column a configuration.
pub fn table(steps: &[Step]) -> String {
    let mut rows: Vec<(String, String, BTreeMap<String, &Step>)> = vec![];
    for st in steps {
        match rows.iter_mut().find(|r| r.0 == st.commit) {
            Some(r) => {
                r.2.insert(st.config.clone(), st);
            }
            None => rows.push((st.commit.clone(), st.subject.clone(), BTreeMap::from([(st.config.clone(), st)]))),
        }
    }
    // The x86 columns unless the bisection was arm64's alone (an x86 step
    // may be missing from one), the arm64 ones when it built them.
    let is_arm64 = |st: &Step| Config::parse(&st.config).is_some_and(Config::arm64);
    let arm64 = steps.iter().any(is_arm64);
    let x86 = !arm64 || !steps.iter().all(is_arm64);
    let names: Vec<&str> =
        Config::ALL.into_iter().filter(|c| if c.arm64() { arm64 } else { x86 }).map(Config::name).collect();
    let mut t = format!("| # | patch | {} |\n|---|---|{}\n", names.join(" | "), "---|".repeat(names.len()));
    for (i, (_, subject, cols)) in rows.iter().enumerate() {
        let cell = |c: &str| match cols.get(c) {
            None => String::new(),
            Some(st) if st.note.is_some() => "= off".into(),
            Some(st) if !st.ok => "FAIL".into(),
            Some(st) if st.compared > 0 && !st.bug_lines.is_empty() => {
                format!("ok, {} same ({} but for line numbers)", st.compared, st.bug_lines.len())
            }
            Some(st) if st.compared > 0 => format!("ok, {} same", st.compared),
            Some(_) => "ok".into(),
        };
        let cells: Vec<String> = names.iter().map(|c| cell(c)).collect();
        t.push_str(&format!("| {i} | {subject} | {} |\n", cells.join(" | ")));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm64_has_the_option_from_the_patch_that_names_it() {
        let x86 =
            "config RUST_GENERIC_ENTRY\n\tbool \"Rust\"\n\tdepends on GENERIC_ENTRY && X86_64\n\tdepends on RUST\n\
                   \nconfig OTHER\n\tdepends on ARM64\n";
        let both =
            "config RUST_GENERIC_ENTRY\n\tdepends on (GENERIC_ENTRY && X86_64) || (GENERIC_IRQ_ENTRY && ARM64)\n";
        assert!(option_available(x86, Config::On));
        assert!(!option_available(x86, Config::Arm64On), "another option's ARM64 counted");
        assert!(option_available(both, Config::Arm64On));
        assert!(!option_available("config GENERIC_ENTRY_KUNIT_TEST\n", Config::On));
        assert_eq!(Config::parse("arm64-on"), Some(Config::Arm64On));
        assert!(Config::Arm64Off.compared() && !Config::Arm64On.compared() && Config::Arm64On.on());
        assert_eq!(Config::Arm64Off.same_dirs(), &crate::arm64_identity::ARM64_SAME);
    }

    #[test]
    fn virt_o_is_new_only_with_the_kunit_option() {
        let p = vec![
            "kernel/entry/virt.o is new (the unpatched build has no such object)".to_string(),
            "kernel/entry/common.o differs from the unpatched build's".to_string(),
        ];
        assert_eq!(without_selected_by_test(p.clone(), "CONFIG_GENERIC_ENTRY_KUNIT_TEST=y\n"), p[1..].to_vec());
        assert_eq!(without_selected_by_test(p.clone(), "# CONFIG_GENERIC_ENTRY_KUNIT_TEST is not set\n"), p);
    }

    #[test]
    fn norust_drops_every_rust_request() {
        let f = "CONFIG_KUNIT=y\nCONFIG_RUST=y\nCONFIG_RUST_KERNEL_DOCTESTS=y\nCONFIG_SAMPLES_RUST=y\n";
        let g = without_rust(f);
        assert!(g.contains("CONFIG_KUNIT=y\n"));
        assert!(!g.contains("CONFIG_RUST=y") && !g.contains("DOCTESTS"));
        assert!(g.ends_with("# CONFIG_RUST is not set\n"));
    }

    #[test]
    fn the_config_must_be_what_the_step_says() {
        let on = "CONFIG_RUST=y\nCONFIG_RUST_GENERIC_ENTRY=y\n";
        let off = "CONFIG_RUST=y\n# CONFIG_RUST_GENERIC_ENTRY is not set\n";
        assert!(config_problems(Config::On, on, true).is_empty());
        assert_eq!(config_problems(Config::On, off, true), ["CONFIG_RUST_GENERIC_ENTRY is not set"]);
        assert!(config_problems(Config::On, off, false).is_empty());
        assert!(config_problems(Config::Off, off, true).is_empty());
        assert_eq!(config_problems(Config::Off, on, true), ["CONFIG_RUST_GENERIC_ENTRY is set"]);
        assert_eq!(config_problems(Config::NoRust, off, true), ["CONFIG_RUST is set"]);
        assert!(config_problems(Config::NoRust, "# CONFIG_RUST is not set\n", true).is_empty());
    }

    #[test]
    fn an_object_left_by_an_earlier_build_is_not_new() {
        let t = std::env::temp_dir().join(format!("entry-lab-linked-{}", std::process::id()));
        let (base, build) = (t.join("base"), t.join("build"));
        for d in [&base, &build] {
            std::fs::create_dir_all(d.join("kernel/entry")).unwrap();
            std::fs::write(d.join("kernel/entry/common.o"), b"same").unwrap();
        }
        std::fs::write(build.join("kernel/entry/virt.o"), b"stale").unwrap();
        let archive = |names: &str| format!("!<thin>\n//{:46}`\n{names}\n", 20);
        std::fs::write(build.join("kernel/entry/built-in.a"), archive("common.o/\n")).unwrap();
        let (_, problems, _) = compare_objects_in(&base, &build, &["kernel/entry"]);
        assert!(problems.is_empty(), "{problems:?}");
        std::fs::write(build.join("kernel/entry/built-in.a"), archive("common.o/\nvirt.o/\n")).unwrap();
        let (_, problems, _) = compare_objects_in(&base, &build, &["kernel/entry"]);
        assert_eq!(problems, vec!["kernel/entry/virt.o is new (the unpatched build has no such object)"]);
        let _ = std::fs::remove_dir_all(&t);
    }

    #[test]
    fn objects_are_compared_byte_for_byte() {
        let t = std::env::temp_dir().join(format!("entry-lab-bisect-{}", std::process::id()));
        let (base, now) = (t.join("base"), t.join("now"));
        for d in [&base, &now] {
            std::fs::create_dir_all(d.join("kernel/entry")).unwrap();
            std::fs::create_dir_all(d.join("arch/x86/entry/vdso")).unwrap();
            std::fs::write(d.join("kernel/entry/common.o"), b"same").unwrap();
        }
        std::fs::write(base.join("arch/x86/entry/vdso/vma.o"), b"old").unwrap();
        std::fs::write(now.join("arch/x86/entry/vdso/vma.o"), b"new").unwrap();
        std::fs::write(now.join("kernel/entry/entry_kunit.o"), b"test").unwrap();
        let (n, p, _) = compare_objects(&base, &now);
        assert_eq!(n, 2);
        assert_eq!(p, ["arch/x86/entry/vdso/vma.o differs from the unpatched build's"]);
        std::fs::write(now.join("kernel/entry/entry_rs.o"), b"rust").unwrap();
        std::fs::remove_file(now.join("arch/x86/entry/vdso/vma.o")).unwrap();
        let (_, p, _) = compare_objects(&base, &now);
        assert_eq!(
            p,
            [
                "arch/x86/entry/vdso/vma.o is not built (the unpatched build has it)",
                "kernel/entry/entry_rs.o is new (the unpatched build has no such object)"
            ]
        );
        let _ = std::fs::remove_dir_all(&t);
    }

    #[test]
    fn the_kernel_listing_leaves_out_the_selftests_only() {
        let top = "040000 tree aa\tarch\n040000 tree bb\ttools\n100644 blob cc\tMakefile\n";
        let tools = "040000 tree dd\tobjtool\n040000 tree ee\ttesting\n";
        let l = super::kernel_listing(top, tools);
        assert_eq!(l, "040000 tree aa\tarch\n100644 blob cc\tMakefile\ntools/\n040000 tree dd\tobjtool\n");
        let other_tests = "040000 tree dd\tobjtool\n040000 tree ff\ttesting\n";
        assert_eq!(super::kernel_listing(top, other_tests), l);
        let other_objtool = "040000 tree d2\tobjtool\n040000 tree ee\ttesting\n";
        assert_ne!(super::kernel_listing(top, other_objtool), l);
    }

    #[test]
    fn only_initcall_line_numbers_may_differ() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let a = v(&["f", "__initcall__kmod_syscall_user_dispatch__678_197_syscall_user_dispatch_sysctl_init7"]);
        let b = v(&["f", "__initcall__kmod_syscall_user_dispatch__678_1206_syscall_user_dispatch_sysctl_init7"]);
        assert_eq!(super::line_renames(&a, &b), Some(vec![(b[1].clone(), a[1].clone())]));
        assert_eq!(super::line_renames(&a, &a), Some(vec![]));
        assert_eq!(super::line_renames(&v(&["f", "g1"]), &v(&["f", "g2"])), None);
        assert_eq!(super::line_renames(&a, &v(&["f"])), None);
        let other = v(&["f", "__initcall__kmod_syscall_user_dispatch__678_197_other_init7"]);
        assert_eq!(super::line_renames(&a, &other), None);
    }

    #[test]
    fn a_changed_fragment_is_another_step() {
        let a = super::fragment_id("CONFIG_SMP=y\n");
        let b = super::fragment_id("CONFIG_SMP=y\n# CONFIG_LOCALVERSION_AUTO is not set\n");
        assert_eq!(a.len(), 12);
        assert_ne!(a, b);
        assert_ne!(super::key("c1", super::Config::Off, &a), super::key("c1", super::Config::Off, &b));
        assert_eq!(super::key("c1", super::Config::On, &a), super::key("c1", super::Config::On, &a));
    }

    #[test]
    fn the_table_has_a_line_a_commit() {
        let st = |c: &str, config: &str, ok: bool, compared: usize| Step {
            commit: c.into(),
            subject: format!("patch {c}"),
            config: config.into(),
            ok,
            seconds: 1,
            problems: vec![],
            compared,
            bug_lines: vec![],
            note: None,
            fragment: String::new(),
        };
        let t = table(&[
            st("a", "off", true, 0),
            st("a", "norust", true, 0),
            st("b", "off", true, 7),
            st("b", "on", false, 0),
        ]);
        assert!(t.contains("| 0 | patch a | ok | ok |  |  |\n"), "{t}");
        assert!(t.contains("| 1 | patch b | ok, 7 same |  | FAIL |  |\n"), "{t}");
        // An arm64 bisection has its own columns, and only those.
        let arm64 = table(&[st("a", "arm64-off", true, 3), st("a", "arm64-on", true, 0)]);
        assert!(arm64.starts_with("| # | patch | arm64-off | arm64-on |\n|---|---|---|---|\n"), "{arm64}");
        assert!(arm64.contains("| 0 | patch a | ok, 3 same | ok |\n"), "{arm64}");
    }
}
