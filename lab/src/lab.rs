//! Where things live: the repository, the cache outside it, and how the
//! kernel is built (make options and environment).

use std::path::{Path, PathBuf};
use std::process::Command;

pub const LLVM_BIN: &str = "/usr/lib/llvm-22/bin";
pub const LIBCLANG_PATH: &str = "/usr/lib/llvm-22/lib";

/// The two implementations of the entry code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Variant {
    C,
    Rust,
}

impl Variant {
    pub const ALL: [Variant; 2] = [Variant::C, Variant::Rust];

    pub fn name(self) -> &'static str {
        match self {
            Variant::C => "c",
            Variant::Rust => "rust",
        }
    }

    pub fn other(self) -> Variant {
        match self {
            Variant::C => Variant::Rust,
            Variant::Rust => Variant::C,
        }
    }

    pub fn parse(s: &str) -> Option<Variant> {
        match s {
            "c" => Some(Variant::C),
            "rust" => Some(Variant::Rust),
            _ => None,
        }
    }
}

/// A variant plus the optional `debug` fragment: one build directory each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flavor {
    pub variant: Variant,
    pub debug: bool,
}

impl Flavor {
    pub fn name(self) -> String {
        if self.debug {
            format!("{}-debug", self.variant.name())
        } else {
            self.variant.name().to_string()
        }
    }
}

/// What one build folder builds: a flavor, or a row of the config matrix
/// (`entry-lab matrix`). Its `.config` is made from `configs`, files of
/// `lab/configs/` applied in order (later lines win).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Name of the build folder and of the log files.
    pub name: String,
    pub variant: Variant,
    pub configs: Vec<String>,
    /// A build folder to start from when this one is new (see
    /// `build::seed`): a target whose options differ in a few symbols, so
    /// that make rebuilds only the objects those symbols reach.
    pub seed: Option<String>,
}

impl Flavor {
    pub fn target(self) -> Target {
        let mut configs = vec!["base.config".to_string(), format!("variant-{}.config", self.variant.name())];
        if self.debug {
            configs.push("debug.config".into());
        }
        // `c` and `rust` differ in CONFIG_RUST_GENERIC_ENTRY alone: each
        // starts from the other's folder.
        let other = Flavor { variant: self.variant.other(), debug: self.debug };
        Target { name: self.name(), variant: self.variant, configs, seed: Some(other.name()) }
    }
}

/// Which QEMU accelerator to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// KVM when a short probe boot shows that it works, TCG otherwise.
    Auto,
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Auto => "auto",
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// Paths and build settings of one lab invocation.
pub struct Lab {
    /// The repository checkout (holds linux/, series/, lab/).
    pub repo: PathBuf,
    /// Cache outside the repository: downloads, source tree, build trees.
    pub cache: PathBuf,
    /// Logs and reports of this machine's runs.
    pub results: PathBuf,
    /// Accelerator choice.
    pub accel: Accel,
}

impl Lab {
    pub fn new(repo: PathBuf, accel: Accel) -> Lab {
        let cache = std::env::var_os("ENTRY_LAB_CACHE").map(PathBuf::from).unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache/entry-lab")
        });
        let results = std::env::var_os("ENTRY_LAB_RESULTS").map(PathBuf::from).unwrap_or_else(|| repo.join("results"));
        Lab { repo, cache, results, accel }
    }

    /// The kernel work tree: a git repository whose first commit is the
    /// pristine base and whose checkout is the assembled series.
    pub fn src(&self) -> PathBuf {
        self.cache.join("src/linux-7.3.4")
    }

    pub fn build_dir(&self, f: Flavor) -> PathBuf {
        self.target_dir(&f.target())
    }

    pub fn target_dir(&self, t: &Target) -> PathBuf {
        self.cache.join("build").join(&t.name)
    }

    pub fn configs(&self) -> PathBuf {
        self.repo.join("lab/configs")
    }

    pub fn bindgen(&self) -> PathBuf {
        crate::setup::ensure_bindgen(self).unwrap_or_else(|_| "bindgen".into())
    }

    /// PATH with LLVM 22 first, and the lab's QEMU shim before that when
    /// one is given.
    pub fn path_env(&self, shim: Option<&Path>) -> std::ffi::OsString {
        let mut dirs: Vec<PathBuf> = vec![];
        if let Some(s) = shim {
            dirs.push(s.to_path_buf());
        }
        dirs.push(LLVM_BIN.into());
        if let Some(p) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        std::env::join_paths(dirs).unwrap_or_default()
    }

    /// make variables for every kernel build: LLVM 22, Debian's rustc (the
    /// only one with core sources), bindgen, and clang through ccache.
    pub fn make_options(&self) -> Vec<String> {
        vec![
            "LLVM=1".into(),
            "RUSTC=/usr/bin/rustc".into(),
            "HOSTRUSTC=/usr/bin/rustc".into(),
            "RUSTDOC=/usr/bin/rustdoc".into(),
            format!("BINDGEN={}", self.bindgen().display()),
            "CC=ccache clang".into(),
        ]
    }

    /// A `make` command in the kernel tree with the lab's environment.
    pub fn make(&self, f: Flavor) -> Command {
        self.make_in(&self.build_dir(f))
    }

    /// A `make` command for the build folder `out`.
    pub fn make_in(&self, out: &Path) -> Command {
        // kunit.py passes ARCH=x86_64; the same here keeps the two from
        // invalidating each other's incremental state.
        self.make_arch("x86_64", out)
    }

    /// A `make` command for the build folder `out` of architecture `arch`.
    pub fn make_arch(&self, arch: &str, out: &Path) -> Command {
        let mut c = Command::new("make");
        c.current_dir(self.src())
            .env("PATH", self.path_env(None))
            .env("LIBCLANG_PATH", LIBCLANG_PATH)
            .env("CCACHE_DIR", self.cache.join("ccache"))
            .arg(format!("ARCH={arch}"))
            .arg(format!("O={}", out.display()))
            .args(self.make_options());
        c
    }
}
