//! The base kernel: Debian's linux-source-7.3 (7.3.4-1~bpo13+1) fetched
//! download-only through a private apt configuration (trixie is never added
//! to the system's sources), checked against a pinned SHA-256, unpacked
//! once and committed as the first commit of a git work tree.

use crate::lab::Lab;
use crate::util::bail;
use crate::util::{fmt_dur, run, say, with_ticker, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The kernel release the lab builds.
pub const KERNEL: &str = "7.3.4";
pub const PACKAGE: &str = "linux-source-7.3";
pub const VERSION: &str = "7.3.4-1~bpo13+1";
pub const SHA256: &str = "703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3";
pub const SIZE: u64 = 166_780_612;
pub const DEB_NAME: &str = "linux-source-7.3_7.3.4-1~bpo13+1_all.deb";
pub const BASE_TAG: &str = "entry-lab/base";

/// Identity and dates used for every commit the lab makes, so that commit
/// ids only depend on content.
pub fn git_identity(cmd: &mut Command, name: &str, email: &str, date: &str) {
    cmd.env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .env("GIT_COMMITTER_DATE", date);
}

pub fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir).env("GIT_CONFIG_GLOBAL", "/dev/null").env("GIT_CONFIG_NOSYSTEM", "1").args([
        "-c",
        "core.autocrlf=false",
        "-c",
        "gc.auto=0",
    ]);
    git_identity(&mut c, "entry-lab", "entry-lab@localhost", "2026-01-01T00:00:00Z");
    c
}

