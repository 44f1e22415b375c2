//! Configuring and building one flavor: fragments -> .config (the same way
//! kunit.py does it: fragment as .config, then olddefconfig), a check that
//! every requested option is set, an incremental `make` with a live object
//! count, and the objtool warnings of the build collected.

use crate::lab::{Flavor, Lab, Target};
use crate::memo::{age, file_hash, Memo};
use crate::util::bail;
use crate::util::{fmt_dur, read, say, write, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The merged fragment for a flavor: base + variant (+ debug).
pub fn fragment(lab: &Lab, f: Flavor) -> Result<String> {
    target_fragment(lab, &f.target())
}

/// The merged fragment of a target: its config files in order.
pub fn target_fragment(lab: &Lab, t: &Target) -> Result<String> {
    let dir = lab.configs();
    let parts: Vec<String> = t.configs.iter().map(|c| read(&dir.join(c))).collect::<Result<_>>()?;
    Ok(parts.join("\n"))
}

/// A requested option: `CONFIG_X=v` or `# CONFIG_X is not set`.
#[derive(Debug, PartialEq, Eq)]
pub enum Want {
    Set(String, String),
    Unset(String),
}

pub fn parse_fragment(text: &str) -> Vec<Want> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if let Some(rest) = l.strip_prefix("# ") {
                let name = rest.strip_suffix(" is not set")?;
                return name.starts_with("CONFIG_").then(|| Want::Unset(name.to_string()));
            }
            let (k, v) = l.split_once('=')?;
            k.starts_with("CONFIG_").then(|| Want::Set(k.to_string(), v.to_string()))
        })
        .collect()
}

/// Names the requested options the resulting .config does not have. An
/// option requested twice is checked as the later line asks (a matrix row
/// overrides base.config), as Kconfig applies it.
pub fn missing_options(fragment: &str, dotconfig: &str) -> Vec<String> {
    let mut have: BTreeMap<&str, &str> = BTreeMap::new();
    for l in dotconfig.lines() {
        if let Some((k, v)) = l.split_once('=') {
            if k.starts_with("CONFIG_") {
                have.insert(k, v);
            }
        }
    }
    let wants = parse_fragment(fragment);
    let key = |w: &Want| match w {
        Want::Set(k, _) | Want::Unset(k) => k.clone(),
    };
    let last: BTreeMap<String, usize> = wants.iter().enumerate().map(|(i, w)| (key(w), i)).collect();
    wants
        .into_iter()
        .enumerate()
        .filter(|(i, w)| last.get(&key(w)) == Some(i))
        .filter_map(|(_, w)| match w {
            Want::Set(k, v) => (have.get(k.as_str()) != Some(&v.as_str())).then(|| format!("{k}={v}")),
            Want::Unset(k) => {
                have.get(k.as_str()).filter(|v| **v != "n").map(|v| format!("{k} (wanted unset, is {v})"))
            }
        })
        .collect()
}

/// Writes the .config of a flavor and checks it. The lab owns its build
/// folders: the `.config` that the last configure left is saved next to it
/// (`entry-lab.config`), and `.config` is written again from the fragments
/// whenever it differs from that copy or the fragments changed. So a
/// kunit.py run, `menuconfig` or an edit in a lab build folder never
/// decides what the lab builds next.
pub fn configure(lab: &Lab, f: Flavor) -> Result<PathBuf> {
    configure_target(lab, &f.target())
}

/// [`configure`] for any target.
pub fn configure_target(lab: &Lab, t: &Target) -> Result<PathBuf> {
    let name = &t.name;
    let b = lab.target_dir(t);
    seed(lab, t, &b)?;
    std::fs::create_dir_all(&b)?;
    let frag = target_fragment(lab, t)?;
    let stamp = b.join("entry-lab.fragment");
    let saved = b.join("entry-lab.config");
    let dotconfig = b.join(".config");
    let current = read(&dotconfig).ok();
    match decide(&frag, read(&stamp).ok().as_deref(), current.as_deref(), read(&saved).ok().as_deref()) {
        Configure::Keep => {}
        why => {
            say(name, &format!("writing .config from the fragments ({})", why.reason()));
            write(&dotconfig, &frag)?;
        }
    }
    let log = lab.results.join("logs").join(format!("config-{name}.log"));
    std::fs::create_dir_all(log.parent().unwrap_or(Path::new(".")))?;
    let _ = std::fs::remove_file(&log);
    let ok = crate::util::run_logged(lab.make_in(&b).arg("olddefconfig"), &log, |_| {})?;
    if !ok {
        bail!("{name}: make olddefconfig failed (log: {})", log.display());
    }
    let result = read(&dotconfig)?;
    let missing = missing_options(&frag, &result);
    if !missing.is_empty() {
        bail!("{name}: options requested but not set after olddefconfig (unmet dependencies?): {}", missing.join(", "));
    }
    write(&stamp, &frag)?;
    write(&saved, &result)?;
    // The same fragment is what kunit.py gets as --kunitconfig.
    write(&b.join("entry-lab.kunitconfig"), &frag)?;
    Ok(b)
}

