//! The patch series: series/series.toml names the patches in order; each
//! adds overlay files (linux/<kernel path>) and applies diffs
//! (series/diffs/*.diff). Assembly builds one commit per patch on top of the
//! base with git plumbing in a private index, so the work tree is only
//! touched where files differ (builds stay incremental) and fixed
//! identities and dates make the commit ids depend on content alone.

use crate::base::{git, git_identity};
use crate::util::bail;
use crate::util::{read, run, say, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub base: String,
    pub author: String,
    pub date: String,
    pub cover: Cover,
    #[serde(rename = "patch")]
    pub patches: Vec<Patch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cover {
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub subject: String,
    pub message: String,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub diffs: Vec<String>,
}

/// Where the series lives in a checkout.
pub struct SeriesDir {
    pub manifest: PathBuf,
    pub overlay: PathBuf,
    pub diffs: PathBuf,
}

impl SeriesDir {
    pub fn in_repo(repo: &Path) -> SeriesDir {
        SeriesDir {
            manifest: repo.join("series/series.toml"),
            overlay: repo.join("linux"),
            diffs: repo.join("series/diffs"),
        }
    }
}

/// Splits `Name <mail>`.
fn split_author(a: &str) -> Result<(String, String)> {
    let (name, rest) = a.split_once('<').ok_or_else(|| anyhow::anyhow!("author `{a}` is not `Name <mail>`"))?;
    Ok((name.trim().to_string(), rest.trim_end_matches('>').trim().to_string()))
}

/// Every file below `dir`, as paths relative to it, sorted.
pub fn walk(dir: &Path) -> Result<Vec<String>> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => bail!("cannot list {}: {e}", d.display()),
        };
        for e in rd {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

impl Manifest {
    pub fn load(sd: &SeriesDir) -> Result<Manifest> {
        let text = read(&sd.manifest)?;
        let m: Manifest =
            toml::from_str(&text).with_context(|| format!("{} is not a valid manifest", sd.manifest.display()))?;
        m.check(sd)?;
        Ok(m)
    }

    /// Every overlay file belongs to exactly one patch, every named file
    /// and diff exists, and subjects are one line.
    pub fn check(&self, sd: &SeriesDir) -> Result<()> {
        split_author(&self.author)?;
        if self.base != "test" && self.base != crate::base::KERNEL {
            bail!(
                "{}: the series is for Linux {}, the lab builds {}",
                sd.manifest.display(),
                self.base,
                crate::base::KERNEL
            );
        }
        if self.patches.is_empty() {
            bail!("{}: the series has no patch", sd.manifest.display());
        }
        let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, p) in self.patches.iter().enumerate() {
            let n = i + 1;
            if p.subject.contains('\n') || p.subject.trim().is_empty() {
                bail!("patch {n}: the subject must be one non-empty line");
            }
            if p.files.is_empty() && p.diffs.is_empty() {
                bail!("patch {n} ({}) adds no file and applies no diff", p.subject);
            }
            for f in &p.files {
                if let Some(prev) = owner.insert(f, n) {
                    bail!("linux/{f} is named by patch {prev} and patch {n}");
                }
                if !sd.overlay.join(f).is_file() {
                    bail!("patch {n} ({}) names linux/{f}, which does not exist", p.subject);
                }
            }
            for d in &p.diffs {
                if !sd.diffs.join(d).is_file() {
                    bail!("patch {n} ({}) names series/diffs/{d}, which does not exist", p.subject);
                }
            }
        }
        for f in walk(&sd.overlay)? {
            if !owner.contains_key(f.as_str()) {
                bail!("linux/{f} belongs to no patch in {}", sd.manifest.display());
            }
        }
        Ok(())
    }
}

/// Date of patch `i` (0-based): the manifest's date plus `i` minutes, in
/// git's "seconds offset" form.
fn patch_date(base: &str, i: usize) -> Result<String> {
    // Accept only the fixed form YYYY-MM-DDTHH:MM:SSZ and add minutes by
    // going through seconds since the epoch.
    let b = base.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        bail!("date `{base}` is not YYYY-MM-DDTHH:MM:SSZ");
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        base[r].parse().map_err(|_| anyhow::anyhow!("date `{base}` is not YYYY-MM-DDTHH:MM:SSZ"))
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + h * 3600 + mi * 60 + s + 60 * i as i64;
    Ok(format!("{secs} +0000"))
}

