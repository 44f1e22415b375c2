//! rule: no instrumentation once user_enter_irqoff() left RCU: the region borrows the context the step consumes
//! expect: E0505

use kernel::entry::{
    irq::{Exit, Irq, KernelExit, User, Watching},
    IrqEntryState, Noinstr, PtRegs,
};

fn to_user(irq: Irq<'_, User, Watching>) {
    let watching = &irq;
    watching.instrumentation(|ins| watching.lockdep_hardirqs_on_prepare(ins)); // twin-only
    let irq = irq.user_enter_irqoff();
    watching.instrumentation(|ins| watching.lockdep_hardirqs_on_prepare(ins)); // fail-only
    irq.lockdep_hardirqs_on();
}

/// An interrupt exit.
pub fn exit(ni: &Noinstr, regs: &PtRegs, state: IrqEntryState) {
    // SAFETY: Compiled, never run.
    match unsafe { Exit::resume(ni, regs, state, 0) } {
        Exit::User(irq) => to_user(irq),
        Exit::Kernel(KernelExit::Watching(irq)) => irq.return_watching(),
        Exit::Kernel(KernelExit::CtIrq(irq)) => irq.ct_irq_exit().return_irqs_off(),
    }
}
