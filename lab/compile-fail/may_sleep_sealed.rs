//! rule: only the crate's tokens prove that the task may sleep: MaySleep is sealed, a driver cannot implement it for its own type
//! expect: E0277

use kernel::entry::{irqflags::MaySleep, work, Instr};

/// A token made up outside the crate.
pub struct Mine;

impl MaySleep for Mine {} // fail-only

/// Would schedule with the made-up token.
pub fn resched<T: MaySleep>(ins: &Instr, token: &T) {
    work::schedule(ins, token);
}
