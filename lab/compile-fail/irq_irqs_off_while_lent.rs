//! rule: the context's IrqsOff cannot be used while its ToUser is lent to the exit work, which may enable interrupts
//! expect: E0502

use kernel::entry::{
    irq::{Exit, Irq, KernelExit, User, Watching},
    ct, work, IrqEntryState, Noinstr, PtRegs,
};

fn to_user(mut irq: Irq<'_, User, Watching>) {
    irq.instrumentation_to_user(|ins, to_user| {
        let on = to_user.enable(ins);
        work::schedule(ins, &on); // twin-only
        ct::tick_nohz_user_enter_prepare(ins, irq.irqs_off()); // fail-only
        on.disable();
    });
    irq.user_enter_irqoff().lockdep_hardirqs_on();
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