/// One assembled commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub subject: String,
    pub commit: String,
}

/// The applied series: the base commit and one commit per patch.
#[derive(Debug, Clone)]
pub struct Series {
    pub base: String,
    pub commits: Vec<Assembled>,
}

impl Series {
    pub fn tip(&self) -> &str {
        self.commits.last().map_or(&self.base, |c| &c.commit)
    }
}

/// Parses `git apply` errors into "file, hunk N at line L" using the diff's
/// hunk headers.
pub fn explain_apply_failure(diff: &str, stderr: &str) -> String {
    // git says: "error: patch failed: arch/Kconfig:114"
    for line in stderr.lines() {
        if let Some(rest) = line.trim().strip_prefix("error: patch failed: ") {
            if let Some((file, lno)) = rest.rsplit_once(':') {
                let lno: usize = lno.trim().parse().unwrap_or(0);
                let hunk = hunk_index(diff, file, lno);
                return match hunk {
                    Some(h) => format!("{file}: hunk {h} (@@ -{lno}) does not apply"),
                    None => format!("{file}: hunk at line {lno} does not apply"),
                };
            }
        }
        if let Some(rest) = line.trim().strip_prefix("error: ") {
            if rest.ends_with("No such file or directory") || rest.contains("does not exist in index") {
                return rest.to_string();
            }
        }
    }
    let first = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or(stderr.trim());
    first.to_string()
}

/// 1-based index of the hunk of `file` whose old range starts at `lno`.
fn hunk_index(diff: &str, file: &str, lno: usize) -> Option<usize> {
    let mut in_file = false;
    let mut n = 0;
    for l in diff.lines() {
        if let Some(p) = l.strip_prefix("+++ ") {
            in_file = p.trim_start_matches("b/") == file;
            n = 0;
        } else if in_file && l.starts_with("@@ -") {
            n += 1;
            let start: usize = l[4..].split([',', ' ']).next().and_then(|s| s.parse().ok()).unwrap_or(0);
            if start == lno {
                return Some(n);
            }
        }
    }
    None
}

/// Builds the commits of the series on `base` in `repo` without touching
/// its work tree, and points branch `series` at the tip.
pub fn assemble(repo: &Path, base: &str, m: &Manifest, sd: &SeriesDir) -> Result<Series> {
    let base = run(git(repo).args(["rev-parse", &format!("{base}^{{commit}}")]))?.trim().to_string();
    let index = repo.join(".git/entry-lab-index");
    let _ = std::fs::remove_file(&index);
    let gi = |args: &[&str]| -> Command {
        let mut c = git(repo);
        c.env("GIT_INDEX_FILE", &index).args(args);
        c
    };
    run(&mut gi(&["read-tree", &base]))?;
    let (name, email) = split_author(&m.author)?;
    let mut parent = base.clone();
    let mut commits = vec![];
    for (i, p) in m.patches.iter().enumerate() {
        let n = i + 1;
        for f in &p.files {
            let path = sd.overlay.join(f);
            let sha = run(git(repo).args(["hash-object", "-w", "--"]).arg(&path))?;
            let exec = is_executable(&path);
            let mode = if exec { "100755" } else { "100644" };
            run(&mut gi(&["update-index", "--add", "--cacheinfo", &format!("{mode},{},{f}", sha.trim())]))?;
        }
        for d in &p.diffs {
            let dpath = sd.diffs.join(d);
            let out = gi(&["apply", "--cached", "--whitespace=nowarn"])
                .arg(&dpath)
                .output()
                .with_context(|| "cannot run git apply".to_string())?;
            if !out.status.success() {
                let why = explain_apply_failure(&read(&dpath)?, &String::from_utf8_lossy(&out.stderr));
                bail!("patch {n} ({}): series/diffs/{d} does not apply: {why}", p.subject);
            }
        }
        let tree = run(&mut gi(&["write-tree"]))?.trim().to_string();
        let date = patch_date(&m.date, i)?;
        let msg = format!("{}\n\n{}\n", p.subject.trim(), p.message.trim());
        let mut c = git(repo);
        git_identity(&mut c, &name, &email, &date);
        let commit = run(c.args(["commit-tree", &tree, "-p", &parent, "-m", &msg]))?.trim().to_string();
        commits.push(Assembled { subject: p.subject.clone(), commit: commit.clone() });
        parent = commit;
    }
    let _ = std::fs::remove_file(&index);
    // HEAD attached to `series` (someone ran `git checkout series` in the
    // work tree) would move with the branch while the index and the files
    // stay: the next checkout would then see the old files as local
    // changes. Detach it first; that changes no file.
    if run(git(repo).args(["symbolic-ref", "-q", "HEAD"])).is_ok_and(|r| r.trim() == "refs/heads/series") {
        run(git(repo).args(["checkout", "-q", "--detach"]))?;
    }
    run(git(repo).args(["update-ref", "refs/heads/series", &parent]))?;
    Ok(Series { base, commits })
}

