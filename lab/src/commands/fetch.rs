//! `entry-lab fetch`: the verified 7.3.4 base, unpacked into a git tree.

use crate::lab::Lab;
use crate::util::{say, Result};

pub fn run(lab: &Lab) -> Result<bool> {
    crate::base::ensure_base(lab)?;
    say("fetch", &format!("base ready in {}", lab.src().display()));
    Ok(true)
}
