//! rule: an interrupt exit cannot be left half done: a context dropped before its last step stops the build
//! expect: E0080

use kernel::entry::{
    irq::{Exit, KernelExit},
    IrqEntryState, Noinstr, PtRegs,
};

/// An interrupt exit to kernel mode, interrupts disabled in the interrupted context.
pub fn exit(ni: &Noinstr, regs: &PtRegs, state: IrqEntryState) {
    // SAFETY: Compiled, never run.
    match unsafe { Exit::resume(ni, regs, state, 0) } {
        Exit::User(irq) => irq.user_enter_irqoff().lockdep_hardirqs_on(),
        Exit::Kernel(KernelExit::Watching(irq)) => irq.return_watching(),
        Exit::Kernel(KernelExit::CtIrq(irq)) => irq.ct_irq_exit().return_irqs_off(), // twin-only
        Exit::Kernel(KernelExit::CtIrq(irq)) => drop(irq.ct_irq_exit()), // fail-only
    }
}
