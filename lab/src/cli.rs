//! The command line: one subcommand per job or step, each with the options
//! it takes and nothing else (`entry-lab COMMAND --help`).

use crate::commands;
use crate::lab::{Accel, Flavor, Lab, Variant};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Builds, boots and compares the C and Rust generic entry code of Linux
/// 7.3.4. The README calls `run` the main job and `test` the test job.
#[derive(Parser, Debug)]
#[command(name = "entry-lab", version, after_help = ENVIRONMENT)]
pub struct Cli {
    /// The project checkout (holds linux/, series/, lab/).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// QEMU accelerator: auto probes KVM once per machine boot.
    #[arg(long, global = true, env = "ENTRY_LAB_ACCEL", default_value = "auto", value_enum)]
    pub accel: Accel,
    #[command(subcommand)]
    pub command: Cmd,
}

const ENVIRONMENT: &str = "Environment: ENTRY_LAB_CACHE (default ~/.cache/entry-lab), ENTRY_LAB_RESULTS \
(default ./results), ENTRY_LAB_ACCEL (as --accel), ENTRY_LAB_LOCK (the machine-wide build lock file).";

/// The kernel flavors a command works on.
#[derive(clap::Args, Debug)]
pub struct Flavors {
    /// c, rust, or both.
    #[arg(required = true, value_enum)]
    pub variants: Vec<Variant>,
    /// The debug flavor (lab/configs/debug.config: lockdep, PROVE_RCU, ...).
    #[arg(long)]
    pub debug: bool,
}