/// Starts a new build folder (one without a `.config`) as a copy of its
/// seed's folder when that one holds a configured build. The copy keeps the
/// seed's objects and their `.cmd` files; the configure that follows writes
/// this target's `.config`, and Kbuild's per-option dependencies (fixdep)
/// then rebuild exactly the objects whose options changed, as after any
/// `.config` edit. For `rust` after `c` that is `kernel/entry`, the Rust
/// crates and the link: the 1,900 C objects are not compiled again, not even
/// from ccache (4 of the 6.5 minutes of a new `rust` folder on 2 cores).
/// The seed's kept results (`entry-lab.kept-*.json`) are not copied: they
/// describe the seed's image.
fn seed(lab: &Lab, t: &Target, b: &Path) -> Result<()> {
    let Some(seed) = &t.seed else { return Ok(()) };
    let from = lab.cache.join("build").join(seed);
    if b.join(".config").exists() || !from.join("entry-lab.config").exists() || !from.join("vmlinux.o").exists() {
        return Ok(());
    }
    let name = &t.name;
    say(
        name,
        &format!(
            "new build folder: starting from a copy of {} (make rebuilds what the options change)",
            from.display()
        ),
    );
    let tmp = b.with_extension("seeding");
    let _ = std::fs::remove_dir_all(&tmp);
    if b.exists() {
        std::fs::remove_dir_all(b)?;
    }
    let ok = std::process::Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(&from)
        .arg(&tmp)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        let _ = std::fs::remove_dir_all(&tmp);
        bail!("{name}: copying {} to {} failed", from.display(), tmp.display());
    }
    for e in std::fs::read_dir(&tmp)?.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        // Without its configure stamps the copy reads as a new folder.
        if f.starts_with("entry-lab.kept-")
            || f.ends_with(".log")
            || f == "entry-lab.fragment"
            || f == "entry-lab.config"
        {
            std::fs::remove_file(e.path())?;
        }
    }
    std::fs::rename(&tmp, b)?;
    Ok(())
}

/// Why `.config` is (or is not) written again from the fragments.
#[derive(Debug, PartialEq, Eq)]
pub enum Configure {
    Keep,
    New,
    FragmentChanged,
    ChangedOutside,
}

impl Configure {
    fn reason(&self) -> &'static str {
        match self {
            Configure::Keep => "unchanged",
            Configure::New => "new build folder",
            Configure::FragmentChanged => "the fragments changed",
            Configure::ChangedOutside => "the .config was changed outside the lab (kunit.py, menuconfig?)",
        }
    }
}

/// Decides from the fragment, the fragment of the last configure, the
/// current `.config` and the one the last configure left.
pub fn decide(frag: &str, stamp: Option<&str>, current: Option<&str>, saved: Option<&str>) -> Configure {
    match (current, saved) {
        (None, _) | (_, None) => Configure::New,
        _ if stamp != Some(frag) => Configure::FragmentChanged,
        (Some(c), Some(s)) if c != s => Configure::ChangedOutside,
        _ => Configure::Keep,
    }
}

/// Is this a Kbuild quiet-mode step line ("  CC      kernel/fork.o")?
pub fn step_target(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("  ")?;
    let (tag, target) = rest.split_once(' ')?;
    let tag_ok = !tag.is_empty()
        && tag.len() <= 9
        && tag.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let target = target.trim_start();
    // "RUSTC L rust/core.o": the tag has a second word.
    let target = target.strip_prefix("L ").or_else(|| target.strip_prefix("P ")).unwrap_or(target).trim();
    (tag_ok && !target.is_empty() && !target.contains(' ')).then_some((tag, target))
}

/// An objtool warning line: `<object>: warning: objtool: ...`.
pub fn objtool_warning(line: &str) -> Option<(&str, &str)> {
    let i = line.find(": warning: objtool: ")?;
    Some((line[..i].trim(), line.trim()))
}

