//! rule: a system call entry work cannot be dropped half done: it must reach a verdict
//! expect: E0080

use kernel::entry::{
    syscall::{EnterWork, Permit, Skip},
    Instr, PtRegs,
};

/// A system call entry work that forgets the rest after ptrace.
pub fn enter(ins: &Instr, regs: &PtRegs, work: usize) -> Result<Permit, Skip> {
    // SAFETY: Compiled, never run.
    let w = unsafe { EnterWork::new(ins, regs, work) };
    let w = w.user_dispatch()?;
    let w = w.rseq_slice(0);
    let w = w.ptrace()?;
    let w = w.seccomp()?; // twin-only
    let w = w.tracepoint(); // twin-only
    Ok(w.audit()) // twin-only
    drop(w); // fail-only
    Err(skip_anyway()) // fail-only
}

fn skip_anyway() -> Skip { // fail-only
    loop {} // fail-only
} // fail-only
