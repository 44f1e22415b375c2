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
        let status = |k: &crate::kunit::KunitResult| {
            let mut v: Vec<(String, crate::kunit::Status)> =
                k.cases.iter().map(|c| (c.name.clone(), c.status)).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let d: Vec<String> =
            if status(&r.kunit) == status(&el2) { vec![] } else { vec!["the cases or their results".into()] };
        match &el2.error {
            Some(e) => {
                say("arm64-rust-el2", &format!("FAILED: {e}"));
                ok = false;
            }
            None if el2.count(crate::kunit::Status::Fail) > 0 || !d.is_empty() => {
                say(
                    "arm64-rust-el2",
                    &format!(
                        "FAILED: {} failed; differs from EL1: {}",
                        el2.count(crate::kunit::Status::Fail),
                        d.join("; ")
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