/// objtool warnings by object, kept across incremental builds: an object
/// rebuilt in this build loses its old warnings, others keep theirs (make
/// does not rerun objtool on objects it does not rebuild).
pub fn merge_objtool(
    old: &BTreeMap<String, Vec<String>>,
    rebuilt: &[String],
    new: &[(String, String)],
) -> BTreeMap<String, Vec<String>> {
    let mut m = old.clone();
    for r in rebuilt {
        m.remove(r);
    }
    for (obj, _) in new {
        m.remove(obj);
    }
    for (obj, w) in new {
        m.entry(obj.clone()).or_default().push(w.clone());
    }
    m.retain(|_, v| !v.is_empty());
    m
}

/// Result of building one flavor.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BuildResult {
    pub flavor: String,
    pub ok: bool,
    pub steps: usize,
    pub seconds: u64,
    pub objtool: Vec<String>,
    pub log: String,
    pub error: Option<String>,
    /// Kept from an earlier run with the same inputs (see memo.rs).
    #[serde(default)]
    pub kept: bool,
    /// SHA-256 of the kernel image the build left.
    #[serde(default)]
    pub kernel_sha256: Option<String>,
}

impl BuildResult {
    /// make succeeded and left a kernel image (objtool may have warned).
    pub fn made(&self) -> bool {
        self.error.as_deref().is_none_or(|e| !e.starts_with(BUILD_FAILED))
    }
}

const BUILD_FAILED: &str = "build failed: ";

/// The kernel image of a flavor's build.
pub fn kernel_image(lab: &Lab, f: Flavor) -> PathBuf {
    target_image(lab, &f.target())
}

pub fn target_image(lab: &Lab, t: &Target) -> PathBuf {
    lab.target_dir(t).join("arch/x86/boot/bzImage")
}

/// Where a flavor's build result is kept: keyed by the clean work tree's
/// commit, the config fragment and the make options.
fn build_memo(lab: &Lab, t: &Target) -> Memo {
    let parts = crate::series::clean_head(&lab.src()).and_then(|head| {
        Some(vec![
            "build".to_string(),
            head,
            target_fragment(lab, t).ok()?,
            lab.make_options().join(" "),
            lab.results.display().to_string(),
        ])
    });
    Memo::new(lab.target_dir(t).join("entry-lab.kept-build.json"), parts.as_deref())
}

/// Configures and builds a flavor; objtool warnings make it fail. With
/// `reuse`, a build kept from an earlier run is returned instead when the
/// work tree, the fragment, the make options and the kernel image are all
/// still the same (see memo.rs).
pub fn build(lab: &Lab, f: Flavor, reuse: bool) -> Result<BuildResult> {
    build_target(lab, &f.target(), reuse)
}

