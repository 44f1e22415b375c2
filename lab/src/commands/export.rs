//! `entry-lab export`: the series as mails, checked with git am.

use crate::lab::Lab;
use crate::series::MailOpts;
use crate::util::Result;
use std::path::PathBuf;

/// Exports the series. The mails are from (and signed off by) `author`, or
/// else the identity of `git config` in the checkout, or else the
/// manifest's placeholder.
pub fn run(lab: &Lab, out: Option<PathBuf>, rfc: bool, author: Option<String>) -> Result<bool> {
    let s = crate::series::assemble_tree(lab)?;
    let author = author.or_else(|| crate::series::git_config_author(&lab.repo));
    crate::series::export_checked(lab, &s, out, &MailOpts { rfc, author })?;
    Ok(true)
}
