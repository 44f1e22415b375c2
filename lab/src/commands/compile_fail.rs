//! `entry-lab compile-fail`: the compile-fail tests of the typed entry rules.

use crate::lab::{Flavor, Lab, Variant};
use crate::util::{say, Result};
use anyhow::bail;

pub fn run(lab: &Lab) -> Result<bool> {
    crate::setup::setup(lab)?;
    crate::series::assemble_tree(lab)?;
    let rust = Flavor { variant: Variant::Rust, debug: false };
    let b = crate::build::build(lab, rust, true)?;
    if let Some(e) = b.error {
        bail!("rust does not build, so the cases have no kernel crate to compile against: {e}");
    }
    let results = crate::compile_fail::run(&lab.repo, &lab.build_dir(rust), &lab.cache.join("compile-fail"))?;
    let mut ok = true;
    for (c, v) in &results {
        match v {
            Ok(()) => say(
                "compile-fail",
                &format!("{}: fails with {} only, its twin compiles ({})", c.name, c.expect, c.rule),
            ),
            Err(e) => {
                ok = false;
                say("compile-fail", &format!("{}: FAILED: {e}", c.name));
            }
        }
    }
    println!("{} of {} compile-fail cases hold", results.iter().filter(|(_, v)| v.is_ok()).count(), results.len());
    Ok(ok)
}
