//! End-to-end tests of the entry-lab binary: each failure the README
//! promises a one-line reason for, produced with fakes (a corrupted
//! download, a broken diff, a missing QEMU, a QEMU whose kernel panics, a
//! QEMU that never prints), must end with exit status 1 and one `error:`
//! line that says what happened.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("entry-lab-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, s).unwrap();
}

fn exec(p: &Path, s: &str) {
    use std::os::unix::fs::PermissionsExt;
    write(p, s);
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The lab's own checkout (for lab/guest and lab/configs).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn lab(repo: &Path, cache: &Path, args: &[&str], path: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_entry-lab"));
    c.arg("--repo")
        .arg(repo)
        .args(args)
        .env("ENTRY_LAB_CACHE", cache)
        .env("ENTRY_LAB_RESULTS", cache.join("results"))
        .env("ENTRY_LAB_ACCEL", "tcg");
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

/// Exit status 1 and exactly one `error:` line on stderr; returns it.
fn one_error_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(!err.contains("thread 'main' panicked"), "{err}");
    lines[0].to_string()
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn corrupted_download() {
    let s = Scratch::new("dl");
    let cache = s.0.join("cache");
    write(&cache.join("downloads/linux-source-7.3_7.3.4-1~bpo13+1_all.deb"), "corrupted");
    let e = one_error_line(&lab(&repo(), &cache, &["fetch"], None));
    assert!(e.starts_with("error: SHA-256 mismatch for "), "{e}");
    assert!(e.ends_with("(file removed; run again to download it anew)"), "{e}");
}

#[test]
fn diff_that_no_longer_applies() {
    let s = Scratch::new("diff");
    let cache = s.0.join("cache");
    let src = cache.join("src/linux-7.3.4");
    write(&src.join("rust/macros/lib.rs"), "// changed upstream\n");
    git(&src, &["init", "-q", "-b", "base"]);
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-q", "-m", "base"]);
    git(&src, &["tag", "entry-lab/base"]);
    let checkout = s.0.join("checkout");
    std::fs::create_dir_all(&checkout).unwrap();
    let ok = Command::new("cp")
        .arg("-r")
        .arg(repo().join("series"))
        .arg(repo().join("linux"))
        .arg(&checkout)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let e = one_error_line(&lab(&checkout, &cache, &["assemble"], None));
    assert!(e.starts_with("error: patch 1 (rust: macros: Add #[noinstr]): series/diffs/"), "{e}");
    assert!(e.contains("does not apply: rust/macros/lib.rs"), "{e}");
}

/// A cache with a fake kernel image, so `boot` goes as far as QEMU.
fn boot_cache(s: &Scratch) -> PathBuf {
    let cache = s.0.join("cache");
    write(&cache.join("build/c/arch/x86/boot/bzImage"), "not a kernel");
    cache
}

#[test]
fn missing_qemu() {
    let s = Scratch::new("noqemu");
    let cache = boot_cache(&s);
    let empty = s.0.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let e = one_error_line(&lab(&repo(), &cache, &["boot", "c"], Some(&empty.display().to_string())));
    assert_eq!(e, "error: missing tool `qemu-system-x86_64`: run `./entry-lab setup`");
}

#[test]
fn kernel_panic_at_boot() {
    let s = Scratch::new("panic");
    let cache = boot_cache(&s);
    let bin = s.0.join("bin");
    exec(
        &bin.join("qemu-system-x86_64"),
        "#!/bin/sh\necho '[    0.812345] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b'\nexit 0\n",
    );
    let e = one_error_line(&lab(
        &repo(),
        &cache,
        &["boot", "c"],
        Some(&format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())),
    ));
    assert!(e.contains("kernel panicked: Kernel panic - not syncing: Attempted to kill init!"), "{e}");
}

#[test]
fn qemu_that_never_prints() {
    let s = Scratch::new("silent");
    let cache = boot_cache(&s);
    let bin = s.0.join("bin");
    exec(&bin.join("qemu-system-x86_64"), "#!/bin/sh\nexec sleep 600\n");
    let o = Command::new(env!("CARGO_BIN_EXE_entry-lab"))
        .arg("--repo")
        .arg(repo())
        .args(["boot", "c"])
        .env("ENTRY_LAB_CACHE", &cache)
        .env("ENTRY_LAB_RESULTS", cache.join("results"))
        .env("ENTRY_LAB_ACCEL", "tcg")
        .env("ENTRY_LAB_SILENCE_SECONDS", "2")
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()))
        .output()
        .unwrap();
    let e = one_error_line(&o);
    assert!(e.starts_with("error: c: QEMU printed nothing in 2 s"), "{e}");
}

#[test]
fn an_option_a_command_does_not_take_is_one_line_naming_it() {
    let s = Scratch::new("usage");
    let o = lab(&repo(), &s.0, &["setup", "--seconds", "5"], None);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err, "error: unexpected argument '--seconds' found (see `entry-lab setup --help`)\n");
    let o = lab(&repo(), &s.0, &["setup", "--help"], None);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Usage: entry-lab setup"));
}
