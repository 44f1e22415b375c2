//! Booting a kernel in QEMU: the initramfs (static busybox, /init, the
//! guest test programs), a runner that captures the serial console to a log
//! with a silence timeout and an overall timeout, the KVM probe, and the
//! console splat scanner.

use crate::lab::Lab;
#[cfg(test)]
use crate::util::run;
use crate::util::{read, say, write, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- cpio --

/// An entry of a newc cpio archive.
pub enum Entry {
    Dir(String),
    File(String, Vec<u8>, u32),
    Symlink(String, String),
    CharDev(String, u32, u32),
}

/// Writes a newc ("070701") cpio archive: what the kernel unpacks as an
/// initramfs. Device nodes need no root this way.
pub fn cpio(entries: &[Entry]) -> Vec<u8> {
    let mut out = vec![];
    let mut ino = 1u32;
    let mut put = |out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)| {
        let namez = name.len() + 1;
        let hdr = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            ino,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            namez,
            0
        );
        ino += 1;
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    };
    for e in entries {
        match e {
            Entry::Dir(n) => put(&mut out, n, 0o040755, &[], (0, 0)),
            Entry::File(n, d, perm) => put(&mut out, n, 0o100000 | perm, d, (0, 0)),
            Entry::Symlink(n, t) => put(&mut out, n, 0o120777, t.as_bytes(), (0, 0)),
            Entry::CharDev(n, maj, min) => put(&mut out, n, 0o020600, &[], (*maj, *min)),
        }
    }
    put(&mut out, "TRAILER!!!", 0, &[], (0, 0));
    while out.len() % 512 != 0 {
        out.push(0);
    }
    out
}

/// The start of every initramfs of the lab: the directories `dirs` (with
/// `bin`, `dev`, `proc`, `sys`, `tmp`), the console and null devices, the
/// static busybox at `busybox` as /bin/busybox and /bin/sh, the lab's /init
/// and `plan` as /plan.
pub fn base_entries(lab: &Lab, dirs: &[&str], busybox: &Path, plan: String) -> Result<Vec<Entry>> {
    let mut entries: Vec<Entry> =
        ["bin", "dev", "proc", "sys", "tmp"].iter().chain(dirs).map(|d| Entry::Dir(d.to_string())).collect();
    entries.extend([
        Entry::CharDev("dev/console".into(), 5, 1),
        Entry::CharDev("dev/null".into(), 1, 3),
        Entry::File(
            "bin/busybox".into(),
            std::fs::read(busybox)
                .with_context(|| format!("cannot read {}; run `./entry-lab setup`", busybox.display()))?,
            0o755,
        ),
        Entry::Symlink("bin/sh".into(), "busybox".into()),
        Entry::File("init".into(), read(&lab.repo.join("lab/guest/init"))?.into_bytes(), 0o755),
        Entry::File("plan".into(), plan.into_bytes(), 0o644),
    ]);
    Ok(entries)
}

/// Packs `programs` after `entries` into `name` in the cache; returns its path.
pub fn pack(lab: &Lab, mut entries: Vec<Entry>, programs: &[crate::guest::Program], name: &str) -> Result<PathBuf> {
    for p in programs {
        for (inside, host) in &p.files {
            entries.push(Entry::File(inside.clone(), crate::guest::file_bytes(host)?, 0o755));
        }
    }
    let path = lab.cache.join(name);
    write(&path, cpio(&entries))?;
    Ok(path)
}

/// Builds the guest programs (see [`crate::guest`]) and packs the
/// initramfs with them and the plan /init follows; returns its path.
pub fn initramfs(lab: &Lab) -> Result<PathBuf> {
    let programs = crate::guest::programs(lab)?;
    let entries =
        base_entries(lab, &["tests", "upstream"], Path::new("/bin/busybox"), crate::guest::plan_text(&programs))?;
    pack(lab, entries, &programs, "initramfs.cpio")
}

// -------------------------------------------------------------- runner --

/// How a QEMU run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// QEMU exited (the guest rebooted) and the done marker was seen.
    Completed,
    /// QEMU exited but the done marker never came.
    ExitedEarly,
    /// "Kernel panic" on the console.
    Panicked(String),
    /// No output at all within the silence limit.
    Silent(u64),
    /// Still running at the overall limit.
    TimedOut(u64),
}