/// [`build`] for any target.
pub fn build_target(lab: &Lab, t: &Target, reuse: bool) -> Result<BuildResult> {
    let name = t.name.clone();
    let memo = build_memo(lab, t);
    if reuse {
        let same = |r: &BuildResult| {
            r.kernel_sha256.is_some()
                && r.kernel_sha256 == file_hash(&target_image(lab, t))
                && Path::new(&r.log).exists()
        };
        if let Some(mut r) = memo.get(same) {
            say(
                &name,
                &format!(
                    "unchanged since its build {} (same series commit, config and kernel image): kept; `run --again` builds",
                    age(&memo)
                ),
            );
            r.kept = true;
            return Ok(r);
        }
    }
    // Whatever happens next, the build directory no longer holds the kept build.
    memo.forget();
    let _lock = crate::util::machine_lock(&name)?;
    let b = configure_target(lab, t)?;
    let log = lab.results.join("logs").join(format!("build-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let start = Instant::now();
    let mut steps = 0usize;
    let mut last_tick = Instant::now();
    let mut last = String::new();
    let mut rebuilt = vec![];
    let mut warnings = vec![];
    say(&name, &format!("make -j{} (log: {})", jobs(), log.display()));
    let ok = crate::util::run_logged(lab.make_in(&b).arg(format!("-j{}", jobs())), &log, |l| {
        if let Some((_, t)) = step_target(l) {
            steps += 1;
            rebuilt.push(t.to_string());
            last = t.to_string();
        }
        if let Some((obj, w)) = objtool_warning(l) {
            warnings.push((obj.to_string(), w.to_string()));
        }
        if last_tick.elapsed() >= Duration::from_secs(15) {
            last_tick = Instant::now();
            say(&name, &format!("{steps} objects built, {}, now {last}", fmt_dur(start.elapsed())));
        }
    })?;
    let store = b.join("entry-lab.objtool.json");
    let old: BTreeMap<String, Vec<String>> =
        read(&store).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    let merged = merge_objtool(&old, &rebuilt, &warnings);
    write(&store, serde_json::to_string_pretty(&merged).unwrap_or_default())?;
    let objtool: Vec<String> = merged.values().flatten().cloned().collect();
    let secs = start.elapsed().as_secs();
    let error = if !ok {
        let text = read(&log).unwrap_or_default();
        let first = first_error(&text).unwrap_or("make failed").trim().to_string();
        Some(format!("{BUILD_FAILED}{first} (log: {})", log.display()))
    } else if !objtool.is_empty() {
        Some(format!("{} objtool warning(s), first: {}", objtool.len(), objtool[0]))
    } else {
        None
    };
    say(
        &name,
        &format!(
            "{} in {} ({steps} objects rebuilt, {} objtool warnings)",
            if ok { "built" } else { "FAILED" },
            fmt_dur(start.elapsed()),
            objtool.len()
        ),
    );
    let r = BuildResult {
        flavor: name,
        ok: error.is_none(),
        steps,
        seconds: secs,
        objtool,
        log: log.display().to_string(),
        error,
        kept: false,
        kernel_sha256: file_hash(&target_image(lab, t)),
    };
    if r.ok {
        memo.put(&r)?;
    }
    Ok(r)
}

/// Makes sure each flavor's kernel image is the one of the work tree's
/// commit (the series tip), not one left behind by a fault run: `./entry-lab
/// test` ends with the last fault's kernel in `build/rust`, and booting or
/// benchmarking it would silently measure the wrong code. An image whose
/// kept build names the same commit, config and image is used as it is;
/// otherwise the flavor is built (a relink when only the commit moved). The
/// first build of a flavor sets up the toolchain and assembles the series.
///
/// Without a clean series tree to compare with (no tree yet, or one edited
/// by hand) the images are used as they are, and it says so.
pub fn ensure_current(lab: &Lab, flavors: &[Flavor]) -> Result<()> {
    if flavors.iter().any(|&f| !kernel_image(lab, f).exists()) {
        crate::setup::setup(lab)?;
        crate::series::assemble_tree(lab)?;
    } else if crate::series::clean_head(&lab.src()).is_none() {
        say("build", "no clean series tree to check the kernel images against: using them as they are");
        return Ok(());
    }
    for &f in flavors {
        let b = build(lab, f, true)?;
        if let Some(e) = b.error {
            bail!("{}: {e}", f.name());
        }
    }
    Ok(())
}

/// Every compiler, linker or make error line of a build log (what a
/// `build` fault must find its message in).
pub fn error_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.starts_with("error") || l.contains(": error:") || l.contains("ld.lld: error") || l.contains("] Error ")
        })
        .collect()
}

/// The most telling error line of a failed build: a compiler diagnostic
/// (`error[E0425]: ...`, `foo.c:1:2: error: ...`) before make's summary.
pub fn first_error(log: &str) -> Option<&str> {
    let diag = log.lines().find(|l| {
        l.starts_with("error[")
            || l.contains(": error:")
            || (l.starts_with("error: ") && !l.starts_with("error: aborting"))
    });
    diag.or_else(|| log.lines().find(|l| l.contains("Error ")))
}

