//! rule: an instrumentable call needs the token of a region; outside one it can only be made with unsafe
//! expect: E0133

use kernel::entry::{irq::Entry, IrqEntryState, Noinstr, PtRegs};

/// An interrupt entry from user mode.
pub fn entry(ni: &Noinstr, regs: &PtRegs) -> Option<IrqEntryState> {
    // SAFETY: Compiled, never run.
    let Entry::User(irq) = (unsafe { Entry::begin(ni, regs, 0) }) else {
        return None;
    };
    let irq = irq.lockdep_hardirqs_off().user_exit_irqoff();
    irq.instrumentation(|ins| irq.trace_hardirqs_off_finish(ins)); // twin-only
    irq.trace_hardirqs_off_finish(&kernel::entry::Instr::assume_instrumentable()); // fail-only
    Some(irq.into_state())
}
