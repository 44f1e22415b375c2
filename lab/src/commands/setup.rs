//! `entry-lab setup`: install and check the toolchain.

use crate::lab::Lab;
use crate::util::Result;

pub fn run(lab: &Lab) -> Result<bool> {
    crate::setup::setup(lab)?;
    Ok(true)
}