impl Flavors {
    pub fn flavors(&self) -> Vec<Flavor> {
        self.variants.iter().map(|&variant| Flavor { variant, debug: self.debug }).collect()
    }
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Main job: setup, fetch, assemble, export, build c and rust (plain and
    /// debug), KUnit, boot both in every configuration of the matrix, print
    /// the side-by-side report. Steps whose inputs did not change since they
    /// last passed are kept.
    Run {
        /// Leave out the debug builds and boots.
        #[arg(long)]
        quick: bool,
        /// Redo every step, keep nothing.
        #[arg(long)]
        again: bool,
    },
    /// Test job: the lab's unit tests, the series checks, both variants built,
    /// KUnit-run and booted, style, every fault caught. Last line:
    /// `N passed, N failed`.
    Test,
    /// Install and check the toolchain (apt, bindgen).
    Setup,
    /// Download, verify and unpack the 7.3.4 base.
    Fetch,
    /// Apply series/ onto the base, one commit a patch.
    Assemble,
    /// git format-patch --cover-letter, then check the mails with git am.
    Export {
        /// Where to write the mails (default: results/series).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Subjects as `[RFC PATCH n/m]`.
        #[arg(long)]
        rfc: bool,
        /// `Name <mail>` for From: and Signed-off-by: (default: `git config`
        /// user.name and user.email in the checkout; the manifest's
        /// placeholder when neither is set).
        #[arg(long, value_name = "NAME <MAIL>")]
        author: Option<String>,
    },
    /// Configure and build.
    Build(Flavors),
    /// Run KUnit through tools/testing/kunit/kunit.py.
    Kunit {
        #[command(flatten)]
        flavors: Flavors,
        /// Print the kunit.py command for this machine instead of running it.
        #[arg(long)]
        print_command: bool,
    },
    /// Boot with the initramfs (workload, sample, kselftests).
    Boot {
        #[command(flatten)]
        flavors: Flavors,
        /// Workload run length.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Number of virtual CPUs.
        #[arg(long, default_value_t = 4)]
        smp: u32,
        /// Extra kernel command line, e.g. "preempt=lazy".
        #[arg(long, default_value = "")]
        append: String,
    },
    /// Instruction-exact cost of the entry paths: boots c and rust (and the
    /// debug flavors when built) twice each under TCG with -icount and
    /// -smp 1, runs lab/guest/entry_bench.c, writes the table,
    /// results/bench.json and results/bench.svg. Builds only a missing
    /// plain kernel.
    Bench {
        /// One short boot of each plain variant: every figure must come out
        /// (the values are not checked).
        #[arg(long, conflicts_with = "trace")]
        smoke: bool,
        /// One boot of each plain variant that logs every instruction of the
        /// entry code (nokaslr, about a minute each): the functions whose
        /// instruction counts per round differ between c and rust.
        #[arg(long)]
        trace: bool,
    },
    /// The config matrix (issue 10): rust built with objtool and DEBUG_ENTRY
    /// in each configuration of lab/configs/matrix-*.config (KASAN,
    /// PREEMPT_RT, KCSAN, UBSAN, TINY_RCU, ...) and booted with the entry
    /// kselftest, the probe sample and the workload; then the table of
    /// every row's last result. Rows whose config, series and kernel did
    /// not change are kept. Not part of `test` (about 10 minutes a row).
    Matrix {
        /// Only these rows (see --list), in the matrix's order.
        #[arg(long = "row", value_name = "NAME", num_args = 1..)]
        rows: Vec<String>,
        /// List the rows, their fragments and what they change; build nothing.
        #[arg(long, conflicts_with = "table")]
        list: bool,
        /// Print the table of every row's last result (results/matrix.json);
        /// build nothing.
        #[arg(long)]
        table: bool,
        /// Rebuild and boot again even what is kept.
        #[arg(long)]
        again: bool,
    },
    /// Every prefix of the series built with RUST_GENERIC_ENTRY on, off and
    /// with RUST=n (objtool included), the option-off objects of
    /// kernel/entry and arch/x86/entry compared with an unpatched build's,
    /// and the tip built with GCC. Resumable (results/bisect.json); not part
    /// of `test` (about an hour from cold build folders). On arm64 with
    /// `--config arm64-off arm64-on` (table: results/bisect-table-arm64.md).
    Bisect {
        /// Only these configurations: off, norust, on, gcc (the default:
        /// all four), arm64-off, arm64-on (only when named).
        #[arg(long = "config", value_name = "NAME", num_args = 1..)]
        configs: Vec<String>,
        /// Print the table of the kept results; build nothing.
        #[arg(long)]
        table: bool,
    },
    /// The arm64 variants (issue 15): kunit.py --arch arm64 (cross build,
    /// LLVM=1) under QEMU TCG on a GICv3 with pseudo-NMIs, for c, rust or
    /// both (default), then the two KUnit results compared. Runs kept for
    /// the same series commit are reused unless --again.
    Arm64 {
        /// c, rust, or both (the default).
        #[arg(value_enum)]
        variants: Vec<Variant>,
        /// Build and run again even what is kept.
        #[arg(long)]
        again: bool,
        /// Also boot each variant with the arm64 initramfs (workload,
        /// pseudo-NMIs counted, upstream arm64 selftests) and compare.
        #[arg(long)]
        boot: bool,
        /// Also run the benchmark on both variants (`-icount`, one CPU,
        /// two boots each) and compare.
        #[arg(long)]
        bench: bool,
        /// Also build the unpatched tree with arm64-c's configuration and
        /// check that the entry objects are the same (the option off).
        #[arg(long)]
        identity: bool,
    },
    /// rustfmt, checkpatch.pl, clippy and rustdoc (`make rustdoc`) on the series.
    Style,
    /// The compile-fail tests of the typed entry rules (lab/compile-fail/):
    /// each case's failing version must stop with its pinned error code and
    /// its twin must compile, both with the rustc command of the rust
    /// build's entry_rs.o. Builds rust first when needed.
    CompileFail,
    /// Apply deliberate faults from lab/faults/ to rust and show that the
    /// tests they name catch them (all faults when none is named).
    Fault {
        /// Fault names (lab/faults/NAME.diff).
        names: Vec<String>,
    },
    /// Mutation sweep of the Rust entry functions: drop, swap with the next
    /// one, or negate the condition of each state operation in
    /// kernel/entry/entry_rs.rs; build, KUnit and boot rust with each
    /// mutant; list the survivors. Resumable (results/mutate.json); not part
    /// of `test`. Exit status 1 when the sweep is complete and a survivor is
    /// not explained in lab/mutants-equivalent.toml.
    Mutate {
        /// Print the mutants with their ids (and the verdicts kept for the
        /// last assembled series tip) and run nothing.
        #[arg(long)]
        list: bool,
        /// Run only these mutants (ids from `--list`).
        #[arg(long, num_args = 1.., value_name = "ID")]
        only: Vec<String>,
        /// Run at most N mutants not judged yet.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
}

/// Parses the command line and runs the command. Exit status: 0 success,
/// 1 a failed check or step (one `error:` line says why), 2 a usage error.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let repo = cli.repo.clone().unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| ".".into()));
    // Absolute: git runs in the kernel tree and reads overlay files by path.
    let repo = std::fs::canonicalize(&repo).unwrap_or(repo);
    let lab = Lab::new(repo, cli.accel);
    match dispatch(&lab, cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout as clap writes them; a usage error is one
/// line naming what was wrong and where the command's options are listed.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// `error: unexpected argument '--seconds' found (see `entry-lab setup --help`)`.
pub fn one_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: bad command line").trim();
    let usage = text.lines().find_map(|l| l.trim().strip_prefix("Usage: "));
    let cmd = usage
        .map(|u| u.split_whitespace().take_while(|w| !w.starts_with(['[', '<', '-'])).collect::<Vec<_>>().join(" "));
    match cmd {
        Some(c) if !c.is_empty() => format!("{first} (see `{c} --help`)"),
        _ => first.to_string(),
    }
}

/// The commands that only read (lists, tables, a printed command) leave the
/// kernel work tree alone; every other one holds its lock while it runs.
fn uses_tree(cmd: &Cmd) -> Option<&'static str> {
    match cmd {
        Cmd::Setup => None,
        Cmd::Mutate { list: true, .. } | Cmd::Matrix { list: true, .. } | Cmd::Matrix { table: true, .. } => None,
        Cmd::Bisect { table: true, .. } | Cmd::Kunit { print_command: true, .. } => None,
        Cmd::Run { .. } => Some("run"),
        Cmd::Test => Some("test"),
        Cmd::Fetch => Some("fetch"),
        Cmd::Assemble => Some("assemble"),
        Cmd::Export { .. } => Some("export"),
        Cmd::Build(_) => Some("build"),
        Cmd::Kunit { .. } => Some("kunit"),
        Cmd::Boot { .. } => Some("boot"),
        Cmd::Bench { .. } => Some("bench"),
        Cmd::Matrix { .. } => Some("matrix"),
        Cmd::Bisect { .. } => Some("bisect"),
        Cmd::Arm64 { .. } => Some("arm64"),
        Cmd::Style => Some("style"),
        Cmd::CompileFail => Some("compile-fail"),
        Cmd::Fault { .. } => Some("fault"),
        Cmd::Mutate { .. } => Some("mutate"),
    }
}

fn dispatch(lab: &Lab, cmd: Cmd) -> crate::util::Result<bool> {
    let _tree = match uses_tree(&cmd) {
        Some(what) => Some(crate::util::tree_lock(&lab.cache, what)?),
        None => None,
    };
    match cmd {
        Cmd::Run { quick, again } => commands::run::run(lab, quick, again),
        Cmd::Test => commands::test::run(lab),
        Cmd::Setup => commands::setup::run(lab),
        Cmd::Fetch => commands::fetch::run(lab),
        Cmd::Assemble => commands::assemble::run(lab),
        Cmd::Export { out, rfc, author } => commands::export::run(lab, out, rfc, author),
        Cmd::Build(f) => commands::build::run(lab, &f.flavors()),
        Cmd::Kunit { flavors, print_command } => commands::kunit::run(lab, &flavors.flavors(), print_command),
        Cmd::Boot { flavors, seconds, smp, append } => {
            commands::boot::run(lab, &flavors.flavors(), seconds, smp, append)
        }
        Cmd::Bench { smoke, trace } => commands::bench::run(lab, smoke, trace),
        Cmd::Matrix { rows, list, table, again } => commands::matrix::run(lab, &rows, list, table, again),
        Cmd::Bisect { configs, table } => commands::bisect::run(lab, &configs, table),
        Cmd::Arm64 { variants, again, boot, bench, identity } => {
            commands::arm64::run(lab, &variants, again, commands::arm64::Extras { boot, bench, identity })
        }
        Cmd::Style => commands::style::run(lab),
        Cmd::CompileFail => commands::compile_fail::run(lab),
        Cmd::Fault { names } => commands::fault::run(lab, &names),
        Cmd::Mutate { list, only, limit } => commands::mutate::run(lab, list, &only, limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("entry-lab").chain(args.iter().copied()))
    }

    #[test]
    fn only_reading_commands_leave_the_tree_unlocked() {
        let lock = |args: &[&str]| uses_tree(&parse(args).unwrap().command);
        assert_eq!(lock(&["mutate", "--list"]), None);
        assert_eq!(lock(&["bisect", "--table"]), None);
        assert_eq!(lock(&["kunit", "rust", "--print-command"]), None);
        assert_eq!(lock(&["setup"]), None);
        assert_eq!(lock(&["bisect"]), Some("bisect"));
        assert_eq!(lock(&["mutate"]), Some("mutate"));
        assert_eq!(lock(&["kunit", "rust"]), Some("kunit"));
    }

    #[test]
    fn each_command_takes_only_its_options() {
        let e = parse(&["setup", "--seconds", "5"]).unwrap_err();
        assert_eq!(one_line(&e), "error: unexpected argument '--seconds' found (see `entry-lab setup --help`)");
        let e = parse(&["build", "go"]).unwrap_err();
        assert!(one_line(&e).starts_with("error: invalid value 'go' for '<VARIANTS>...'"), "{}", one_line(&e));
        assert!(parse(&["build"]).is_err());
        assert!(parse(&["run", "--seconds", "5"]).is_err());
    }

    #[test]
    fn options_and_repo_anywhere() {
        let c = parse(&["boot", "rust", "--debug", "--seconds", "60", "--repo", "/x"]).unwrap();
        assert_eq!(c.repo.as_deref(), Some(std::path::Path::new("/x")));
        let Cmd::Boot { flavors, seconds, smp, .. } = c.command else { panic!("{:?}", c.command) };
        assert_eq!(flavors.flavors(), [Flavor { variant: Variant::Rust, debug: true }]);
        assert_eq!((seconds, smp), (60, 4));
        let c = parse(&["--repo", "/y", "run", "--quick"]).unwrap();
        assert!(matches!(c.command, Cmd::Run { quick: true, again: false }));
        let c = parse(&["--accel", "tcg", "kunit", "rust", "--print-command"]).unwrap();
        assert_eq!(c.accel, Accel::Tcg);
        assert!(matches!(c.command, Cmd::Kunit { print_command: true, .. }));
        assert!(matches!(parse(&["bench", "--smoke"]).unwrap().command, Cmd::Bench { smoke: true, trace: false }));
        assert!(parse(&["bench", "--smoke", "--trace"]).is_err());
        assert!(parse(&["bench", "c"]).is_err());
        let c = parse(&["mutate", "--only", "a-drop1-abcdef", "b-swap2-123456", "--limit", "3"]).unwrap();
        let Cmd::Mutate { list, only, limit } = c.command else { panic!("{:?}", c.command) };
        assert_eq!((list, only.len(), limit), (false, 2, Some(3)));
        assert!(parse(&["mutate", "rust"]).is_err());
        let c = parse(&["matrix", "--row", "kasan", "tiny-rcu"]).unwrap();
        let Cmd::Matrix { rows, list, table, again } = c.command else { panic!("{:?}", c.command) };
        assert_eq!(
            (rows, list, table, again),
            (vec!["kasan".to_string(), "tiny-rcu".to_string()], false, false, false)
        );
        assert!(matches!(parse(&["matrix", "--table"]).unwrap().command, Cmd::Matrix { table: true, .. }));
        assert!(parse(&["matrix", "--table", "--list"]).is_err());
        assert!(matches!(parse(&["matrix", "--list"]).unwrap().command, Cmd::Matrix { list: true, .. }));
        assert!(parse(&["matrix", "kasan"]).is_err());
        let Cmd::Arm64 { variants, again, boot, bench, identity } = parse(&["arm64"]).unwrap().command else {
            panic!()
        };
        assert_eq!((variants.len(), again, boot, bench, identity), (0, false, false, false, false));
        let Cmd::Arm64 { variants, again, boot, bench, identity } =
            parse(&["arm64", "rust", "--again", "--boot", "--bench", "--identity"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!((variants, again, boot, bench, identity), (vec![Variant::Rust], true, true, true, true));
        assert!(parse(&["arm64", "--debug"]).is_err());
    }
}
