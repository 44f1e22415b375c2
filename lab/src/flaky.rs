//! Differences that are real: a test whose result differs between c and
//! rust is run again on both, a bounded number of times, before it is
//! reported.
//!
//! A test is **flaky** only when its result also varies on `c` (the
//! reference): then the difference says nothing about the Rust code, the
//! test is listed with every run, and it does not fail the job. When `c`
//! gives the same result every time and `rust` differs from it in any run,
//! the difference is **real** and fails the job, even if some rust runs
//! agreed (the Rust code must be as deterministic as C). A test whose
//! reruns all agree on both variants with the same result did differ once
//! on rust only, so it is real too.

use crate::guest::Outcome;
use std::collections::BTreeMap;

/// How many times a differing program is run again on each variant.
pub const RERUNS: usize = 2;

/// What the reruns say about one differing test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// The result varies on c too: not a difference of the implementations.
    Flaky,
    /// c is stable and rust differs from it.
    Real,
}

/// The runs of one test on both variants: the first run, then the reruns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rerun {
    pub test: String,
    pub c: Vec<Option<Outcome>>,
    pub rust: Vec<Option<Outcome>>,
    pub verdict: Verdict,
}

/// Classifies a differing test from its runs on c (first run included):
/// the first runs differed, so rust differed from c at least once, and
/// only a c that varies makes that flaky.
pub fn classify(c: &[Option<Outcome>]) -> Verdict {
    match c.split_first() {
        Some((first, rest)) if !rest.iter().all(|o| o == first) => Verdict::Flaky,
        _ => Verdict::Real,
    }
}

/// Runs of one variant: for each rerun, the results of every test.
pub type Runs = Vec<BTreeMap<String, Outcome>>;

/// Reruns the differing tests. `first` holds each differing test with its
/// first c and rust results; `rerun(variant_is_rust, programs)` boots one
/// variant with just those programs and returns every test result (None
/// when the boot itself failed: that rerun is left out, so a broken boot
/// can neither make a test flaky nor hide a difference).
pub fn rerun_differences(
    first: &[(String, Option<Outcome>, Option<Outcome>)],
    mut rerun: impl FnMut(bool, &[String]) -> Option<BTreeMap<String, Outcome>>,
) -> Vec<Rerun> {
    if first.is_empty() {
        return vec![];
    }
    let mut programs: Vec<String> = first.iter().map(|(t, _, _)| crate::guest::program_of(t).to_string()).collect();
    programs.sort();
    programs.dedup();
    let mut out: Vec<Rerun> = first
        .iter()
        .map(|(t, c, r)| Rerun { test: t.clone(), c: vec![*c], rust: vec![*r], verdict: Verdict::Real })
        .collect();
    for _ in 0..RERUNS {
        // Stop early when every test is already known to be flaky: more
        // runs cannot change that.
        if out.iter().all(|r| classify(&r.c) == Verdict::Flaky) {
            break;
        }
        let c = rerun(false, &programs);
        let rust = rerun(true, &programs);
        for r in &mut out {
            if let Some(m) = &c {
                r.c.push(m.get(&r.test).copied());
            }
            if let Some(m) = &rust {
                r.rust.push(m.get(&r.test).copied());
            }
        }
    }
    for r in &mut out {
        r.verdict = classify(&r.c);
    }
    out
}

/// One cell of the report: `pass,FAIL,pass`.
pub fn runs_word(runs: &[Option<Outcome>]) -> String {
    runs.iter().map(|o| o.map_or("-", Outcome::word)).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    /// A fake program whose results come from scripts, one per variant.
    fn fake(c: Vec<Outcome>, rust: Vec<Outcome>) -> impl FnMut(bool, &[String]) -> Option<BTreeMap<String, Outcome>> {
        let (mut ci, mut ri) = (c.into_iter(), rust.into_iter());
        move |is_rust, programs| {
            assert_eq!(programs, ["seccomp_bpf"]);
            let o = if is_rust { ri.next() } else { ci.next() }?;
            Some([("seccomp_bpf: t".to_string(), o)].into_iter().collect())
        }
    }

    fn first(c: Outcome, r: Outcome) -> Vec<(String, Option<Outcome>, Option<Outcome>)> {
        vec![("seccomp_bpf: t".into(), Some(c), Some(r))]
    }

    #[test]
    fn a_test_that_varies_on_c_is_flaky() {
        // The case seen in a real run: c=FAIL rust=pass, then c passes.
        let r = rerun_differences(&first(Fail, Pass), fake(vec![Pass, Pass], vec![Pass, Pass]));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].verdict, Verdict::Flaky);
        // Known flaky after one rerun: no second one.
        assert_eq!(runs_word(&r[0].c), "FAIL,pass");
        assert_eq!(runs_word(&r[0].rust), "pass,pass");
    }

    #[test]
    fn a_reproducible_difference_is_real() {
        let r = rerun_differences(&first(Pass, Fail), fake(vec![Pass, Pass], vec![Fail, Fail]));
        assert_eq!(r[0].verdict, Verdict::Real);
        assert_eq!(runs_word(&r[0].c), "pass,pass,pass");
        assert_eq!(runs_word(&r[0].rust), "FAIL,FAIL,FAIL");
    }

    #[test]
    fn rust_varying_while_c_is_stable_is_real() {
        let r = rerun_differences(&first(Pass, Fail), fake(vec![Pass, Pass], vec![Pass, Pass]));
        assert_eq!(r[0].verdict, Verdict::Real);
    }

    #[test]
    fn a_rerun_that_does_not_boot_is_a_missing_result() {
        let r = rerun_differences(&first(Pass, Fail), |_, _| None);
        // Failed boots are left out: no evidence of flakiness, so real.
        assert_eq!(runs_word(&r[0].c), "pass");
        assert_eq!(r[0].verdict, Verdict::Real);
        // A test missing from a boot that completed is a result ("-").
        let r = rerun_differences(&first(Pass, Fail), |_, _| Some(BTreeMap::new()));
        assert_eq!(runs_word(&r[0].c), "pass,-");
        assert_eq!(r[0].verdict, Verdict::Flaky);
    }

    #[test]
    fn nothing_to_rerun() {
        assert!(rerun_differences(&[], |_, _| panic!("no boot without a difference")).is_empty());
    }
}
