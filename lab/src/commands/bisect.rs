//! `entry-lab bisect`: every prefix of the series builds with the option
//! on, off and with `RUST=n`, objtool included; with the option off the
//! entry objects equal the unpatched build's; the tip builds with GCC (see
//! bisect.rs). `--config arm64-off arm64-on` does the same on arm64. Not
//! part of `entry-lab test`: about an hour from cold build folders,
//! resumable.

use crate::bisect::{self, Config};
use crate::lab::Lab;
use crate::util::{bail, fmt_dur, Result};
use std::time::Instant;

pub fn run(lab: &Lab, configs: &[String], table: bool) -> Result<bool> {
    // The arm64 configurations have a table of their own.
    let arm64 = !configs.is_empty() && configs.iter().all(|c| c.starts_with("arm64-"));
    let last = lab.results.join(if arm64 { "bisect-table-arm64.md" } else { "bisect-table.md" });
    if table {
        // The last run's table: results/bisect.json also keeps the steps of
        // earlier series, which are not in order and not this series.
        match std::fs::read_to_string(&last) {
            Ok(t) => print!("{t}"),
            Err(_) => bail!("no bisect run recorded yet ({} is missing): run `entry-lab bisect`", last.display()),
        }
        return Ok(true);
    }
    let mut sel = vec![];
    for c in configs {
        match Config::parse(c) {
            Some(c) => sel.push(c),
            None => bail!("unknown configuration {c:?}: off, norust, on, gcc, arm64-off or arm64-on"),
        }
    }
    let start = Instant::now();
    crate::setup::setup(lab)?;
    let steps = bisect::run(lab, &sel)?;
    let t = bisect::table(&steps);
    println!("\n{t}");
    crate::util::write(&last, &t)?;
    let failed: Vec<String> = steps.iter().filter(|s| !s.ok).map(|s| format!("{} ({})", s.subject, s.config)).collect();
    println!(
        "bisect: {} builds checked, {} failed{} (took {}); results: {}",
        steps.len(),
        failed.len(),
        if failed.is_empty() { String::new() } else { format!(": {}", failed.join(", ")) },
        fmt_dur(start.elapsed()),
        bisect::results_file(lab).display()
    );
    Ok(failed.is_empty())
}
