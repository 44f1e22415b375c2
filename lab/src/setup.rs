//! Provisioning: checks the toolchain of toolchain-facts.md and installs what
//! is missing (Debian packages, QEMU from bookworm-backports, bindgen-cli).
//! Idempotent: with everything present it only reads package states.

use crate::lab::Lab;
use crate::util::bail;
use crate::util::{run, say, which, Result};
use std::path::PathBuf;
use std::process::Command;

/// Debian packages from the machine's default suites.
pub const PACKAGES: &[&str] = &[
    "rustc-web",
    "rust-web-src",
    "rust-web-clippy",
    "clang-22",
    "lld-22",
    "llvm-22",
    "libclang-22-dev",
    "busybox-static",
    "ccache",
    "flex",
    "bison",
    "libelf-dev",
    "libssl-dev",
    "bc",
    "cpio",
    "dwarves",
    "make",
    "gcc",
    "libc6-dev",
    "libcap-dev",
    "python3",
    "python3-sphinx",
    "python3-yaml",
    "xz-utils",
    // bzImage is LZ4-compressed (base.config).
    "lz4",
    "git",
    // Static aarch64 guest programs for the arm64 boots (issue 15).
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
];

/// QEMU comes from bookworm-backports: 7.2 mis-emulates entry paths. x86_64 for the main
/// variants, arm (`qemu-system-aarch64`) for the arm64 ones.
pub const QEMU_PACKAGES: &[&str] = &["qemu-system-x86", "qemu-system-arm"];
/// The QEMU binaries the lab runs, each of which must be at least [`QEMU_MIN_MAJOR`].
const QEMU_BINARIES: &[&str] = &["qemu-system-x86_64", "qemu-system-aarch64"];
pub const QEMU_MIN_MAJOR: u32 = 10;
pub const BINDGEN_VERSION: &str = "0.72.1";
pub const RUSTC_MIN: (u32, u32) = (1, 85);

const BACKPORTS_SOURCES: &str = "/etc/apt/sources.list.d/entry-lab-bookworm-backports.sources";
const BACKPORTS_STANZA: &str = "Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

/// Returns the installed version of a Debian package, if installed.
pub fn dpkg_version(pkg: &str) -> Option<String> {
    let out = Command::new("dpkg-query").args(["-W", "-f=${Status}\t${Version}", pkg]).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    let (status, version) = s.split_once('\t')?;
    (status == "install ok installed").then(|| version.to_string())
}

/// Parses the first `X.Y` or `X.Y.Z` version number in a `--version` line.
pub fn parse_version(text: &str) -> Option<Vec<u32>> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter(|w| w.contains('.')).find_map(|w| {
        let v: Option<Vec<u32>> = w.split('.').map(|p| p.parse().ok()).collect();
        v.filter(|v| v.len() >= 2)
    })
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u")).map(|s| s.trim() == "0").unwrap_or(false)
}

fn apt_install(args: &[&str], pkgs: &[&str]) -> Result<()> {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(args)
        .args(pkgs);
    let line = format!("apt-get install --no-install-recommends {} {}", args.join(" "), pkgs.join(" "));
    say("setup", &format!("installing: {}", pkgs.join(" ")));
    run(&mut cmd).map_err(|e| anyhow::anyhow!("could not install packages ({e}); run as root: {line}"))?;
    Ok(())
}

/// Installs and checks everything; returns an error naming the one command
/// to run when it cannot do so itself.
pub fn setup(lab: &Lab) -> Result<()> {
    packages()?;
    toolchain(lab)
}

/// The Debian packages the lab needs (apt-get, as root) and their versions
/// checked: what [`crate::base::ensure_base`] needs too (xz, git, the
/// network), so the test job downloads the base while [`toolchain`] builds
/// bindgen.
pub fn packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| dpkg_version(p).is_none()).collect();
    let qemu_ok = QEMU_BINARIES.iter().all(|b| qemu_version_of(b).is_some_and(|v| v[0] >= QEMU_MIN_MAJOR));
    if !missing.is_empty() || !qemu_ok {
        if !is_root() {
            let mut pk = missing.join(" ");
            if !qemu_ok {
                pk.push_str(" && sudo apt-get install -t bookworm-backports ");
                pk.push_str(&QEMU_PACKAGES.join(" "));
            }
            bail!("missing packages; run: sudo apt-get update && sudo apt-get install {pk}");
        }
        say("setup", "apt-get update");
        if !qemu_ok && !std::path::Path::new(BACKPORTS_SOURCES).exists() {
            crate::util::write(std::path::Path::new(BACKPORTS_SOURCES), BACKPORTS_STANZA)?;
        }
        run(Command::new("apt-get").args(["update", "-q"]))
            .map_err(|e| anyhow::anyhow!("apt-get update failed ({e}); check the network and run: apt-get update"))?;
        if !missing.is_empty() {
            apt_install(&[], &missing)?;
        }
        if !qemu_ok {
            apt_install(&["-t", "bookworm-backports"], QEMU_PACKAGES)?;
        }
    }
    check_versions()
}

