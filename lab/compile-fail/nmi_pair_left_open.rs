//! rule: an enter/exit pair cannot be left open: a context dropped before its last step stops the build
//! expect: E0080

use kernel::entry::{nmi::Nmi, Noinstr};

/// An NMI entry that returns lockdep's view of the interrupted context.
pub fn entry(ni: &Noinstr) -> bool {
    // SAFETY: Compiled, never run.
    let nmi = unsafe { Nmi::begin(ni, 0) };
    let nmi = nmi.lockdep_off().arch_nmi_enter().preempt_count_nmi_enter();
    let nmi = nmi.lockdep_hardirqs_off().lockdep_hardirq_enter();
    let nmi = nmi.ct_nmi_enter();
    nmi.into_state().lockdep() // twin-only
    nmi.lockdep() // fail-only
}
