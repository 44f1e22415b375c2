//! rule: nothing that needs interrupts disabled runs while the exit work has them enabled: the IrqsOn borrows the ToUser
//! expect: E0502

use kernel::entry::{ct, irqflags::ToUser, Instr};

/// One round of the exit work loop.
pub fn round(ins: &Instr, to_user: &mut ToUser) {
    let on = to_user.enable(ins);
    on.disable(); // twin-only
    ct::tick_nohz_user_enter_prepare(ins, to_user);
    on.disable(); // fail-only
}
