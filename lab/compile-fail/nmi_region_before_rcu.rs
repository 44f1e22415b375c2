//! rule: no instrumentation region before RCU watches (ct_nmi_enter())
//! expect: E0599

use kernel::entry::{
    nmi::{Nmi, NmiState},
    Noinstr,
};

/// An NMI entry.
pub fn entry(ni: &Noinstr) -> NmiState {
    // SAFETY: Compiled, never run.
    let nmi = unsafe { Nmi::begin(ni, 0) };
    let nmi = nmi.lockdep_off().arch_nmi_enter().preempt_count_nmi_enter();
    let nmi = nmi.lockdep_hardirqs_off().lockdep_hardirq_enter();
    nmi.instrumentation(|_ins| ()); // fail-only
    let nmi = nmi.ct_nmi_enter();
    nmi.instrumentation(|_ins| ()); // twin-only
    nmi.into_state()
}