/// Limits and markers of one run.
pub struct RunSpec {
    pub log: PathBuf,
    /// Killed when nothing at all was printed after this long.
    pub first_output: Duration,
    /// Killed after this long in any case.
    pub overall: Duration,
    /// A console line that means the guest finished its work.
    pub done_marker: String,
}

/// Runs `cmd` (QEMU or a stand-in), capturing its output to the log.
pub fn run_console(mut cmd: Command, spec: &RunSpec, step: &str) -> Result<(Outcome, String)> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("missing tool `{}`: run `./entry-lab setup`", cmd.get_program().to_string_lossy())
        } else {
            e.into()
        }
    })?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    for mut pipe in [
        Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("piped")),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let start = Instant::now();
    let mut text = Vec::new();
    let mut last_note = Instant::now();
    let outcome = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(chunk) => text.extend_from_slice(&chunk),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                let s = String::from_utf8_lossy(&text);
                break if s.contains(&spec.done_marker) {
                    Outcome::Completed
                } else if let Some(l) = panic_line(&s) {
                    Outcome::Panicked(l)
                } else {
                    Outcome::ExitedEarly
                };
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let s = String::from_utf8_lossy(&text);
        if let Some(l) = panic_line(&s) {
            // Give the panic message a moment to finish printing.
            std::thread::sleep(Duration::from_millis(500));
            while let Ok(c) = rx.try_recv() {
                text.extend_from_slice(&c);
            }
            break Outcome::Panicked(l);
        }
        if text.is_empty() && start.elapsed() >= spec.first_output {
            break Outcome::Silent(spec.first_output.as_secs());
        }
        if start.elapsed() >= spec.overall {
            break Outcome::TimedOut(spec.overall.as_secs());
        }
        if last_note.elapsed() >= Duration::from_secs(20) {
            last_note = Instant::now();
            let lines = s.lines().count();
            say(step, &format!("running {}s, {lines} console lines", start.elapsed().as_secs()));
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let s = String::from_utf8_lossy(&text).replace('\r', "");
    write(&spec.log, &s)?;
    Ok((outcome, s))
}

/// The "Kernel panic - not syncing" line, if any.
pub fn panic_line(console: &str) -> Option<String> {
    console.lines().find(|l| l.contains("Kernel panic - not syncing")).map(|l| strip_ts(l).to_string())
}

/// Removes a leading "[    1.234567] " printk time stamp.
pub fn strip_ts(l: &str) -> &str {
    let t = l.trim_start();
    if t.starts_with('[') {
        if let Some(i) = t.find("] ") {
            return &t[i + 2..];
        }
    }
    t
}

/// One line of explanation for an outcome that is not success.
pub fn explain(o: &Outcome, log: &Path) -> Option<String> {
    match o {
        Outcome::Completed => None,
        Outcome::ExitedEarly => Some(format!("QEMU exited before the guest finished (log: {})", log.display())),
        Outcome::Panicked(l) => Some(format!("kernel panicked: {l} (log: {})", log.display())),
        Outcome::Silent(s) => Some(format!(
            "QEMU printed nothing in {s} s (broken accelerator? try ENTRY_LAB_ACCEL=tcg) (log: {})",
            log.display()
        )),
        Outcome::TimedOut(s) => Some(format!("guest still running after {s} s, killed (log: {})", log.display())),
    }
}

// -------------------------------------------------------------- splats --

