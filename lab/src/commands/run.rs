//! `entry-lab run`, the main job: builds, KUnit, the boot matrix, the arm64
//! variants (KUnit, EL2, boots with pseudo-NMIs), then the side-by-side
//! report. `quick` leaves out the debug builds and boots;
//! without `again`, steps whose inputs did not change since they last
//! passed are kept (memo.rs). Differences are rerun (flaky.rs): a test that
//! also varies on c is listed as flaky and does not fail the job.

use crate::boot::MATRIX;
use crate::lab::Lab;
use crate::report::{self, Pair, Row};
use crate::util::{fmt_dur, Result};
use std::time::Instant;

pub fn run(lab: &Lab, quick: bool, again: bool) -> Result<bool> {
    let start = Instant::now();
    crate::setup::setup(lab)?;
    let s = crate::series::assemble_tree(lab)?;
    crate::series::export_checked(lab, &s, None, &Default::default())?;
    let rows: Vec<Row> = report::flavors(!quick).into_iter().map(|f| report::measure(lab, f, !again)).collect();
    let pairs: Vec<Pair> =
        MATRIX.iter().filter(|c| !(quick && c.debug)).map(|c| report::boot_pair(lab, c, &rows, 4, !again)).collect();
    // arm64 next to x86 (issue 15): KUnit of both variants, at EL2 too,
    // the boots with pseudo-NMIs counted and the benchmark; its section
    // ends the report.
    let arm64_ok = crate::commands::arm64::run(lab, &[], again, crate::commands::arm64::Extras::ALL)?;
    println!("\n{}", report::table(&rows, &pairs, false));
    report::save(lab, &rows, &pairs)?;
    let arm64 = crate::util::read(&lab.results.join("arm64-report.md"))?;
    println!("{arm64}");
    let md = lab.results.join("report.md");
    crate::util::write(&md, crate::util::read(&md)? + "\n" + &arm64)?;
    let ok = arm64_ok
        && rows.iter().all(Row::ok)
        && rows.chunks(2).all(|p| p.len() < 2 || report::kunit_diff(&p[0], &p[1]).is_empty())
        && pairs.iter().all(Pair::ok);
    println!(
        "report: {} and {} (took {}){}",
        lab.results.join("report.md").display(),
        lab.results.join("report.json").display(),
        fmt_dur(start.elapsed()),
        if ok { "" } else { "; FAILURES above" }
    );
    Ok(ok)
}
