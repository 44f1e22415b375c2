//! rule: each mode has its own RCU step: user_exit_irqoff() only for an entry from user mode
//! expect: E0599

use kernel::entry::{irq::Entry, IrqEntryState, Noinstr, PtRegs};

/// An interrupt entry from kernel mode.
pub fn entry(ni: &Noinstr, regs: &PtRegs) -> Option<IrqEntryState> {
    // SAFETY: Compiled, never run.
    let Entry::Kernel(irq) = (unsafe { Entry::begin(ni, regs, 0) }) else {
        return None;
    };
    let irq = irq.lockdep_hardirqs_off();
    let irq = irq.ct_irq_enter(); // twin-only
    let irq = irq.user_exit_irqoff(); // fail-only
    Some(irq.into_state())
}