/// Applies `diff` on top of the series as one more commit (for fault
/// injection: never exported, branch `series` is not moved); returns it.
pub fn with_extra_diff(repo: &Path, s: &Series, diff: &Path, subject: &str) -> Result<String> {
    let index = repo.join(".git/entry-lab-index-extra");
    let _ = std::fs::remove_file(&index);
    let gi = |args: &[&str]| -> Command {
        let mut c = git(repo);
        c.env("GIT_INDEX_FILE", &index).args(args);
        c
    };
    run(&mut gi(&["read-tree", s.tip()]))?;
    let out = gi(&["apply", "--cached", "--whitespace=nowarn"]).arg(diff).output()?;
    if !out.status.success() {
        let why = explain_apply_failure(&read(diff)?, &String::from_utf8_lossy(&out.stderr));
        bail!("{} does not apply on the series: {why}", diff.display());
    }
    let tree = run(&mut gi(&["write-tree"]))?.trim().to_string();
    let _ = std::fs::remove_file(&index);
    let commit = run(git(repo).args(["commit-tree", &tree, "-p", s.tip(), "-m", subject]))?;
    Ok(commit.trim().to_string())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// The work tree's commit when it has no local changes (tracked or
/// untracked): what a kept result can be keyed by. None otherwise.
pub fn clean_head(repo: &Path) -> Option<String> {
    let status = run(git(repo).args(["status", "--porcelain"])).ok()?;
    if !status.trim().is_empty() {
        return None;
    }
    Some(run(git(repo).args(["rev-parse", "HEAD"])).ok()?.trim().to_string())
}

/// Checks out `commit` in the work tree, touching only files that differ.
pub fn checkout(repo: &Path, commit: &str) -> Result<()> {
    let head = run(git(repo).args(["rev-parse", "HEAD"])).unwrap_or_default();
    if head.trim() == commit {
        return Ok(());
    }
    let dirty = run(git(repo).args(["status", "--porcelain", "--untracked-files=no"]))?;
    if !dirty.trim().is_empty() {
        let first = dirty.lines().next().unwrap_or_default();
        bail!(
            "the kernel work tree {} has local changes ({first} ...); commit them to the series or run `git -C {} checkout -f --detach series`",
            repo.display(),
            repo.display()
        );
    }
    // Detached: moving branch `series` on the next assembly must not move
    // what HEAD says is checked out.
    run(git(repo).args(["checkout", "-q", "--detach", commit]))?;
    Ok(())
}

/// How the mails of an export are addressed.
#[derive(Debug, Default, Clone)]
pub struct MailOpts {
    /// `[RFC PATCH n/m]` subjects (`git format-patch --rfc`).
    pub rfc: bool,
    /// `Name <mail>` for the `From:` and `Signed-off-by:` lines in place of
    /// the manifest's author (a placeholder identity).
    pub author: Option<String>,
    /// The benchmark table of the last `bench` run, put in the cover letter
    /// in place of [`BENCH_MARK`].
    pub bench: Option<String>,
}

/// The line of the cover letter's body that the export replaces with the
/// benchmark table of the last run, or with where to get it.
pub const BENCH_MARK: &str = "@BENCH_TABLE@";

/// What stands in the cover letter when no benchmark ran on this machine.
pub const NO_BENCH: &str = "(The full table: ./entry-lab bench; no run was recorded when this series was exported.)";

/// Writes the series as mails (`git format-patch --cover-letter`) into
/// `out`, with the cover letter filled in from the manifest. The commits
/// keep the manifest's author (assembling stays reproducible); `opts.author`
/// replaces it in the mails only.
pub fn export(repo: &Path, s: &Series, m: &Manifest, out: &Path, opts: &MailOpts) -> Result<Vec<PathBuf>> {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    let range = format!("{}..{}", s.base, s.tip());
    // The cover letter is "from" the committer: make that the series author.
    let (name, email) = split_author(&m.author)?;
    let mut fp = git(repo);
    git_identity(&mut fp, &name, &email, &patch_date(&m.date, 0)?);
    fp.args(["format-patch", "--cover-letter", "--numbered"]);
    if opts.rfc {
        fp.arg("--rfc");
    }
    let list = run(fp.args(["--signature=entry-lab", "--base", &s.base, "-o"]).arg(out).arg(&range))?;
    let files: Vec<PathBuf> = list.lines().map(PathBuf::from).collect();
    let cover = files
        .iter()
        .find(|f| f.to_string_lossy().contains("0000-cover-letter"))
        .ok_or_else(|| anyhow::anyhow!("git format-patch wrote no cover letter"))?;
    let text = read(cover)?
        .replace("*** SUBJECT HERE ***", m.cover.subject.trim())
        .replace("*** BLURB HERE ***", m.cover.body.trim())
        .replace(BENCH_MARK, opts.bench.as_deref().unwrap_or(NO_BENCH).trim_end());
    crate::util::write(cover, text)?;
    if let Some(who) = opts.author.as_deref().filter(|a| a.trim() != m.author.trim()) {
        split_author(who)?;
        for f in &files {
            crate::util::write(f, read(f)?.replace(m.author.trim(), who.trim()))?;
        }
    }
    Ok(files)
}

/// The identity `git config user.name` and `user.email` give in `repo`, as
/// `Name <mail>`, when both are set.
pub fn git_config_author(repo: &Path) -> Option<String> {
    let get = |k: &str| {
        let out = git(repo).args(["config", "--get", k]).output().ok()?;
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !v.is_empty()).then_some(v)
    };
    Some(format!("{} <{}>", get("user.name")?, get("user.email")?))
}

