//! rule: the architecture's NMI state is undone only after the preempt count left NMI context (arch_nmi_exit() after __preempt_count_nmi_exit(), hardirq.h)
//! expect: E0599

use kernel::entry::{
    nmi::{Nmi, NmiState},
    Noinstr,
};

/// An NMI exit.
pub fn exit(ni: &Noinstr, state: NmiState) {
    // SAFETY: Compiled, never run.
    let nmi = unsafe { Nmi::resume(ni, state, 0) };
    let nmi = nmi.ct_nmi_exit();
    let nmi = nmi.lockdep_hardirq_exit();
    let nmi = nmi.lockdep_hardirqs_on();
    let nmi = nmi.preempt_count_nmi_exit(); // twin-only
    let nmi = nmi.arch_nmi_exit();
    nmi.lockdep_on();
}
