//! rule: no instrumentation once ct_nmi_exit() ended RCU's watch: the region borrows the context the exit consumes
//! expect: E0505

use kernel::entry::{
    nmi::{Nmi, NmiState},
    Noinstr,
};

/// An NMI exit.
pub fn exit(ni: &Noinstr, state: NmiState) {
    // SAFETY: Compiled, never run.
    let nmi = unsafe { Nmi::resume(ni, state, 0) };
    let watching = &nmi;
    watching.instrumentation(|ins| watching.ftrace_nmi_exit(ins)); // twin-only
    let nmi = nmi.ct_nmi_exit();
    watching.instrumentation(|ins| watching.ftrace_nmi_exit(ins)); // fail-only
    let nmi = nmi.lockdep_hardirq_exit().lockdep_hardirqs_on();
    nmi.preempt_count_nmi_exit().arch_nmi_exit().lockdep_on();
}
