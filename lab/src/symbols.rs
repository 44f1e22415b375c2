//! Where the entry symbols come from in a built tree: which object defines
//! them, and that the noinstr ones are in `.noinstr.text` (in the object and
//! in vmlinux, between `__noinstr_text_start` and `__noinstr_text_end`).

use crate::lab::{Flavor, Lab, Variant, LLVM_BIN};
use crate::util::{run, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The out-of-line symbols of kernel/entry/common.c both variants provide.
pub const ENTRY_SYMBOLS: [&str; 6] = [
    "irqentry_enter",
    "irqentry_exit",
    "irqentry_nmi_enter",
    "irqentry_nmi_exit",
    "exit_to_user_mode_loop",
    "raw_irqentry_exit_cond_resched",
];

/// The ones that must be in `.noinstr.text`.
pub const NOINSTR: [&str; 4] = ["irqentry_enter", "irqentry_exit", "irqentry_nmi_enter", "irqentry_nmi_exit"];

/// The system call work of include/linux/entry-common.h: `static
/// __always_inline` in C, out of line in `kernel/entry/syscall_rs.o` (`.text`)
/// with `CONFIG_RUST_GENERIC_ENTRY`.
pub const SYSCALL_SYMBOLS: [&str; 2] = ["syscall_trace_enter", "syscall_exit_work"];

/// Checks where the system call work comes from: in `rust`, the object
/// `syscall_rs` (its global symbols) defines each function in `.text` and
/// vmlinux has it; in `c`, vmlinux has no symbol of that name (the C code is
/// inlined into the architecture's system call entry).
pub fn syscall_problems(
    variant: Variant,
    syscall_rs: &BTreeMap<String, String>,
    vmlinux: &BTreeMap<String, u64>,
) -> Vec<String> {
    let mut problems = vec![];
    for s in SYSCALL_SYMBOLS {
        match variant {
            Variant::Rust => {
                match syscall_rs.get(s) {
                    None => problems.push(format!("{s} is not defined by kernel/entry/syscall_rs.o")),
                    Some(sec) if sec != ".text" => {
                        problems.push(format!("{s} is in {sec} of kernel/entry/syscall_rs.o, not .text"))
                    }
                    _ => {}
                }
                if !vmlinux.contains_key(s) {
                    problems.push(format!("{s} is not in vmlinux"));
                }
            }
            Variant::C => {
                if vmlinux.contains_key(s) {
                    problems.push(format!("{s} is out of line in the C vmlinux (expected inlined)"));
                }
            }
        }
    }
    problems
}

/// Syscall user dispatch (kernel/entry/syscall_user_dispatch.c): in `rust`
/// defined by `kernel/entry/sud_rs.o`, the C file keeping only the sysctl.
pub const SUD_SYMBOLS: [&str; 4] = [
    "syscall_user_dispatch",
    "set_syscall_user_dispatch",
    "syscall_user_dispatch_get_config",
    "syscall_user_dispatch_set_config",
];

/// Checks which object defines the syscall user dispatch functions: `sud_rs.o`
/// (in `.text`) and not `syscall_user_dispatch.o` in `rust`, the other way
/// round in `c`.
pub fn sud_problems(
    variant: Variant,
    sud_rs: &BTreeMap<String, String>,
    sud_c: &BTreeMap<String, String>,
) -> Vec<String> {
    moved_problems(
        variant,
        &SUD_SYMBOLS,
        ("kernel/entry/sud_rs.o", sud_rs),
        ("kernel/entry/syscall_user_dispatch.o", sud_c),
    )
}

/// The guest-transfer work (kernel/entry/virt.c): in `rust` defined by
/// `kernel/entry/virt_rs.o`, the C file keeping only the export.
pub const VIRT_SYMBOLS: [&str; 1] = ["xfer_to_guest_mode_handle_work"];

/// Checks which object defines the guest-transfer work: `virt_rs.o` (in
/// `.text`) and not `virt.o` in `rust`, the other way round in `c`.
pub fn virt_problems(
    variant: Variant,
    virt_rs: &BTreeMap<String, String>,
    virt_c: &BTreeMap<String, String>,
) -> Vec<String> {
    moved_problems(variant, &VIRT_SYMBOLS, ("kernel/entry/virt_rs.o", virt_rs), ("kernel/entry/virt.o", virt_c))
}

/// Checks that the functions `names`, which the series moves from a C object
/// to a Rust one, are defined in `.text` of the variant's object and not by
/// the other one. Each object is given as its path and its global symbols.
fn moved_problems(
    variant: Variant,
    names: &[&str],
    rs: (&str, &BTreeMap<String, String>),
    c: (&str, &BTreeMap<String, String>),
) -> Vec<String> {
    let ((own_name, own), (other_name, other)) = match variant {
        Variant::Rust => (rs, c),
        Variant::C => (c, rs),
    };
    let mut problems = vec![];
    for &s in names {
        match own.get(s) {
            None => problems.push(format!("{s} is not defined by {own_name}")),
            Some(sec) if sec != ".text" => problems.push(format!("{s} is in {sec} of {own_name}, not .text")),
            _ => {}
        }
        if other.contains_key(s) {
            problems.push(format!("{s} is also defined by {other_name}"));
        }
    }
    problems
}

/// Global symbols defined in an object, with their section
/// (`llvm-objdump -t` lines: `addr flags section size name`).
pub fn defined_symbols(objdump_t: &str) -> BTreeMap<String, String> {
    objdump_t
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // "0000000000000000 g     F .noinstr.text  0000000000000071 irqentry_enter"
            if w.len() < 5 || !w[1].contains('g') || w.contains(&"*UND*") {
                return None;
            }
            let name = *w.last()?;
            let section = w[w.len() - 3];
            Some((name.to_string(), section.to_string()))
        })
        .collect()
}

