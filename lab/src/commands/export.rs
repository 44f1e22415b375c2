//! `entry-lab export`: the series as mails, checked with git am.

use crate::lab::Lab;
use crate::series::MailOpts;
use crate::util::Result;
use std::path::PathBuf;

/// Exports the series. The mails are from (and signed off by) `author`, or
/// else the identity of `git config` in the checkout, or else the
/// manifest's placeholder. The cover letter gets the table of the last
/// `bench` run on this machine (results/bench.json), when there is one.
pub fn run(lab: &Lab, out: Option<PathBuf>, rfc: bool, author: Option<String>) -> Result<bool> {
    let s = crate::series::assemble_tree(lab)?;
    let author = author.or_else(|| crate::series::git_config_author(&lab.repo));
    let bench =
        std::fs::read_to_string(lab.results.join("bench.json")).ok().and_then(|j| crate::bench::cover_table(&j));
    if bench.is_none() {
        crate::util::say(
            "series",
            "no results/bench.json: the cover letter names `./entry-lab bench` instead of its table",
        );
    }
    crate::series::export_checked(lab, &s, out, &MailOpts { rfc, author, bench })?;
    Ok(true)
}
