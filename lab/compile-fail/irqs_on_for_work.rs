//! rule: exit work that may sleep needs interrupts enabled: schedule() takes a MaySleep token (the IrqsOn of local_irq_enable()), not the ToUser
//! expect: E0277

use kernel::entry::{irqflags::ToUser, work, Instr};

/// One round of the exit work loop.
pub fn round(ins: &Instr, to_user: &mut ToUser) {
    let on = to_user.enable(ins); // twin-only
    work::schedule(ins, &on); // twin-only
    on.disable(); // twin-only
    work::schedule(ins, to_user); // fail-only
}