/// `llvm-nm` output as name -> address.
pub fn nm_addresses(nm: &str) -> BTreeMap<String, u64> {
    nm.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let addr = u64::from_str_radix(w.next()?, 16).ok()?;
            let _kind = w.next()?;
            Some((w.next()?.to_string(), addr))
        })
        .collect()
}

fn tool(name: &str) -> Command {
    Command::new(Path::new(LLVM_BIN).join(name))
}

/// Checks a built flavor; returns the problems found (empty when right).
pub fn check(lab: &Lab, f: Flavor) -> Result<Vec<String>> {
    let b = lab.build_dir(f);
    let (owner, other) = match f.variant {
        Variant::Rust => ("kernel/entry/entry_rs.o", "kernel/entry/common.o"),
        Variant::C => ("kernel/entry/common.o", "kernel/entry/entry_rs.o"),
    };
    let mut problems = vec![];
    let syms = |obj: &str| -> Result<BTreeMap<String, String>> {
        let p = b.join(obj);
        if !p.exists() {
            return Ok(BTreeMap::new());
        }
        Ok(defined_symbols(&run(tool("llvm-objdump").arg("-t").arg(&p))?))
    };
    let own = syms(owner)?;
    let oth = syms(other)?;
    for s in ENTRY_SYMBOLS {
        match own.get(s) {
            None => problems.push(format!("{s} is not defined by {owner}")),
            Some(sec) if NOINSTR.contains(&s) && sec != ".noinstr.text" => {
                problems.push(format!("{s} is in {sec} of {owner}, not .noinstr.text"))
            }
            _ => {}
        }
        if oth.contains_key(s) {
            problems.push(format!("{s} is also defined by {other}"));
        }
    }
    let nm = nm_addresses(&run(tool("llvm-nm").arg(b.join("vmlinux")))?);
    problems.extend(syscall_problems(f.variant, &syms("kernel/entry/syscall_rs.o")?, &nm));
    problems.extend(sud_problems(
        f.variant,
        &syms("kernel/entry/sud_rs.o")?,
        &syms("kernel/entry/syscall_user_dispatch.o")?,
    ));
    problems.extend(virt_problems(f.variant, &syms("kernel/entry/virt_rs.o")?, &syms("kernel/entry/virt.o")?));
    match (nm.get("__noinstr_text_start"), nm.get("__noinstr_text_end")) {
        (Some(&lo), Some(&hi)) => {
            for s in NOINSTR {
                match nm.get(s) {
                    Some(&a) if a >= lo && a < hi => {}
                    Some(&a) => problems.push(format!("{s} at {a:#x} is outside .noinstr.text of vmlinux")),
                    None => problems.push(format!("{s} is not in vmlinux")),
                }
            }
        }
        _ => problems.push("vmlinux has no __noinstr_text_start/end".into()),
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objdump_symbol_table() {
        let t = "\
kernel/entry/entry_rs.o:\tfile format elf64-x86-64

SYMBOL TABLE:
0000000000000000 l    df *ABS*\t0000000000000000 entry_rs.rs
0000000000000000 g     F .noinstr.text\t0000000000000071 irqentry_enter
0000000000000000 g     F .text\t00000000000000a0 exit_to_user_mode_loop
0000000000000000         *UND*\t0000000000000000 ct_irq_enter
0000000000000010 l     F .text\t0000000000000010 local_fn
";
        let m = defined_symbols(t);
        assert_eq!(m.len(), 2);
        assert_eq!(m["irqentry_enter"], ".noinstr.text");
        assert_eq!(m["exit_to_user_mode_loop"], ".text");
    }

    #[test]
    fn syscall_work_is_rust_text_or_inlined_c() {
        let rs: BTreeMap<String, String> = [
            ("syscall_trace_enter".to_string(), ".text".to_string()),
            ("syscall_exit_work".to_string(), ".noinstr.text".to_string()),
        ]
        .into();
        let nm = nm_addresses("ffffffff81000000 T syscall_trace_enter\n");
        let p = syscall_problems(Variant::Rust, &rs, &nm);
        assert_eq!(
            p,
            [
                "syscall_exit_work is in .noinstr.text of kernel/entry/syscall_rs.o, not .text",
                "syscall_exit_work is not in vmlinux"
            ]
        );
        assert_eq!(
            syscall_problems(Variant::C, &BTreeMap::new(), &nm),
            ["syscall_trace_enter is out of line in the C vmlinux (expected inlined)"]
        );
        assert!(syscall_problems(Variant::C, &BTreeMap::new(), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn sud_functions_come_from_one_object() {
        let all: BTreeMap<String, String> = SUD_SYMBOLS.iter().map(|s| (s.to_string(), ".text".to_string())).collect();
        let none = BTreeMap::new();
        assert!(sud_problems(Variant::Rust, &all, &none).is_empty());
        assert!(sud_problems(Variant::C, &none, &all).is_empty());
        let p = sud_problems(Variant::Rust, &all, &all);
        assert_eq!(p.len(), 4);
        assert_eq!(p[0], "syscall_user_dispatch is also defined by kernel/entry/syscall_user_dispatch.o");
        let mut half = all.clone();
        half.remove("set_syscall_user_dispatch");
        assert_eq!(
            sud_problems(Variant::Rust, &half, &none),
            ["set_syscall_user_dispatch is not defined by kernel/entry/sud_rs.o"]
        );
    }

    #[test]
    fn xfer_comes_from_virt_rs_in_rust_and_virt_in_c() {
        let text: BTreeMap<String, String> =
            [("xfer_to_guest_mode_handle_work".to_string(), ".text".to_string())].into();
        let none = BTreeMap::new();
        assert!(virt_problems(Variant::Rust, &text, &none).is_empty());
        assert!(virt_problems(Variant::C, &none, &text).is_empty());
        assert_eq!(
            virt_problems(Variant::Rust, &none, &text),
            [
                "xfer_to_guest_mode_handle_work is not defined by kernel/entry/virt_rs.o",
                "xfer_to_guest_mode_handle_work is also defined by kernel/entry/virt.o"
            ]
        );
        let noinstr: BTreeMap<String, String> =
            [("xfer_to_guest_mode_handle_work".to_string(), ".noinstr.text".to_string())].into();
        assert_eq!(
            virt_problems(Variant::C, &none, &noinstr),
            ["xfer_to_guest_mode_handle_work is in .noinstr.text of kernel/entry/virt.o, not .text"]
        );
    }

    #[test]
    fn nm_lines() {
        let m = nm_addresses("ffffffff81000000 T _text\nffffffff81e00010 T irqentry_enter\n                 U x\n");
        assert_eq!(m["irqentry_enter"], 0xffffffff81e00010);
        assert_eq!(m.len(), 2);
    }
}
