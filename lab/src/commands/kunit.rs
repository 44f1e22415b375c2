//! `entry-lab kunit`: KUnit through kunit.py, or the kunit.py command
//! itself (`--print-command`) for running it by hand.

use crate::lab::{Flavor, Lab};
use crate::util::Result;

pub fn run(lab: &Lab, flavors: &[Flavor], print_command: bool) -> Result<bool> {
    let mut ok = true;
    for &f in flavors {
        if print_command {
            println!("{}", crate::kunit::print_command(lab, f)?);
            continue;
        }
        crate::build::configure(lab, f)?;
        let r = crate::kunit::run(lab, f, false)?;
        crate::report::print_kunit(&r);
        ok &= r.ok();
    }
    Ok(ok)
}
