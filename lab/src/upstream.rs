//! Upstream selftests from the base tree, built static (64-bit only: the
//! 32-bit variants need gcc-multilib) for the initramfs.
//!
//! Each entry names the test, where its source is, how to compile it and
//! its time limit in the guest. The list and the limits come from runs of
//! the C kernel under QEMU 10 TCG with -smp 4 (see the README); tests that
//! do not finish in a few minutes under TCG are left out or given short
//! arguments.

use crate::guest::{cc_static, uapi_headers, Program};
use crate::lab::Lab;
use crate::util::Result;
use std::path::PathBuf;

/// How a test is compiled.
#[derive(Clone, Copy)]
enum Kind {
    /// tools/testing/selftests/x86/NAME.c, with extra sources or flags.
    X86(&'static [&'static str]),
    /// seccomp/NAME.c, -lpthread -lcap.
    Seccomp,
    /// syscall_user_dispatch/NAME.c
    Sud,
    /// ptrace/NAME.c
    Ptrace,
    /// rseq/FILE.c plus rseq.c (instead of librseq.so), with defines.
    Rseq(&'static str, &'static [&'static str]),
}

/// glibc registers rseq for every thread; tests of the registration itself
/// need it off.
const NO_GLIBC_RSEQ: &str = "env GLIBC_TUNABLES=glibc.pthread.rseq=0 ";

/// (name in the guest, how to build it, time limit in seconds, command
/// prefix)
const TESTS: &[(&str, Kind, u64, &str)] = &[
    ("sysret_rip_64", Kind::X86(&["x86/clang_helpers_64.S"]), 60, ""),
    ("single_step_syscall_64", Kind::X86(&[]), 60, ""),
    ("sigreturn_64", Kind::X86(&[]), 60, ""),
    ("mov_ss_trap_64", Kind::X86(&[]), 60, ""),
    ("syscall_arg_fault_64", Kind::X86(&[]), 60, ""),
    ("ptrace_syscall_64", Kind::X86(&[]), 60, ""),
    ("sysret_ss_attrs_64", Kind::X86(&["x86/thunks.S"]), 60, ""),
    ("syscall_nt_64", Kind::X86(&[]), 60, ""),
    ("test_vsyscall_64", Kind::X86(&[]), 60, ""),
    ("check_initial_reg_state_64", Kind::X86(&["-Wl,-ereal_start"]), 60, ""),
    ("sigaltstack_64", Kind::X86(&[]), 60, ""),
    ("int_signal_64", Kind::X86(&[]), 60, ""),
    ("fsgsbase_64", Kind::X86(&[]), 60, ""),
    ("seccomp_bpf", Kind::Seccomp, 300, ""),
    ("sud_test", Kind::Sud, 60, ""),
    ("get_syscall_info", Kind::Ptrace, 60, ""),
    ("set_syscall_info", Kind::Ptrace, 60, ""),
    ("peeksiginfo", Kind::Ptrace, 60, ""),
    ("get_set_sud", Kind::Ptrace, 60, ""),
    ("basic_test", Kind::Rseq("basic_test", &[]), 60, ""),
    ("syscall_errors_test", Kind::Rseq("syscall_errors_test", &[]), 60, NO_GLIBC_RSEQ),
];

/// Builds the upstream tests (cached) and returns them as guest programs.
pub fn programs(lab: &Lab) -> Result<Vec<Program>> {
    let src = lab.src();
    let st = src.join("tools/testing/selftests");
    let out = lab.cache.join("guest/upstream");
    if !st.is_dir() {
        // No kernel tree yet (only reachable with a hand-made cache).
        return Ok(vec![]);
    }
    let inc = uapi_headers(lab)?;
    let common: Vec<String> = vec!["-isystem".into(), inc.display().to_string(), format!("-I{}", st.display())];
    let mut v = vec![];
    for (name, kind, limit, prefix) in TESTS {
        let (stem, dir) = match kind {
            Kind::X86(_) => (name.trim_end_matches("_64"), "x86"),
            Kind::Seccomp => (*name, "seccomp"),
            Kind::Sud => (*name, "syscall_user_dispatch"),
            Kind::Ptrace => (*name, "ptrace"),
            Kind::Rseq(file, _) => (*file, "rseq"),
        };
        let mut sources: Vec<PathBuf> = vec![st.join(dir).join(format!("{stem}.c"))];
        let mut flags = common.clone();
        match kind {
            Kind::X86(extra) => {
                for e in *extra {
                    if e.starts_with('-') {
                        flags.push(e.to_string());
                    } else {
                        sources.push(st.join(e));
                    }
                }
                flags.extend(
                    ["-m64", "-std=gnu99", "-pthread", "-no-pie", "-DCAN_BUILD_64", "-lrt", "-ldl"].map(String::from),
                );
            }
            Kind::Seccomp => flags.extend(["-Wl,-no-as-needed", "-lpthread", "-lcap"].map(String::from)),
            Kind::Sud => {}
            Kind::Ptrace => flags.extend(["-std=c99", "-pthread"].map(String::from)),
            Kind::Rseq(_, defines) => {
                sources.push(st.join("rseq/rseq.c"));
                flags.push(format!("-I{}", st.join("rseq").display()));
                flags.push(format!("-I{}", src.join("tools/include").display()));
                flags.push(format!("-I{}", src.join("tools/arch/x86/include").display()));
                flags.extend(defines.iter().map(|d| d.to_string()));
                flags.extend(["-lpthread", "-ldl"].map(String::from));
            }
        }
        let bin = cc_static(&out.join(name), &sources, &flags)?;
        let cmd = format!("{prefix}/upstream/{name}");
        v.push(Program {
            group: crate::guest::Group::Upstream,
            name: name.to_string(),
            limit: *limit,
            cmd,
            files: vec![(format!("upstream/{name}"), bin)],
        });
    }
    Ok(v)
}
