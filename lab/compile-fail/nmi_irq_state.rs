//! rule: the state of irqentry_enter() (exit_rcu) cannot be passed to the NMI exit (lockdep)
//! expect: E0308

use kernel::entry::{
    nmi::{Nmi, NmiState},
    IrqEntryState, Noinstr,
};

/// An NMI exit handed both states.
pub fn exit(ni: &Noinstr, irq: IrqEntryState, state: NmiState) {
    let _ = (irq, state);
    // SAFETY: Compiled, never run.
    let nmi = unsafe { Nmi::resume(ni, state, 0) }; // twin-only
    // SAFETY: Compiled, never run.
    let nmi = unsafe { Nmi::resume(ni, irq, 0) }; // fail-only
    let nmi = nmi.ct_nmi_exit().lockdep_hardirq_exit().lockdep_hardirqs_on();
    nmi.preempt_count_nmi_exit().arch_nmi_exit().lockdep_on();
}