/// SHA-256 of a file, hex.
pub fn sha256_file(p: &Path) -> Result<String> {
    let mut f = std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a downloaded file; a mismatch removes it so the next run fetches
/// it again, and says so.
pub fn verify(p: &Path, expected: &str) -> Result<()> {
    let got = sha256_file(p)?;
    if got != expected {
        let _ = std::fs::remove_file(p);
        bail!(
            "SHA-256 mismatch for {}: expected {expected}, got {got} (file removed; run again to download it anew)",
            p.display()
        );
    }
    Ok(())
}

/// Downloads the package with apt into `dir` (download-only, private lists).
pub fn apt_download(lab: &Lab, dir: &Path) -> Result<()> {
    let apt = lab.cache.join("apt");
    let lists = apt.join("lists");
    std::fs::create_dir_all(lists.join("partial"))?;
    std::fs::create_dir_all(apt.join("cache/archives/partial"))?;
    let sources = apt.join("trixie-backports.sources");
    crate::util::write(
        &sources,
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
    )?;
    let opts = |c: &mut Command| {
        c.arg("-o")
            .arg(format!("Dir::Etc::SourceList={}", sources.display()))
            .args(["-o", "Dir::Etc::SourceParts=/dev/null"])
            .arg("-o")
            .arg(format!("Dir::State::Lists={}", lists.display()))
            .args(["-o", "Dir::State::Status=/dev/null"])
            .arg("-o")
            .arg(format!("Dir::Cache={}", apt.join("cache").display()))
            .args(["-o", "APT::Sandbox::User=root", "-q"]);
    };
    say("fetch", "apt-get update (private list: trixie-backports only)");
    let mut up = Command::new("apt-get");
    opts(&mut up);
    run(up.arg("update"))
        .map_err(|e| anyhow::anyhow!("cannot read trixie-backports ({e}); check the network to deb.debian.org"))?;
    let mut dl = Command::new("apt-get");
    opts(&mut dl);
    dl.current_dir(dir).arg("download").arg(format!("{PACKAGE}={VERSION}"));
    let target = dir.join(DEB_NAME);
    with_ticker(
        Duration::from_secs(2),
        |t| {
            let got = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
            say("fetch", &format!("{:.1} / {:.1} MB after {}", got as f64 / 1e6, SIZE as f64 / 1e6, fmt_dur(t)));
        },
        || run(&mut dl),
    )
    .map_err(|e| anyhow::anyhow!("cannot download {PACKAGE} {VERSION}: {e}"))?;
    Ok(())
}

/// Makes sure a verified .deb is in the cache, using `download` to fetch
/// it when missing; returns its path.
pub fn ensure_deb(lab: &Lab, download: impl FnOnce(&Lab, &Path) -> Result<()>) -> Result<PathBuf> {
    let dir = lab.cache.join("downloads");
    std::fs::create_dir_all(&dir)?;
    let deb = dir.join(DEB_NAME);
    if !deb.exists() {
        say("fetch", &format!("downloading {PACKAGE} {VERSION}"));
        download(lab, &dir)?;
        if !deb.exists() {
            bail!("download finished but {} is not there", deb.display());
        }
        say("fetch", "downloaded; checking SHA-256");
        verify(&deb, SHA256)?;
    } else {
        // Checked on every fetch: a few hundred ms, and catches a file
        // damaged in the cache.
        verify(&deb, SHA256)?;
    }
    Ok(deb)
}

/// Unpacks the tarball inside the .deb into the work tree and commits it
/// as the base (tagged `entry-lab/base`). Does nothing when the tag exists.
pub fn ensure_base(lab: &Lab) -> Result<()> {
    let src = lab.src();
    if src.join(".git").exists()
        && git(&src)
            .args(["rev-parse", "-q", "--verify", &format!("refs/tags/{BASE_TAG}")])
            .output()
            .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    let deb = ensure_deb(lab, apt_download)?;
    let parent = src.parent().unwrap_or(&lab.cache).to_path_buf();
    std::fs::create_dir_all(&parent)?;
    let tmp = parent.join("unpack.tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    say("fetch", "unpacking the kernel source (about 30 s)");
    let script = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -xOf - ./usr/src/linux-source-7.3.tar.xz | tar -xJf - -C '{}'",
        deb.display(),
        tmp.display()
    );
    run(Command::new("bash").args(["-o", "pipefail", "-c", &script]))?;
    let top = tmp.join("linux-source-7.3");
    if !top.join("Makefile").exists() {
        bail!("the package did not unpack to linux-source-7.3/ in {}", tmp.display());
    }
    let _ = std::fs::remove_dir_all(&src);
    std::fs::rename(&top, &src)?;
    let _ = std::fs::remove_dir_all(&tmp);
    say("fetch", "committing the base tree to git (about 40 s)");
    run(git(&src).args(["init", "-q", "-b", "base", "."]))?;
    run(git(&src).args(["add", "-A", "-f", "."]))?;
    run(git(&src).args(["commit", "-q", "--no-verify", "-m", &format!("Linux 7.3.4 (Debian {PACKAGE} {VERSION})")]))?;
    run(git(&src).args(["tag", BASE_TAG]))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::TempDir;

    fn lab_in(t: &TempDir) -> Lab {
        let mut lab = Lab::new(t.path().join("repo"), crate::lab::Accel::Auto);
        lab.cache = t.path().join("cache");
        lab
    }

    #[test]
    fn corrupted_download_is_refused_with_one_line_and_removed() {
        let t = TempDir::new("dl").unwrap();
        let lab = lab_in(&t);
        let err = ensure_deb(&lab, |_, dir| std::fs::write(dir.join(DEB_NAME), b"not the package").map_err(Into::into))
            .unwrap_err();
        assert!(format!("{err:#}").starts_with("SHA-256 mismatch for "), "{err}");
        assert!(format!("{err:#}").contains(SHA256), "{err}");
        assert!(!format!("{err:#}").contains('\n'));
        assert!(!lab.cache.join("downloads").join(DEB_NAME).exists());
    }

    #[test]
    fn failed_download_is_reported() {
        let t = TempDir::new("dl2").unwrap();
        let lab = lab_in(&t);
        let err = ensure_deb(&lab, |_, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("is not there"), "{err}");
    }

    #[test]
    fn sha256_of_known_content() {
        let t = TempDir::new("sha").unwrap();
        let p = t.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(sha256_file(&p).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        verify(&p, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").unwrap();
    }
}
