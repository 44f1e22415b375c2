//! `entry-lab bisect`: every prefix of the series builds with the option
//! on, off and with `RUST=n`, objtool included; with the option off the
//! entry objects equal the unpatched build's; the tip builds with GCC (see
//! bisect.rs). Not part of `entry-lab test`: about an hour from cold build
//! folders, resumable.

use crate::bisect::{self, Config};
use crate::lab::Lab;
use crate::util::{bail, fmt_dur, Result};
use std::time::Instant;

pub fn run(lab: &Lab, configs: &[String], table: bool) -> Result<bool> {
    if table {
        let all = bisect::load(lab);
        let mut steps: Vec<_> = all.into_values().collect();
        steps.sort_by(|a, b| a.commit.cmp(&b.commit));
        print!("{}", bisect::table(&steps));
        return Ok(true);
    }
    let mut sel = vec![];
    for c in configs {
        match Config::parse(c) {
            Some(c) => sel.push(c),
            None => bail!("unknown configuration {c:?}: off, norust, on or gcc"),
        }
    }
    let start = Instant::now();
    crate::setup::setup(lab)?;
    let steps = bisect::run(lab, &sel)?;
    println!("\n{}", bisect::table(&steps));
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
