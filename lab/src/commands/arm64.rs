//! `entry-lab arm64`: the arm64 variants under kunit.py (see `arm64.rs`).

use crate::arm64;
use crate::lab::{Lab, Variant};
use crate::util::{say, Result};

pub fn run(lab: &Lab, variants: &[Variant], again: bool) -> Result<bool> {
    let variants = if variants.is_empty() { Variant::ALL.to_vec() } else { variants.to_vec() };
    crate::series::assemble_tree(lab)?;
    let mut ok = true;
    let mut runs = vec![];
    for v in variants {
        let r = arm64::run(lab, v, !again)?;
        if let Some(p) = r.problem() {
            say(&arm64::name(v), &format!("FAILED: {p}"));
            ok = false;
        }
        runs.push((v, r));
    }
    if let Some((_, r)) = runs.iter().find(|(v, r)| *v == Variant::Rust && r.ok()) {
        // The same kernel at EL2 with VHE: the alternatives and arch_nmi_enter() of a VHE host.
        let el2 = arm64::run_el2(lab)?;
        let d = crate::kunit::case_differences(&r.kunit.cases, &el2.cases, false);
        match &el2.error {
            Some(e) => {
                say("arm64-rust-el2", &format!("FAILED: {e}"));
                ok = false;
            }
            None if el2.count(crate::kunit::Status::Fail) > 0 || !d.is_empty() => {
                say(
                    "arm64-rust-el2",
                    &format!(
                        "FAILED: {} failed; differs from EL1 (case, EL1, EL2): {d:?}",
                        el2.count(crate::kunit::Status::Fail)
                    ),
                );
                ok = false;
            }
            None => say("arm64-rust-el2", &format!("same results as at EL1 ({} cases)", el2.cases.len())),
        }
    }
    if let [(Variant::C, c), (Variant::Rust, r)] = runs.as_slice() {
        let d = arm64::kunit_differences(&c.kunit, &r.kunit);
        if d.is_empty() {
            say("arm64", &format!("c and rust: identical KUnit results ({} cases)", c.kunit.cases.len()));
        } else {
            say("arm64", &format!("c and rust differ: {}", d.join("; ")));
            ok = false;
        }
    }
    Ok(ok)
}
