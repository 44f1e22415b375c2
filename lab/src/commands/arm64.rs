//! `entry-lab arm64`: the arm64 variants under kunit.py (see `arm64.rs`)
//! and, with `--boot`, booted with the arm64 initramfs (`arm64_boot.rs`).
//! With `--bench`, the benchmark on both (`arm64_boot::bench`); with
//! `--identity`, the option-off build against the unpatched tree
//! (`arm64_identity.rs`).
//! `entry-lab run` runs all of it and appends the section this writes to
//! `results/arm64-report.md` to its report.

use crate::arm64;
use crate::arm64_boot::{self, Boot};
use crate::lab::{Lab, Variant};
use crate::util::{say, Result};

/// What `arm64` does besides KUnit.
#[derive(Clone, Copy, Default)]
pub struct Extras {
    pub boot: bool,
    pub bench: bool,
    pub identity: bool,
}

impl Extras {
    pub const ALL: Extras = Extras { boot: true, bench: true, identity: true };
}

pub fn run(lab: &Lab, variants: &[Variant], again: bool, x: Extras) -> Result<bool> {
    let variants = if variants.is_empty() { Variant::ALL.to_vec() } else { variants.to_vec() };
    crate::series::assemble_tree(lab)?;
    let mut ok = true;
    let mut md = vec!["## arm64 (QEMU TCG, virt, GICv3, 2 CPUs, pseudo-NMIs on)\n".to_string()];
    md.push("| step | result |".into());
    md.push("|---|---|".into());
    let mut runs = vec![];
    for v in variants {
        let r = arm64::run(lab, v, !again)?;
        let line = match r.problem() {
            Some(p) => {
                say(&arm64::name(v), &format!("FAILED: {p}"));
                ok = false;
                format!("FAILED: {}", p.replace('\n', " "))
            }
            None => format!(
                "{}, pseudo-NMIs enabled{}",
                r.kunit.summary(),
                r.noinstr
                    .as_ref()
                    .map_or(String::new(), |(n, _)| format!(", noinstr check: {n} functions, 0 findings"))
            ),
        };
        md.push(format!("| {} KUnit | {line} |", arm64::name(v)));
        runs.push((v, r));
    }
    if let Some((_, r)) = runs.iter().find(|(v, r)| *v == Variant::Rust && r.ok()) {
        // The same kernel at EL2 with VHE: the alternatives and arch_nmi_enter() of a VHE host.
        let el2 = arm64::run_el2(lab)?;
        let d = crate::kunit::case_differences(&r.kunit.cases, &el2.cases, false);
        let line = match &el2.error {
            Some(e) => format!("FAILED: {e}"),
            None if el2.count(crate::kunit::Status::Fail) > 0 || !d.is_empty() => format!(
                "FAILED: {} failed; differs from EL1 (case, EL1, EL2): {d:?}",
                el2.count(crate::kunit::Status::Fail)
            ),
            None => format!("same results as at EL1 ({} cases)", el2.cases.len()),
        };
        ok &= line.starts_with("same");
        say("arm64-rust-el2", &line);
        md.push(format!("| arm64-rust KUnit at EL2 (VHE) | {line} |"));
    }
    if let [(Variant::C, c), (Variant::Rust, r)] = runs.as_slice() {
        let d = arm64::kunit_differences(&c.kunit, &r.kunit);
        let line = if d.is_empty() {
            format!("identical KUnit results ({} cases)", c.kunit.cases.len())
        } else {
            ok = false;
            format!("KUnit differs: {}", d.join("; "))
        };
        say("arm64", &format!("c and rust: {line}"));
        md.push(format!("| c and rust | {line} |"));
    }
    if x.boot {
        let (boots_ok, lines) = boots(lab, &runs.iter().map(|(v, _)| *v).collect::<Vec<_>>(), again)?;
        ok &= boots_ok;
        md.extend(lines);
    }
    if x.identity {
        let r = crate::arm64_identity::check(lab, again)?;
        let line = if r.problems.is_empty() && r.compared > 0 {
            format!(
                "{} objects of {} the same as the unpatched tree's ({} but line numbers: {})",
                r.compared,
                crate::arm64_identity::ARM64_SAME.join(", "),
                r.bug_lines.len(),
                if r.bug_lines.is_empty() { "none".to_string() } else { r.bug_lines.join(", ") }
            )
        } else {
            ok = false;
            format!("FAILED: {} compared; {}", r.compared, r.problems.join("; "))
        };
        say("arm64", &format!("option off: {line}"));
        md.push(format!("| arm64-c (option off) against the unpatched tree | {line} |"));
    }
    if x.bench {
        let (bench_ok, lines) = arm64_boot::bench(lab)?;
        ok &= bench_ok;
        md.extend(lines);
    }
    crate::util::write(&lab.results.join("arm64-report.md"), md.join("\n") + "\n")?;
    Ok(ok)
}

/// Boots each variant with the arm64 initramfs; with both, compares every
/// test. Returns whether all passed and the report's rows. The boots go to
/// `results/arm64-boots.json`.
fn boots(lab: &Lab, variants: &[Variant], again: bool) -> Result<(bool, Vec<String>)> {
    let mut ok = true;
    let mut md = vec![];
    let mut boots: Vec<Boot> = vec![];
    for v in variants {
        let b = arm64_boot::boot(lab, *v, !again)?;
        let p = b.problems();
        let (pass, total) = (b.tests.values().filter(|o| **o == crate::guest::Outcome::Pass).count(), b.tests.len());
        md.push(format!(
            "| {} boot | {} in {} s: {} programs, {pass} of {total} tests pass, {} pseudo-NMIs taken{} |",
            arm64::name(*v),
            if p.is_empty() { "ok" } else { "FAILED" },
            b.seconds,
            b.programs.len(),
            b.nmis.map_or("no".into(), |n| n.to_string()),
            if p.is_empty() { String::new() } else { format!(": {}", p.join("; ")) }
        ));
        ok &= p.is_empty();
        boots.push(b);
    }
    if let [c, r] = boots.as_slice() {
        let d = arm64_boot::differences(c, r);
        let line = if d.is_empty() {
            format!("identical results of every guest test ({})", c.tests.len())
        } else {
            ok = false;
            format!("boots differ: {}", d.join("; "))
        };
        say("arm64", &format!("c and rust: {line}"));
        md.push(format!("| c and rust boots | {line} |"));
    }
    crate::util::write(&lab.results.join("arm64-boots.json"), serde_json::to_string_pretty(&boots)?)?;
    Ok((ok, md))
}
