//! rule: the NMI entry takes entry.rst's steps in order: lockdep_hardirqs_off() only after __nmi_enter() made in_nmi() true
//! expect: E0599

use kernel::entry::{
    nmi::{Nmi, NmiState},
    Noinstr,
};

/// An NMI entry.
pub fn entry(ni: &Noinstr) -> NmiState {
    // SAFETY: Compiled, never run.
    let nmi = unsafe { Nmi::begin(ni, 0) };
    let nmi = nmi.lockdep_off();
    let nmi = nmi.arch_nmi_enter(); // twin-only
    let nmi = nmi.preempt_count_nmi_enter(); // twin-only
    let nmi = nmi.lockdep_hardirqs_off();
    let nmi = nmi.lockdep_hardirq_enter();
    let nmi = nmi.ct_nmi_enter();
    nmi.into_state()
}
