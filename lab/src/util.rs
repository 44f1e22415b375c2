//! Errors, process helpers and progress output shared by every step.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Errors carry a context chain (anyhow); the CLI prints the chain on one
/// line (`{:#}`): what failed, then why.
pub use anyhow::{anyhow, bail, Context, Error, Result};

/// Prints a progress line for a step (to stderr, so stdout stays the report).
pub fn say(step: &str, msg: &str) {
    eprintln!("[{step}] {msg}");
}

/// Formats a duration as `1m05s` or `42s`.
pub fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Spawns `cmd`, mapping "not found" to a message that names the tool.
fn spawn_err(cmd: &Command, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!("missing tool `{}`: run `./entry-lab setup` to install it", cmd.get_program().to_string_lossy())
    } else {
        anyhow::anyhow!("cannot run `{}`: {e}", describe(cmd))
    }
}

/// Runs a command to completion and returns its stdout; a non-zero exit is
/// an error carrying the last lines of stderr.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| spawn_err(cmd, e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("`{}` failed ({}): {}", describe(cmd), out.status, tail.join(" | "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command with stdout and stderr appended to `log`, calling
/// `on_line` for every output line (for progress), and returns whether it
/// succeeded.
pub fn run_logged(cmd: &mut Command, log: &Path, mut on_line: impl FnMut(&str)) -> Result<bool> {
    // A fresh checkout has no results/logs/ yet: any command may be the first to log.
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut logf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open log {}", log.display()))?;
    writeln!(logf, "$ {}", describe(cmd))?;
    // Merge stderr into stdout through a pipe so the order is kept.
    let (reader, writer) = std::io::pipe()?;
    let writer2 = writer.try_clone()?;
    let mut child = cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2).spawn().map_err(|e| spawn_err(cmd, e))?;
    // The Command still holds the pipe's write ends; drop them so the read
    // side sees EOF when the child exits.
    drop(std::mem::replace(cmd, Command::new("true")));
    for line in BufReader::new(reader).lines() {
        let line = line.unwrap_or_default();
        writeln!(logf, "{line}")?;
        on_line(&line);
    }
    Ok(child.wait()?.success())
}

/// Calls `tick` about every `every` while `work` runs on this thread's
/// companion; used for progress on steps that print nothing themselves.
pub fn with_ticker<T>(every: Duration, tick: impl Fn(Duration) + Sync, work: impl FnOnce() -> T) -> T {
    let done = std::sync::atomic::AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut next = every;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if start.elapsed() >= next {
                    tick(start.elapsed());
                    next += every;
                }
            }
        });
        let r = work();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        r
    })
}

