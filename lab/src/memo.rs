//! Results kept with a fingerprint of their inputs.
//!
//! A build, a KUnit run and a boot each store their result next to the
//! build directory, keyed by a SHA-256 of everything that decides it: the
//! work tree's commit (a tree with uncommitted changes is never reused),
//! the config fragment and the make options for a build (which is reused
//! only while the kernel image is still the one it made), the kernel image
//! for KUnit, and for a boot the kernel image, the initramfs and the QEMU
//! command line. `./entry-lab run` with nothing changed then reuses
//! them and says so; `run --again`, the test job and `fault` always run.
//! A stored result is forgotten before its step runs again, so a failed or
//! interrupted step never leaves an old result behind, and only results
//! that passed are stored (a flaky failure is retried, not kept).

use crate::util::{read, write, Result};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One stored result and the fingerprint it must match.
pub struct Memo {
    file: PathBuf,
    /// None: the inputs cannot be named (a work tree with local changes):
    /// nothing is reused or stored.
    key: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    key: String,
    value: T,
}

/// SHA-256 (hex) of the parts, each length-prefixed so that no two lists
/// of parts give the same bytes.
pub fn fingerprint<S: AsRef<[u8]>>(parts: &[S]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        let p = p.as_ref();
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Memo {
    pub fn new<S: AsRef<[u8]>>(file: PathBuf, parts: Option<&[S]>) -> Memo {
        Memo { file, key: parts.map(fingerprint) }
    }

    /// The stored result when its fingerprint matches and `valid` accepts
    /// it (its logs still exist, the kernel image is the same, ...).
    pub fn get<T: DeserializeOwned>(&self, valid: impl Fn(&T) -> bool) -> Option<T> {
        let key = self.key.as_ref()?;
        let s: Stored<T> = serde_json::from_str(&read(&self.file).ok()?).ok()?;
        (&s.key == key && valid(&s.value)).then_some(s.value)
    }

    /// Stores a result (when the inputs could be named).
    pub fn put<T: Serialize>(&self, value: &T) -> Result<()> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        let s = Stored { key: key.clone(), value };
        write(&self.file, serde_json::to_string_pretty(&s).unwrap_or_default())
    }

    pub fn forget(&self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// How long ago a stored result was written, for the "kept" messages.
pub fn age(m: &Memo) -> String {
    std::fs::metadata(&m.file)
        .ok()
        .and_then(|md| md.modified().ok())
        .and_then(|t| t.elapsed().ok())
        .map_or_else(|| "earlier".into(), |d| format!("{} ago", crate::util::fmt_dur(d)))
}

/// SHA-256 of a file's bytes, or None when it cannot be read.
pub fn file_hash(p: &Path) -> Option<String> {
    crate::base::sha256_file(p).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::TempDir;

    #[test]
    fn parts_are_not_concatenated() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(fingerprint(&["ab", "c"]), fingerprint(&["ab", "c"]));
        assert_eq!(fingerprint::<&str>(&[]).len(), 64);
    }

    #[test]
    fn a_result_is_reused_only_with_the_same_inputs_and_its_logs() {
        let t = TempDir::new("memo").unwrap();
        let d = t.path();
        let log = d.join("boot.log");
        let needs = |_: &u32| log.exists();
        let m = Memo::new(d.join("m.json"), Some(&["tip 1", "cfg"]));
        assert_eq!(m.get::<u32>(needs), None, "nothing stored yet");
        m.put(&7u32).unwrap();
        assert_eq!(m.get::<u32>(needs), None, "the log is gone");
        std::fs::write(&log, "x").unwrap();
        assert_eq!(m.get::<u32>(needs), Some(7));
        let other = Memo::new(d.join("m.json"), Some(&["tip 2", "cfg"]));
        assert_eq!(other.get::<u32>(needs), None, "another commit");
        let dirty = Memo::new::<&str>(d.join("m.json"), None);
        assert_eq!(dirty.get::<u32>(needs), None, "a tree with local changes");
        dirty.put(&8u32).unwrap();
        assert_eq!(m.get::<u32>(needs), Some(7), "nothing stored without a key");
        m.forget();
        assert_eq!(m.get::<u32>(needs), None);
        std::fs::write(d.join("m.json"), "not json").unwrap();
        assert_eq!(m.get::<u32>(needs), None, "a damaged file is ignored");
    }
}
