//! `entry-lab boot`: one boot of each named flavor with every guest program,
//! on the series tip's kernel (built or relinked first when the image is
//! not, e.g. after a fault run).

use crate::boot::{boot, print_boot, BootOpts};
use crate::lab::{Flavor, Lab};
use crate::util::Result;

pub fn run(lab: &Lab, flavors: &[Flavor], seconds: u64, smp: u32, append: String) -> Result<bool> {
    crate::build::ensure_current(lab, flavors)?;
    let mut ok = true;
    for &f in flavors {
        let r = boot(lab, f, &BootOpts::manual(Some(seconds), Some(smp), Some(append.clone())), false)?;
        print_boot(&r);
        if let Some(e) = &r.error {
            eprintln!("error: {}: {e}", r.flavor);
        }
        ok &= r.ok;
    }
    Ok(ok)
}
