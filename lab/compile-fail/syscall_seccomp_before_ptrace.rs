//! rule: the system call entry work runs seccomp only after the ptrace stop (a filter sees what the tracer made of the call)
//! expect: E0599

use kernel::entry::{
    syscall::{EnterWork, Permit, Skip},
    Instr, PtRegs,
};

/// A system call entry work.
pub fn enter(ins: &Instr, regs: &PtRegs, work: usize) -> Result<Permit, Skip> {
    // SAFETY: Compiled, never run.
    let w = unsafe { EnterWork::new(ins, regs, work) };
    let w = w.user_dispatch()?;
    let w = w.rseq_slice(0);
    let w = w.ptrace()?; // twin-only
    let w = w.seccomp()?;
    let w = w.tracepoint();
    Ok(w.audit())
}
