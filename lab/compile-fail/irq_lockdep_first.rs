//! rule: on interrupt entry lockdep is told first: no RCU step before lockdep_hardirqs_off()
//! expect: E0599

use kernel::entry::{irq::Entry, IrqEntryState, Noinstr, PtRegs};

/// An interrupt entry from kernel mode.
pub fn entry(ni: &Noinstr, regs: &PtRegs) -> Option<IrqEntryState> {
    // SAFETY: Compiled, never run.
    let Entry::Kernel(irq) = (unsafe { Entry::begin(ni, regs, 0) }) else {
        return None;
    };
    let irq = irq.lockdep_hardirqs_off(); // twin-only
    let irq = irq.ct_irq_enter();
    Some(irq.into_state())
}
