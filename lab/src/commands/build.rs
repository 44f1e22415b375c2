//! `entry-lab build`: configure and build flavors (objtool warnings fail).

use crate::lab::{Flavor, Lab};
use crate::util::Result;

pub fn run(lab: &Lab, flavors: &[Flavor]) -> Result<bool> {
    crate::setup::setup(lab)?;
    crate::series::assemble_tree(lab)?;
    let mut ok = true;
    for &f in flavors {
        let r = crate::build::build(lab, f, false)?;
        if let Some(e) = &r.error {
            eprintln!("error: {}: {e}", r.flavor);
            ok = false;
        }
    }
    Ok(ok)
}
