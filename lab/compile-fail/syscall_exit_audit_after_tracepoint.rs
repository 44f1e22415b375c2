//! rule: the system call exit work tells audit before the sys_exit tracepoint and ptrace
//! expect: E0599

use kernel::entry::{
    syscall::{Done, ExitWork},
    Instr, PtRegs,
};

/// A system call exit work.
pub fn exit(ins: &Instr, regs: &PtRegs, work: usize) -> Done {
    // SAFETY: Compiled, never run.
    let w = unsafe { ExitWork::new(ins, regs, work) };
    let w = match w.user_dispatch() {
        Ok(w) => w,
        Err(done) => return done,
    };
    let w = w.audit(); // twin-only
    let w = w.tracepoint();
    let w = w.audit(); // fail-only
    w.ptrace()
}
