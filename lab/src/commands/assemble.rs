//! `entry-lab assemble`: the series applied onto the base, one commit a patch.

use crate::lab::Lab;
use crate::util::Result;

pub fn run(lab: &Lab) -> Result<bool> {
    crate::series::assemble_tree(lab)?;
    Ok(true)
}