/// Applies the exported mails with `git am` on a fresh work tree of the
/// base and checks that the result has the same trees as the assembly.
pub fn check_am(repo: &Path, s: &Series, mails: &[PathBuf], scratch: &Path) -> Result<()> {
    let wt = scratch.join("am-check");
    let _ = run(git(repo).args(["worktree", "remove", "--force"]).arg(&wt));
    let _ = std::fs::remove_dir_all(&wt);
    run(git(repo).args(["worktree", "prune"]))?;
    run(git(repo).args(["worktree", "add", "-q", "--detach"]).arg(&wt).arg(&s.base))?;
    let patches: Vec<&PathBuf> = mails.iter().filter(|f| !f.to_string_lossy().contains("0000-cover-letter")).collect();
    let res = (|| -> Result<()> {
        let out = git(&wt).args(["am", "-q", "--committer-date-is-author-date"]).args(&patches).output()?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let msg = String::from_utf8_lossy(&out.stdout);
            let what = msg
                .lines()
                .chain(err.lines())
                .find(|l| l.starts_with("Patch failed at") || l.starts_with("error:"))
                .unwrap_or("git am failed")
                .to_string();
            bail!("the exported series does not apply with git am: {what}");
        }
        let am_tree = run(git(&wt).args(["rev-parse", "HEAD^{tree}"]))?;
        let tree = run(git(repo).args(["rev-parse", &format!("{}^{{tree}}", s.tip())]))?;
        if am_tree != tree {
            bail!("git am of the export gives tree {} but the assembly gives {}", am_tree.trim(), tree.trim());
        }
        Ok(())
    })();
    let _ = run(git(repo).args(["worktree", "remove", "--force"]).arg(&wt));
    res
}

