//! `entry-lab bench`: the instruction-exact benchmark (see bench.rs). Every
//! image it boots must be the series tip's: kept when its build is, relinked
//! or built otherwise (a fault run leaves its own kernel in `build/rust`).
//! The debug flavors are measured when both images exist. Boots each flavor
//! twice, one boot at a time, and compares. `--smoke`: one short boot of
//! each plain variant that must print every figure. `--trace`: one boot of
//! each plain variant logging every instruction of the entry code, and
//! the functions where rust and c differ, per figure.

use crate::bench::{self, Report, Run};
use crate::lab::{Flavor, Lab, Variant};
use crate::util::{fmt_dur, say, Result};
use std::collections::BTreeMap;
use std::time::Instant;

pub fn run(lab: &Lab, smoke: bool, trace: bool) -> Result<bool> {
    let start = Instant::now();
    if smoke {
        let summary = bench::smoke(lab)?;
        println!("bench smoke: {summary} (took {})", fmt_dur(start.elapsed()));
        return Ok(true);
    }
    if trace {
        return run_trace(lab, start);
    }
    let mut flavors = vec![];
    for variant in Variant::ALL {
        flavors.push(Flavor { variant, debug: false });
    }
    let debug: Vec<Flavor> = Variant::ALL.iter().map(|&variant| Flavor { variant, debug: true }).collect();
    if debug.iter().all(|&f| crate::build::kernel_image(lab, f).exists()) {
        flavors.extend(debug);
    } else {
        say("bench", "no debug kernels (c-debug and rust-debug): measuring the plain ones");
    }
    crate::build::ensure_current(lab, &flavors)?;
    let mut initrds = BTreeMap::new();
    for &f in &flavors {
        initrds.insert(f.name(), bench::initramfs(lab, f)?);
    }
    // Each flavor twice, one boot at a time; c and rust alternate.
    let mut runs: Vec<Run> = vec![];
    for run_no in 1..=2 {
        for &f in &flavors {
            runs.push(bench::boot(lab, f, &initrds[&f.name()], run_no, bench::Mode::Full)?);
        }
    }
    let mins = |flavor: &str, run_no: u32| {
        runs.iter().find(|r| r.flavor == flavor && r.run == run_no).map(Run::mins).unwrap_or_default()
    };
    let mut agreement = BTreeMap::new();
    let mut comparisons = vec![];
    let mut entry_code = BTreeMap::new();
    for f in &flavors {
        agreement.insert(f.name(), bench::agreement(&mins(&f.name(), 1), &mins(&f.name(), 2)));
        let vmlinux = lab.build_dir(*f).join("vmlinux");
        match bench::entry_code(&vmlinux) {
            Ok(c) => {
                entry_code.insert(f.name(), c);
            }
            Err(e) => say("bench", &format!("{}: no entry code sizes: {e:#}", f.name())),
        }
    }
    for (kernel, debug) in [("plain", false), ("debug", true)] {
        let name = |variant| Flavor { variant, debug }.name();
        if !flavors.iter().any(|f| f.debug == debug) {
            continue;
        }
        let best = |v| bench::best(&[mins(&name(v), 1), mins(&name(v), 2)]);
        comparisons.extend(bench::compare(kernel, &best(Variant::C), &best(Variant::Rust)));
    }
    let qemu = format!(
        "{:?}",
        bench::qemu_command(
            &crate::build::kernel_image(lab, flavors[0]),
            &initrds[&flavors[0].name()],
            &bench::cmdline(bench::Mode::Full),
            None
        )
    );
    let report = Report {
        method: format!(
            "QEMU TCG -icount {} -smp 1 -rtc {}: the guest TSC advances with executed instructions \
             (1 GHz, 1 tick = 1 instruction), and the guest clock starts from a fixed date, so two \
             boots of one kernel run the same instructions. lab/guest/entry_bench.c times each operation with lfence; rdtsc \
             over N rounds (ticks per round, loop included); each figure is the minimum over 5 \
             repetitions after a warm-up one, in each of two boots; the table takes the smaller of the \
             two boots, which must agree to {}%.",
            bench::ICOUNT,
            bench::RTC,
            bench::AGREEMENT_PCT
        ),
        qemu,
        runs,
        agreement,
        comparisons,
        entry_code,
        not_measured: bench::NOT_MEASURED.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        seconds: start.elapsed().as_secs(),
    };
    println!("\n{}", bench::table(&report));
    for r in report.runs.iter().filter(|r| !r.ok()) {
        println!("{} run {}: {} (log: {})", r.flavor, r.run, r.problems.join("; "), r.log);
    }
    let (json, svg) = bench::save(lab, &report)?;
    println!(
        "bench: {} and {} (took {}){}",
        json.display(),
        svg.display(),
        fmt_dur(start.elapsed()),
        if report.ok() { "" } else { "; PROBLEMS above" }
    );
    Ok(report.ok())
}

/// `bench --trace`: where the difference is, function by function.
fn run_trace(lab: &Lab, start: Instant) -> Result<bool> {
    let flavor = |variant| Flavor { variant, debug: false };
    crate::build::ensure_current(lab, &[flavor(Variant::C), flavor(Variant::Rust)])?;
    let (c, cw) = bench::trace(lab, flavor(Variant::C), &bench::initramfs(lab, flavor(Variant::C))?)?;
    let (rust, rw) = bench::trace(lab, flavor(Variant::Rust), &bench::initramfs(lab, flavor(Variant::Rust))?)?;
    let accounts = bench::account(&c, &cw, &rust, &rw);
    let text = bench::account_table(&accounts);
    println!("\n{text}");
    let problems: Vec<String> =
        [&c, &rust].iter().flat_map(|r| r.problems.iter().map(move |p| format!("{}: {p}", r.flavor))).collect();
    for p in &problems {
        println!("{p}");
    }
    let json = lab.results.join("bench-trace.json");
    crate::util::write(
        &json,
        serde_json::to_string_pretty(&serde_json::json!({ "runs": [c, rust], "accounts": accounts }))?,
    )?;
    crate::util::write(&lab.results.join("bench-trace.txt"), &text)?;
    println!("bench --trace: {} and bench-trace.txt (took {})", json.display(), fmt_dur(start.elapsed()));
    Ok(problems.is_empty() && accounts.len() == bench::FIGURES.len())
}
