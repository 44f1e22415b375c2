//! `entry-lab export`: the series as mails, checked with git am.

use crate::lab::Lab;
use crate::util::Result;
use std::path::PathBuf;

pub fn run(lab: &Lab, out: Option<PathBuf>) -> Result<bool> {
    let s = crate::series::assemble_tree(lab)?;
    crate::series::export_checked(lab, &s, out)?;
    Ok(true)
}