/// Prints the series as assembled.
pub fn describe(s: &Series) {
    say("series", &format!("base {}", &s.base[..12.min(s.base.len())]));
    for (i, c) in s.commits.iter().enumerate() {
        say("series", &format!("{:04} {} {}", i + 1, &c.commit[..12], c.subject));
    }
}

/// fetch + assemble in the lab's work tree, which then holds the series;
/// returns it.
pub fn assemble_tree(lab: &crate::lab::Lab) -> Result<Series> {
    crate::base::ensure_base(lab)?;
    let sd = SeriesDir::in_repo(&lab.repo);
    let m = Manifest::load(&sd)?;
    let s = assemble(&lab.src(), crate::base::BASE_TAG, &m, &sd)?;
    checkout(&lab.src(), s.tip())?;
    describe(&s);
    Ok(s)
}

/// Exports the series (default: results/series) and proves it applies
/// with git am on the base; skips the check when this very tip was
/// already checked.
pub fn export_checked(lab: &crate::lab::Lab, s: &Series, out: Option<PathBuf>, opts: &MailOpts) -> Result<PathBuf> {
    let sd = SeriesDir::in_repo(&lab.repo);
    let m = Manifest::load(&sd)?;
    let out = out.unwrap_or_else(|| lab.results.join("series"));
    let mails = export(&lab.src(), s, &m, &out, opts)?;
    if let Some(a) = &opts.author {
        say("series", &format!("from and signed off by {a}{}", if opts.rfc { ", as an RFC" } else { "" }));
    }
    let stamp = lab.cache.join("am-checked");
    if read(&stamp).ok().as_deref() != Some(s.tip()) {
        say("series", "checking the export with git am on a pristine base");
        check_am(&lab.src(), s, &mails, &lab.cache)?;
        crate::util::write(&stamp, s.tip())?;
    }
    say("series", &format!("{} mails in {} (git am check passed)", mails.len(), out.display()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{write, TempDir};

    const MANIFEST: &str = r#"
base = "test"
author = "A U Thor <a@example.org>"
date = "2026-11-22T00:00:00Z"
[cover]
subject = "Cover subject"
body = "Cover body."
[[patch]]
subject = "one: add a file"
message = "Adds new.txt.\n\nSigned-off-by: A U Thor <a@example.org>"
files = ["dir/new.txt"]
[[patch]]
subject = "two: change a file"
message = "Changes old.txt.\n\nSigned-off-by: A U Thor <a@example.org>"
diffs = ["change.diff"]
"#;

    const DIFF: &str = "--- a/old.txt\n+++ b/old.txt\n@@ -1,3 +1,3 @@\n line1\n-line2\n+LINE2\n line3\n";

    /// A base repository and a series directory in a temp folder.
    fn fixture(t: &TempDir, diff: &str) -> (PathBuf, SeriesDir) {
        let repo = t.path().join("src");
        write(&repo.join("old.txt"), "line1\nline2\nline3\n").unwrap();
        run(git(&repo).args(["init", "-q", "-b", "base"])).unwrap();
        run(git(&repo).args(["add", "-A"])).unwrap();
        run(git(&repo).args(["commit", "-q", "-m", "base"])).unwrap();
        let sd = SeriesDir::in_repo(&t.path().join("checkout"));
        write(&sd.manifest, MANIFEST).unwrap();
        write(&sd.overlay.join("dir/new.txt"), "new\n").unwrap();
        write(&sd.diffs.join("change.diff"), diff).unwrap();
        (repo, sd)
    }

    #[test]
    fn assembly_is_deterministic_and_exports_apply_with_git_am() {
        let t = TempDir::new("series").unwrap();
        let (repo, sd) = fixture(&t, DIFF);
        let m = Manifest::load(&sd).unwrap();
        let a = assemble(&repo, "base", &m, &sd).unwrap();
        let b = assemble(&repo, "base", &m, &sd).unwrap();
        assert_eq!(a.commits, b.commits);
        assert_eq!(a.commits.len(), 2);
        // Content is what the patches say.
        let show = |spec: &str| run(git(&repo).args(["show", spec])).unwrap();
        assert_eq!(show(&format!("{}:dir/new.txt", a.tip())), "new\n");
        assert_eq!(show(&format!("{}:old.txt", a.tip())), "line1\nLINE2\nline3\n");
        let log = run(git(&repo).args(["log", "--format=%an|%ad|%s", "--date=iso-strict", a.tip()])).unwrap();
        assert!(log.starts_with("A U Thor|2026-11-22T00:01:00Z|two: change a file\n"), "{log}");
        // Work tree untouched until checkout.
        assert_eq!(read(&repo.join("old.txt")).unwrap(), "line1\nline2\nline3\n");
        checkout(&repo, a.tip()).unwrap();
        assert_eq!(read(&repo.join("old.txt")).unwrap(), "line1\nLINE2\nline3\n");

        let out = t.path().join("export");
        let mails = export(&repo, &a, &m, &out, &MailOpts::default()).unwrap();
        assert_eq!(mails.len(), 3);
        let cover = read(&mails[0]).unwrap();
        assert!(cover.contains("Subject: [PATCH 0/2] Cover subject"), "{cover}");
        assert!(cover.contains("From: A U Thor <a@example.org>\nDate: Sun, 22 Nov 2026 00:00:00 +0000"), "{cover}");
        assert!(cover.contains("Cover body."));
        assert!(read(&mails[2]).unwrap().contains("Subject: [PATCH 2/2] two: change a file"));
        check_am(&repo, &a, &mails, t.path()).unwrap();

        // An RFC from the user: every From: is theirs, the placeholder is gone,
        // and the mails still apply to the same tree.
        let opts = MailOpts { rfc: true, author: Some("Jane Dev <jane@example.com>".into()), bench: None };
        let mails = export(&repo, &a, &m, &out, &opts).unwrap();
        let cover = read(&mails[0]).unwrap();
        assert!(cover.contains("Subject: [RFC PATCH 0/2] Cover subject"), "{cover}");
        let two = read(&mails[2]).unwrap();
        assert!(two.contains("Subject: [RFC PATCH 2/2] two: change a file"), "{two}");
        assert!(two.contains("From: Jane Dev <jane@example.com>"), "{two}");
        assert!(!mails.iter().any(|f| read(f).unwrap().contains("a@example.org")));
        check_am(&repo, &a, &mails, t.path()).unwrap();
        let bad = MailOpts { rfc: false, author: Some("no mail".into()), bench: None };
        assert!(export(&repo, &a, &m, &out, &bad).is_err());
    }

    #[test]
    fn reassembling_a_changed_series_updates_the_work_tree() {
        let t = TempDir::new("series-re").unwrap();
        let (repo, sd) = fixture(&t, DIFF);
        let m = Manifest::load(&sd).unwrap();
        let a = assemble(&repo, "base", &m, &sd).unwrap();
        checkout(&repo, a.tip()).unwrap();
        write(&sd.overlay.join("dir/new.txt"), "changed\n").unwrap();
        let b = assemble(&repo, "base", &m, &sd).unwrap();
        assert_ne!(a.tip(), b.tip());
        checkout(&repo, b.tip()).unwrap();
        assert_eq!(read(&repo.join("dir/new.txt")).unwrap(), "changed\n");
        let head = run(git(&repo).args(["rev-parse", "HEAD"])).unwrap();
        assert_eq!(head.trim(), b.tip());
    }

    #[test]
    fn a_work_tree_checked_out_on_the_branch_survives_reassembly() {
        // `git checkout -f series` by hand attaches HEAD to the branch; the
        // next assembly must not move HEAD without the files.
        let t = TempDir::new("series-attached").unwrap();
        let (repo, sd) = fixture(&t, DIFF);
        let m = Manifest::load(&sd).unwrap();
        assemble(&repo, "base", &m, &sd).unwrap();
        run(git(&repo).args(["checkout", "-q", "-f", "series"])).unwrap();
        write(&sd.overlay.join("dir/new.txt"), "changed\n").unwrap();
        let b = assemble(&repo, "base", &m, &sd).unwrap();
        assert!(clean_head(&repo).is_some(), "the old checkout is still clean");
        checkout(&repo, b.tip()).unwrap();
        assert_eq!(read(&repo.join("dir/new.txt")).unwrap(), "changed\n");
        assert_eq!(clean_head(&repo).as_deref(), Some(b.tip()));
    }

    #[test]
    fn only_a_clean_work_tree_names_its_commit() {
        let t = TempDir::new("series-clean").unwrap();
        let (repo, sd) = fixture(&t, DIFF);
        let a = assemble(&repo, "base", &Manifest::load(&sd).unwrap(), &sd).unwrap();
        checkout(&repo, a.tip()).unwrap();
        assert_eq!(clean_head(&repo).as_deref(), Some(a.tip()));
        write(&repo.join("old.txt"), "edited\n").unwrap();
        assert_eq!(clean_head(&repo), None, "a changed file");
        run(git(&repo).args(["checkout", "-q", "--", "old.txt"])).unwrap();
        write(&repo.join("stray.c"), "int x;\n").unwrap();
        assert_eq!(clean_head(&repo), None, "an untracked file");
        std::fs::remove_file(repo.join("stray.c")).unwrap();
        assert_eq!(clean_head(&repo).as_deref(), Some(a.tip()));
    }

    #[test]
    fn a_diff_that_does_not_apply_names_patch_file_and_hunk() {
        let t = TempDir::new("series-bad").unwrap();
        let bad = "--- a/old.txt\n+++ b/old.txt\n@@ -1,3 +1,3 @@\n line1\n-lineX\n+LINE2\n line3\n";
        let (repo, sd) = fixture(&t, bad);
        let m = Manifest::load(&sd).unwrap();
        let e = assemble(&repo, "base", &m, &sd).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "patch 2 (two: change a file): series/diffs/change.diff does not apply: old.txt: hunk 1 (@@ -1) does not apply"
        );
    }

    #[test]
    fn overlay_files_must_belong_to_a_patch() {
        let t = TempDir::new("series-own").unwrap();
        let (_, sd) = fixture(&t, DIFF);
        write(&sd.overlay.join("stray.rs"), "x").unwrap();
        let e = Manifest::load(&sd).unwrap_err();
        assert!(format!("{e:#}").starts_with("linux/stray.rs belongs to no patch"), "{e}");
    }

    #[test]
    fn missing_overlay_file_is_named() {
        let t = TempDir::new("series-miss").unwrap();
        let (_, sd) = fixture(&t, DIFF);
        std::fs::remove_file(sd.overlay.join("dir/new.txt")).unwrap();
        let e = Manifest::load(&sd).unwrap_err();
        assert_eq!(format!("{e:#}"), "patch 1 (one: add a file) names linux/dir/new.txt, which does not exist");
    }

    #[test]
    fn dates_advance_a_minute_per_patch() {
        assert_eq!(patch_date("1970-01-01T00:00:00Z", 0).unwrap(), "0 +0000");
        assert_eq!(patch_date("2026-11-22T00:00:00Z", 2).unwrap(), "1795305720 +0000");
        assert!(patch_date("22 Nov 2026", 0).is_err());
    }

    #[test]
    fn hunks_are_counted_per_file() {
        let d = "+++ b/x\n@@ -3,2 +3,2 @@\n+++ b/y\n@@ -1,2 +1,2 @@\n@@ -40,2 +40,2 @@\n";
        assert_eq!(hunk_index(d, "y", 40), Some(2));
        assert_eq!(hunk_index(d, "x", 3), Some(1));
        assert_eq!(hunk_index(d, "x", 40), None);
    }
}