/// bindgen-cli of the pinned version built (about 5 minutes on 2 cores the
/// first time), and the toolchain named.
pub fn toolchain(lab: &Lab) -> Result<()> {
    let bindgen = ensure_bindgen(lab)?;
    say(
        "setup",
        &format!(
            "toolchain ok: rustc {}, clang 22, qemu {}, bindgen {} ({})",
            version_of("/usr/bin/rustc").unwrap_or_default(),
            qemu_version().map(|v| v.iter().map(u32::to_string).collect::<Vec<_>>().join(".")).unwrap_or_default(),
            BINDGEN_VERSION,
            bindgen.display()
        ),
    );
    Ok(())
}

fn version_of(prog: &str) -> Option<String> {
    let out = Command::new(prog).arg("--version").output().ok()?;
    let v = parse_version(&String::from_utf8_lossy(&out.stdout))?;
    Some(v.iter().map(u32::to_string).collect::<Vec<_>>().join("."))
}

fn qemu_version() -> Option<Vec<u32>> {
    qemu_version_of(QEMU_BINARIES[0])
}

fn qemu_version_of(binary: &str) -> Option<Vec<u32>> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

fn check_versions() -> Result<()> {
    let rustc = version_of("/usr/bin/rustc");
    match rustc.as_deref().and_then(parse_version) {
        Some(v) if (v[0], v[1]) >= RUSTC_MIN => {}
        _ => bail!(
            "/usr/bin/rustc is {:?}, need >= {}.{}: run: apt-get install rustc-web rust-web-src",
            rustc,
            RUSTC_MIN.0,
            RUSTC_MIN.1
        ),
    }
    if !std::path::Path::new("/usr/lib/rustlib/src/rust/library/core").is_dir() {
        bail!("the Rust core library source is missing: run: apt-get install rust-web-src");
    }
    for tool in ["clang", "ld.lld", "llvm-ar", "llvm-nm", "llvm-objcopy"] {
        if !std::path::Path::new(crate::lab::LLVM_BIN).join(tool).exists() {
            bail!("{}/{tool} is missing: run: apt-get install clang-22 lld-22 llvm-22", crate::lab::LLVM_BIN);
        }
    }
    if !std::path::Path::new("/bin/busybox").exists() {
        bail!("/bin/busybox is missing: run: apt-get install busybox-static");
    }
    Ok(())
}

/// Finds bindgen 0.72.1 on PATH or in the lab's tool folder, or builds it
/// there with `cargo install --locked`.
pub fn ensure_bindgen(lab: &Lab) -> Result<PathBuf> {
    let local = lab.cache.join("tools/bin/bindgen");
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/bindgen"));
    let candidates = [Some(local.clone()), which("bindgen"), home];
    for c in candidates.into_iter().flatten() {
        if c.exists() && version_of(&c.to_string_lossy()).as_deref() == Some(BINDGEN_VERSION) {
            return Ok(c);
        }
    }
    say("setup", &format!("building bindgen-cli {BINDGEN_VERSION} (about 5 minutes on 2 cores)"));
    let root = lab.cache.join("tools");
    let log = lab.cache.join("tools/bindgen-install.log");
    std::fs::create_dir_all(&root)?;
    let ok = crate::util::run_logged(
        Command::new("cargo")
            .env("LIBCLANG_PATH", crate::lab::LIBCLANG_PATH)
            .args(["install", "--locked", "--root"])
            .arg(&root)
            .arg(format!("bindgen-cli@{BINDGEN_VERSION}")),
        &log,
        |l| {
            if l.trim_start().starts_with("Compiling") {
                eprint!(".");
            }
        },
    )?;
    eprintln!();
    if !ok || !local.exists() {
        bail!(
            "building bindgen failed (log: {}); run: cargo install --locked --root {} bindgen-cli@{BINDGEN_VERSION}",
            log.display(),
            root.display()
        );
    }
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_parsed_from_version_lines() {
        assert_eq!(parse_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)"), Some(vec![10, 0, 2]));
        assert_eq!(parse_version("rustc 1.96.0 (abc 2026-01-01)"), Some(vec![1, 96, 0]));
        assert_eq!(parse_version("bindgen 0.73.2"), Some(vec![0, 73, 2]));
        assert_eq!(parse_version("no version here"), None);
    }

    #[test]
    fn unknown_package_is_not_installed() {
        assert_eq!(dpkg_version("entry-lab-no-such-package"), None);
    }
}