pub fn jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_folder_starts_from_its_seed_without_the_seeds_kept_results() {
        let cache = std::env::temp_dir().join(format!("entry-lab-seed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let lab =
            Lab { repo: cache.clone(), cache: cache.clone(), results: cache.clone(), accel: crate::lab::Accel::Tcg };
        let rust = crate::lab::Flavor { variant: crate::lab::Variant::Rust, debug: false }.target();
        assert_eq!(rust.seed.as_deref(), Some("c"));
        let c = cache.join("build/c");
        std::fs::create_dir_all(c.join("kernel")).unwrap();
        // No seed yet: nothing happens.
        seed(&lab, &rust, &lab.target_dir(&rust)).unwrap();
        assert!(!lab.target_dir(&rust).exists());
        for f in [
            "entry-lab.config",
            "entry-lab.fragment",
            "vmlinux.o",
            "kernel/fork.o",
            "entry-lab.kept-build.json",
            "test.log",
        ] {
            std::fs::write(c.join(f), f).unwrap();
        }
        seed(&lab, &rust, &lab.target_dir(&rust)).unwrap();
        let b = lab.target_dir(&rust);
        assert_eq!(std::fs::read_to_string(b.join("kernel/fork.o")).unwrap(), "kernel/fork.o");
        for gone in ["entry-lab.config", "entry-lab.fragment", "entry-lab.kept-build.json", "test.log"] {
            assert!(!b.join(gone).exists(), "{gone} copied");
        }
        // A folder with a .config is never replaced.
        std::fs::write(b.join(".config"), "mine").unwrap();
        std::fs::write(c.join("kernel/fork.o"), "changed").unwrap();
        seed(&lab, &rust, &b).unwrap();
        assert_eq!(std::fs::read_to_string(b.join("kernel/fork.o")).unwrap(), "kernel/fork.o");
        let _ = std::fs::remove_dir_all(&cache);
    }

    #[test]
    fn the_lab_rewrites_a_config_it_did_not_write() {
        assert_eq!(decide("A", Some("A"), Some("cfg"), Some("cfg")), Configure::Keep);
        assert_eq!(decide("A", Some("A"), None, Some("cfg")), Configure::New);
        assert_eq!(decide("A", None, Some("cfg"), None), Configure::New);
        assert_eq!(decide("B", Some("A"), Some("cfg"), Some("cfg")), Configure::FragmentChanged);
        // kunit.py's olddefconfig dropped CONFIG_RUST: written again.
        assert_eq!(
            decide("A", Some("A"), Some("# CONFIG_RUST is not set"), Some("CONFIG_RUST=y")),
            Configure::ChangedOutside
        );
    }

    #[test]
    fn missing_options_are_named() {
        let frag = "# comment\nCONFIG_A=y\nCONFIG_B=8\n# CONFIG_C is not set\nCONFIG_D=y\n";
        let dot = "CONFIG_A=y\nCONFIG_B=4\nCONFIG_C=y\n# CONFIG_D is not set\n";
        assert_eq!(missing_options(frag, dot), ["CONFIG_B=8", "CONFIG_C (wanted unset, is y)", "CONFIG_D=y"]);
        assert!(missing_options(frag, "CONFIG_A=y\nCONFIG_B=8\nCONFIG_D=y\n").is_empty());
    }

    #[test]
    fn the_first_compiler_error_is_reported() {
        let log = "  CC init/main.o\nerror[E0425]: cannot find function `f` in crate `bindings`\n   --> x.rs:1:2\nerror: aborting due to 1 previous error\nmake[5]: *** [x] Error 1\n";
        assert_eq!(first_error(log), Some("error[E0425]: cannot find function `f` in crate `bindings`"));
        let c = "kernel/a.c:3:1: error: unknown type name 'x'\nmake: *** [a] Error 1\n";
        assert_eq!(first_error(c), Some("kernel/a.c:3:1: error: unknown type name 'x'"));
        assert_eq!(first_error("make: *** [a] Error 2\n"), Some("make: *** [a] Error 2"));
    }

    #[test]
    fn kbuild_step_lines() {
        assert_eq!(step_target("  CC      kernel/fork.o"), Some(("CC", "kernel/fork.o")));
        assert_eq!(step_target("  RUSTC L rust/core.o"), Some(("RUSTC", "rust/core.o")));
        assert_eq!(step_target("  LD      vmlinux.o"), Some(("LD", "vmlinux.o")));
        assert_eq!(step_target("make[1]: Entering directory"), None);
        assert_eq!(step_target("  This is prose, not a step"), None);
    }

    #[test]
    fn objtool_warnings_survive_incremental_builds() {
        let w = "vmlinux.o: warning: objtool: foo+0x8: call to bar() leaves .noinstr.text section";
        assert_eq!(objtool_warning(w), Some(("vmlinux.o", w)));
        assert_eq!(objtool_warning("  CC kernel/fork.o"), None);
        let first = merge_objtool(&BTreeMap::new(), &["vmlinux.o".into()], &[("vmlinux.o".into(), w.into())]);
        assert_eq!(first["vmlinux.o"], [w]);
        // Nothing rebuilt: the warning stays.
        let again = merge_objtool(&first, &[], &[]);
        assert_eq!(again, first);
        // vmlinux.o relinked without the warning: it goes.
        let fixed = merge_objtool(&first, &["vmlinux.o".into()], &[]);
        assert!(fixed.is_empty());
    }
}
