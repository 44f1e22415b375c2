//! `entry-lab matrix`: the config matrix of issue 10 (see matrix.rs). Not
//! part of `entry-lab test`: a row is a full kernel build (about 10
//! minutes), the matrix about two hours.

use crate::lab::Lab;
use crate::matrix;
use crate::util::{fmt_dur, Result};
use std::time::Instant;

pub fn run(lab: &Lab, rows: &[String], list: bool, table: bool, again: bool) -> Result<bool> {
    let selected = matrix::select(rows)?;
    if list {
        print!("{}", matrix::list());
        return Ok(true);
    }
    if table {
        print!("{}", matrix::table(&matrix::load(lab)));
        return Ok(true);
    }
    let start = Instant::now();
    crate::setup::setup(lab)?;
    crate::series::assemble_tree(lab)?;
    let (now, all) = matrix::run(lab, &selected, !again)?;
    println!("\n{}", matrix::table(&all));
    let failed: Vec<&str> = now.iter().filter(|r| !r.ok()).map(|r| r.row.as_str()).collect();
    println!(
        "matrix: {} row(s) run, {} failed{} (took {}); every row's last result: {}",
        now.len(),
        failed.len(),
        if failed.is_empty() { String::new() } else { format!(": {}", failed.join(", ")) },
        fmt_dur(start.elapsed()),
        matrix::results_file(lab).display()
    );
    Ok(failed.is_empty())
}
