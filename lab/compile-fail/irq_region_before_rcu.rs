//! rule: no instrumentation region on interrupt entry before RCU watches
//! expect: E0599

use kernel::entry::{irq::Entry, IrqEntryState, Noinstr, PtRegs};

/// An interrupt entry from user mode.
pub fn entry(ni: &Noinstr, regs: &PtRegs) -> Option<IrqEntryState> {
    // SAFETY: Compiled, never run.
    let Entry::User(irq) = (unsafe { Entry::begin(ni, regs, 0) }) else {
        return None;
    };
    let irq = irq.lockdep_hardirqs_off();
    irq.instrumentation(|ins| irq.trace_hardirqs_off_finish(ins)); // fail-only
    let irq = irq.user_exit_irqoff();
    irq.instrumentation(|ins| irq.trace_hardirqs_off_finish(ins)); // twin-only
    Some(irq.into_state())
}
