//! `entry-lab fault [NAME...]`: applies deliberate faults to `rust` and
//! shows that the tests each one names catch it (see `crate::fault`).

use crate::fault::{self, Control, Fault};
use crate::lab::Lab;
use crate::util::Result;

pub fn run(lab: &Lab, names: &[String]) -> Result<bool> {
    let faults = if names.is_empty() {
        Fault::all(lab)?
    } else {
        names.iter().map(|n| Fault::load(lab, n)).collect::<Result<Vec<_>>>()?
    };
    crate::setup::setup(lab)?;
    let s = crate::series::assemble_tree(lab)?;
    let mut control = Control::default();
    control.ensure(lab, &faults)?;
    let mut ok = true;
    let mut first_error = None;
    fault::run_all(lab, &s, &faults, &control, |_, r| match r {
        Ok(v) => ok &= v.caught(),
        Err(e) => {
            ok = false;
            first_error.get_or_insert(e);
        }
    });
    match first_error {
        Some(e) => Err(e),
        None => Ok(ok),
    }
}