/// Holds the machine-wide kernel build lock while alive (nothing when
/// this process holds it for a whole job: [`job_lock`]).
pub struct MachineLock(#[allow(dead_code)] Option<std::fs::File>);

/// Set while this process holds the machine-wide lock for a whole job.
static JOB_HOLDS_LOCK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The machine-wide lock for a whole job, until dropped.
pub struct JobLock(#[allow(dead_code)] std::fs::File);

impl Drop for JobLock {
    fn drop(&mut self) {
        JOB_HOLDS_LOCK.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Takes the machine-wide lock for a whole job: no other entry-lab builds
/// on this machine until it ends, and this process's own builds
/// ([`machine_lock`]) no longer wait for each other. A job that holds it
/// decides itself what runs side by side (the test job builds `arm64-rust`
/// at low priority while the x86 faults relink).
pub fn job_lock(who: &str) -> Result<JobLock> {
    job_lock_at(&machine_lock_path(), who)
}

fn job_lock_at(path: &Path, who: &str) -> Result<JobLock> {
    let MachineLock(f) = machine_lock_at(path, who)?;
    let f = f.ok_or_else(|| anyhow::anyhow!("{who}: this process already holds the machine lock for a job"))?;
    JOB_HOLDS_LOCK.store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(JobLock(f))
}

static LOCK_WAIT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How long this process has waited for the machine-wide lock so far.
pub fn lock_waited() -> Duration {
    Duration::from_millis(LOCK_WAIT_MS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Takes the machine-wide lock that keeps two kernel builds (or kunit.py
/// runs, which build) from running at once: on a 2-core machine two builds
/// take longer than one after the other. Waits, saying so, while another
/// entry-lab (from any checkout or cache) holds it.
pub fn machine_lock(who: &str) -> Result<MachineLock> {
    machine_lock_at(&machine_lock_path(), who)
}

fn machine_lock_path() -> PathBuf {
    std::env::var_os("ENTRY_LAB_LOCK")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("entry-lab-kernel-build.lock"))
}

fn machine_lock_at(path: &Path, who: &str) -> Result<MachineLock> {
    if JOB_HOLDS_LOCK.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(MachineLock(None));
    }
    let (f, waited) = lock_file(path, || {
        say(who, &format!("waiting for another kernel build on this machine to finish (lock {})", path.display()))
    })?;
    LOCK_WAIT_MS.fetch_add(waited.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    Ok(MachineLock(Some(f)))
}

/// Opens `path` (created when missing) and takes its exclusive lock;
/// when another process holds it, calls `waiting` first and then waits.
/// Returns the file, which holds the lock until dropped, and the wait.
fn lock_file(path: &Path, waiting: impl FnOnce()) -> Result<(std::fs::File, Duration)> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open lock {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok((f, Duration::ZERO)),
        Err(std::fs::TryLockError::WouldBlock) => {
            waiting();
            let start = Instant::now();
            f.lock().with_context(|| format!("cannot lock {}", path.display()))?;
            Ok((f, start.elapsed()))
        }
        Err(std::fs::TryLockError::Error(e)) => bail!("cannot lock {}: {e}", path.display()),
    }
}

/// Held while a command uses the kernel work tree of one cache (see
/// [`tree_lock`]).
pub struct TreeLock(#[allow(dead_code)] std::fs::File);

/// Takes the lock of `cache`'s kernel work tree for the rest of the
/// process: commands of one cache move the same tree (assemble, a bisect's
/// checkouts, faults, mutants), so a second one waits, naming the first,
/// instead of changing the tree under its build.
pub fn tree_lock(cache: &Path, what: &str) -> Result<TreeLock> {
    std::fs::create_dir_all(cache)?;
    let path = cache.join("tree.lock");
    let (mut f, _) = lock_file(&path, || {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        let holder = holder.trim();
        say(
            "lab",
            &format!(
                "waiting: another entry-lab uses the kernel tree of {} ({})",
                cache.display(),
                if holder.is_empty() { "unknown command" } else { holder }
            ),
        );
    })?;
    use std::io::Seek;
    f.set_len(0)?;
    f.seek(std::io::SeekFrom::Start(0))?;
    writeln!(f, "pid {}: entry-lab {what}", std::process::id())?;
    Ok(TreeLock(f))
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_signal: i32) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

/// From now on SIGINT (Ctrl-C) and SIGTERM do not end the lab: they set a
/// flag that [`interrupted`] reads, so a long job can put the kernel work
/// tree back before it stops. The children (make, kunit.py, QEMU) get
/// Ctrl-C from the terminal and end as usual.
pub fn catch_interrupts() {
    // SAFETY: `on_interrupt` only stores to an atomic, which is
    // async-signal-safe; SIGINT = 2 and SIGTERM = 15 on Linux.
    unsafe {
        signal(2, on_interrupt);
        signal(15, on_interrupt);
    }
}

/// Was SIGINT or SIGTERM received since [`catch_interrupts`]?
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Looks a program up on PATH.
pub fn which(prog: impl AsRef<OsStr>) -> Option<PathBuf> {
    let prog = prog.as_ref();
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// Reads a file, naming it in the error.
pub fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

/// Writes a file (creating its parent), naming it in the error.
pub fn write(p: &Path, data: impl AsRef<[u8]>) -> Result<()> {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    std::fs::write(p, data).with_context(|| format!("cannot write {}", p.display()))
}

/// A temporary directory removed on drop (tests).
#[cfg(test)]
pub struct TempDir(pub PathBuf);

#[cfg(test)]
impl TempDir {
    pub fn new(tag: &str) -> Result<Self> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "entry-lab-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a Python `unittest` file in `dir` with `env` set; returns how many
/// tests ran. Fails when one failed or any was skipped.
pub fn python_unit_tests(dir: &Path, file: &OsStr, env: &[(&str, &OsStr)]) -> Result<usize> {
    let name = file.to_string_lossy();
    let mut cmd = Command::new("python3");
    cmd.current_dir(dir).arg(file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| anyhow::anyhow!("cannot run python3: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    anyhow::ensure!(out.status.success(), "{name} failed: {}", tail.join(" | "));
    anyhow::ensure!(!err.contains("skipped"), "{name}: tests were skipped: {}", tail.join(" | "));
    err.lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{name}: no \"Ran N tests\" line"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn under_a_job_lock_the_jobs_own_builds_do_not_wait_and_others_do() {
        let path = std::env::temp_dir().join(format!("entry-lab-job-lock-{}", std::process::id()));
        let job = super::job_lock_at(&path, "test").unwrap();
        // Two builds of the job at once: neither waits for the other.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let a = super::machine_lock_at(&path, "a").map(|l| l.0.is_none());
            let b = super::machine_lock_at(&path, "b").map(|l| l.0.is_none());
            let _ = tx.send((a.unwrap(), b.unwrap()));
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), (true, true));
        let path = std::env::temp_dir().join(format!("entry-lab-job-lock-{}", std::process::id()));
        assert!(super::job_lock_at(&path, "again").is_err(), "a job lock inside a job lock");
        // Another process still waits: the file is locked.
        let other = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        assert!(matches!(other.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
        drop(job);
        assert!(other.try_lock().is_ok());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_tree_lock_is_exclusive_and_names_its_holder() {
        let dir = std::env::temp_dir().join(format!("entry-lab-tree-lock-{}", std::process::id()));
        let held = super::tree_lock(&dir, "bisect").unwrap();
        let text = std::fs::read_to_string(dir.join("tree.lock")).unwrap();
        assert_eq!(text, format!("pid {}: entry-lab bisect\n", std::process::id()));
        let other = std::fs::File::open(dir.join("tree.lock")).unwrap();
        assert!(matches!(other.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
        drop(held);
        assert!(other.try_lock().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    use super::*;

    #[test]
    fn missing_tool_names_the_tool_and_the_fix() {
        let e = run(&mut Command::new("entry-lab-no-such-tool")).unwrap_err();
        assert_eq!(format!("{e:#}"), "missing tool `entry-lab-no-such-tool`: run `./entry-lab setup` to install it");
    }

    #[test]
    fn failing_command_reports_stderr_tail() {
        let e = run(Command::new("sh").args(["-c", "echo one >&2; echo two >&2; exit 3"])).unwrap_err();
        assert!(format!("{e:#}").contains("exit status: 3"), "{e}");
        assert!(format!("{e:#}").ends_with("one | two"), "{e}");
    }

    #[test]
    fn run_logged_keeps_order_and_sees_every_line() {
        let t = TempDir::new("log").unwrap();
        let log = t.path().join("l.log");
        let mut seen = vec![];
        let ok = run_logged(Command::new("sh").args(["-c", "echo a; echo b >&2; echo c; exit 1"]), &log, |l| {
            seen.push(l.to_string())
        })
        .unwrap();
        assert!(!ok);
        assert_eq!(seen, ["a", "b", "c"]);
        let text = read(&log).unwrap();
        assert!(text.ends_with("a\nb\nc\n"), "{text}");
    }

    #[test]
    fn run_logged_makes_the_log_folder() {
        // `./entry-lab fault` as the first command of a fresh checkout: no results/logs/ yet.
        let t = TempDir::new("log").unwrap();
        let log = t.path().join("results/logs/x.log");
        assert!(run_logged(&mut Command::new("true"), &log, |_| ()).unwrap());
        assert!(read(&log).unwrap().starts_with("$ true"));
    }

    #[test]
    fn durations() {
        assert_eq!(fmt_dur(Duration::from_secs(42)), "42s");
        assert_eq!(fmt_dur(Duration::from_secs(65)), "1m05s");
    }
}