/// Console lines that mean something went wrong in the kernel: each kind
/// with its first line.
pub fn splats(console: &str) -> Vec<String> {
    const PATTERNS: &[&str] = &[
        "WARNING:",
        "BUG:",
        "Oops",
        "Kernel panic",
        "possible recursive locking",
        "possible circular locking",
        "inconsistent lock state",
        "suspicious RCU usage",
        "lockdep",
        "rcu: INFO:",
        "RCU Stall",
        "self-detected stall",
        "general protection fault",
        "Call Trace:",
    ];
    let mut out = vec![];
    for l in console.lines() {
        let s = strip_ts(l);
        // Lines our own tests print about expected behaviour are not splats.
        if s.starts_with("ok ") || s.starts_with("not ok ") || s.starts_with("# ") {
            continue;
        }
        if s.contains("lockdep") && !s.contains("lockdep:") && !s.contains("DEBUG_LOCKS_WARN") {
            continue;
        }
        if PATTERNS.iter().any(|p| s.contains(p)) && !out.iter().any(|o: &String| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

// ---------------------------------------------------------------- kvm --

/// QEMU accelerator arguments for this machine: `-accel kvm` when KVM
/// really works (probed once per machine boot with a short boot of
/// `kernel`), TCG otherwise. ENTRY_LAB_ACCEL=kvm|tcg overrides.
pub fn accel(lab: &Lab, kernel: &Path) -> Result<&'static str> {
    match lab.accel {
        crate::lab::Accel::Kvm => return Ok("kvm"),
        crate::lab::Accel::Tcg => return Ok("tcg"),
        crate::lab::Accel::Auto => {}
    }
    if !Path::new("/dev/kvm").exists() {
        return Ok("tcg");
    }
    let boot_id = read(Path::new("/proc/sys/kernel/random/boot_id")).unwrap_or_default();
    let stamp = lab.cache.join("kvm-probe");
    if let Ok(s) = read(&stamp) {
        if let Some((id, verdict)) = s.trim().split_once(' ') {
            if id == boot_id.trim() {
                return Ok(if verdict == "kvm" { "kvm" } else { "tcg" });
            }
        }
    }
    say("kvm", "probing KVM with a 20 s boot (a broken KVM prints nothing)");
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-nodefaults", "-nographic", "-no-reboot", "-m", "512", "-accel", "kvm"])
        .args(["-serial", "stdio", "-kernel"])
        .arg(kernel)
        .args(["-append", "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 kunit.enable=0"]);
    let spec = RunSpec {
        log: lab.results.join("logs/kvm-probe.log"),
        first_output: Duration::from_secs(20),
        overall: Duration::from_secs(20),
        done_marker: "\u{0}never".into(),
    };
    let (_, text) = run_console(cmd, &spec, "kvm")?;
    let works = text.contains("Linux version");
    let verdict = if works { "kvm" } else { "tcg" };
    say("kvm", if works { "KVM works: using it" } else { "KVM printed nothing: using TCG" });
    write(&stamp, format!("{} {verdict}\n", boot_id.trim()))?;
    Ok(verdict)
}

/// Writes a `qemu-system-x86_64` wrapper that drops `-accel kvm` (and
/// `hvf`), for tools such as kunit.py that hard-code KVM first; returns the
/// directory to put first on PATH.
pub fn tcg_shim(lab: &Lab) -> Result<PathBuf> {
    let real = crate::util::which("qemu-system-x86_64")
        .ok_or_else(|| crate::util::anyhow!("missing tool `qemu-system-x86_64`: run `./entry-lab setup`"))?;
    let dir = lab.cache.join("qemu-shim");
    let script = format!(
        "#!/bin/sh\n# entry-lab: KVM does not work on this machine; run QEMU with TCG only.\n\
         skip=0\nfor a in \"$@\"; do\n  shift\n  if [ $skip = 1 ]; then skip=0\n    case \"$a\" in kvm|hvf) continue;; *) set -- \"$@\" -accel \"$a\"; continue;; esac\n  fi\n  \
         if [ \"$a\" = -accel ]; then skip=1; continue; fi\n  set -- \"$@\" \"$a\"\ndone\nexec {} \"$@\"\n",
        real.display()
    );
    let p = dir.join("qemu-system-x86_64");
    write(&p, script)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::TempDir;

    fn spec(t: &TempDir, first: u64, overall: u64) -> RunSpec {
        RunSpec {
            log: t.path().join("console.log"),
            first_output: Duration::from_secs(first),
            overall: Duration::from_secs(overall),
            done_marker: "ENTRY-LAB: DONE".into(),
        }
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn a_qemu_that_never_prints_is_killed_and_named() {
        let t = TempDir::new("silent").unwrap();
        let s = spec(&t, 1, 30);
        let start = Instant::now();
        let (o, _) = run_console(sh("sleep 60"), &s, "test").unwrap();
        assert_eq!(o, Outcome::Silent(1));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(explain(&o, &s.log).unwrap().starts_with("QEMU printed nothing in 1 s"));
    }

    #[test]
    fn a_kernel_panic_at_boot_is_reported_with_its_line() {
        let t = TempDir::new("panic").unwrap();
        let s = spec(&t, 5, 30);
        let (o, _) = run_console(
            sh("echo '[    0.5] Kernel panic - not syncing: VFS: Unable to mount root fs'; sleep 60"),
            &s,
            "test",
        )
        .unwrap();
        assert_eq!(o, Outcome::Panicked("Kernel panic - not syncing: VFS: Unable to mount root fs".into()));
        assert!(read(&s.log).unwrap().contains("Unable to mount root fs"));
    }

    #[test]
    fn completion_needs_the_marker_and_a_hang_times_out() {
        let t = TempDir::new("done").unwrap();
        let (o, _) = run_console(sh("echo booted; echo ENTRY-LAB: DONE"), &spec(&t, 5, 30), "t").unwrap();
        assert_eq!(o, Outcome::Completed);
        let (o, _) = run_console(sh("echo booted"), &spec(&t, 5, 30), "t").unwrap();
        assert_eq!(o, Outcome::ExitedEarly);
        let (o, _) = run_console(sh("echo booted; sleep 60"), &spec(&t, 5, 1), "t").unwrap();
        assert_eq!(o, Outcome::TimedOut(1));
    }

    #[test]
    fn splats_are_found_once_each() {
        let log = "[    1.0] ok 1 a test\n\
                   [    2.0] WARNING: CPU: 0 PID: 1 at kernel/entry/common.c:10 foo\n\
                   [    2.1] WARNING: CPU: 0 PID: 1 at kernel/entry/common.c:10 foo\n\
                   [    3.0] BUG: sleeping function called from invalid context\n\
                   [    4.0] rcu: INFO: rcu_preempt self-detected stall on CPU\n\
                   [    5.0] clean line\n";
        assert_eq!(
            splats(log),
            [
                "WARNING: CPU: 0 PID: 1 at kernel/entry/common.c:10 foo",
                "BUG: sleeping function called from invalid context",
                "rcu: INFO: rcu_preempt self-detected stall on CPU"
            ]
        );
        assert!(splats("[ 0.1] Linux version 7.3.4\n").is_empty());
        // Kernel messages the guest prints after each program (dmesg -c).
        assert_eq!(
            splats("KMSG: BUG: scheduling while atomic: x/1/0x00000002\nKMSG: audit: type=1326\n"),
            ["KMSG: BUG: scheduling while atomic: x/1/0x00000002"]
        );
    }

    #[test]
    fn cpio_is_newc_with_trailer() {
        let a = cpio(&[Entry::Dir("bin".into()), Entry::File("init".into(), b"#!/bin/sh\n".to_vec(), 0o755)]);
        assert!(a.starts_with(b"070701"));
        assert_eq!(a.len() % 512, 0);
        let s = String::from_utf8_lossy(&a);
        assert!(s.contains("TRAILER!!!"));
        // The file header: mode 0100755, size 10.
        let i = s.find("init").unwrap();
        let hdr = &s[i - 110..i];
        assert_eq!(&hdr[14..22], "000081ed");
        assert_eq!(&hdr[54..62], "0000000a");
    }

    #[test]
    fn the_shim_drops_kvm_but_keeps_tcg() {
        let t = TempDir::new("shim").unwrap();
        let mut lab = Lab::new(t.path().to_path_buf(), crate::lab::Accel::Auto);
        lab.cache = t.path().join("cache");
        if crate::util::which("qemu-system-x86_64").is_none() {
            return; // nothing to wrap on this machine
        }
        let dir = tcg_shim(&lab).unwrap();
        let script = read(&dir.join("qemu-system-x86_64")).unwrap();
        // Run the argument filter with `echo` standing in for QEMU.
        let echo =
            script.replace(&format!("exec {}", crate::util::which("qemu-system-x86_64").unwrap().display()), "echo");
        let out = run(Command::new("sh")
            .args(["-c", &echo, "qemu", "-m", "1024", "-accel", "kvm", "-accel", "hvf", "-accel", "tcg", "-smp", "2"]))
        .unwrap();
        assert_eq!(out.trim(), "-m 1024 -accel tcg -smp 2");
    }
}
