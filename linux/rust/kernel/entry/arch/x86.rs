// SPDX-License-Identifier: GPL-2.0

//! The x86_64 half of the entry building blocks.
//!
//! C headers: [`arch/x86/include/asm/percpu.h`](srctree/arch/x86/include/asm/percpu.h),
//! [`arch/x86/include/asm/preempt.h`](srctree/arch/x86/include/asm/preempt.h),
//! [`arch/x86/include/asm/current.h`](srctree/arch/x86/include/asm/current.h),
//! [`arch/x86/include/asm/irqflags.h`](srctree/arch/x86/include/asm/irqflags.h),
//! [`arch/x86/include/asm/ptrace.h`](srctree/arch/x86/include/asm/ptrace.h),
//! [`arch/x86/include/asm/entry-common.h`](srctree/arch/x86/include/asm/entry-common.h).
//!
//! Every per-CPU access is a single `%gs`-relative instruction emitted with `asm!` and a `sym`
//! operand, the same instruction the C `raw_cpu_*()`/`this_cpu_*()` macros produce. Per-CPU data
//! is not zero-based any more on x86_64, so the operand is `%gs:sym(%rip)` (`PER_CPU_VAR()`),
//! and plain `sym(%rip)` on `!SMP`. These accesses are not atomic with respect to other CPUs
//! and need not be: per-CPU data is only written by its own CPU. They are single instructions,
//! so an interrupt or NMI sees either the old or the new value, and NMIs leave the data
//! balanced.
//!
//! The architecture hooks of `irq-entry-common.h` that x86 overrides with inline code
//! (`arch_enter_from_user_mode()`, `arch_exit_to_user_mode_prepare()`,
//! `arch_exit_to_user_mode()`) are C shims: they use alternatives, FPU state and
//! `DEBUG_ENTRY` checks of other per-CPU state. The ones x86 leaves generic are Rust here.

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
use super::super::preempt::{
    HARDIRQ_OFFSET,
    NMI_OFFSET, //
};
use super::super::PtRegs;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
use super::super::{
    irqflags::{
        IrqsOn,
        ToUser, //
    },
    Instr,
};
use crate::bindings;

/// Builds the AT&T memory operand of a this-CPU variable for the `asm!` operand named `$name`.
#[cfg(CONFIG_SMP)]
macro_rules! pcpu {
    ($name:literal) => {
        concat!("%gs:{", $name, "}(%rip)")
    };
}

#[cfg(not(CONFIG_SMP))]
macro_rules! pcpu {
    ($name:literal) => {
        concat!("{", $name, "}(%rip)")
    };
}

/// Like [`pcpu!`] for a field at constant offset `{$off}` inside the per-CPU variable `{$name}`.
#[cfg(CONFIG_SMP)]
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_macros))]
macro_rules! pcpu_off {
    ($name:literal, $off:literal) => {
        concat!("%gs:{", $name, "}+{", $off, "}(%rip)")
    };
}

#[cfg(not(CONFIG_SMP))]
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_macros))]
macro_rules! pcpu_off {
    ($name:literal, $off:literal) => {
        concat!("{", $name, "}+{", $off, "}(%rip)")
    };
}

#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_imports))]
pub(crate) use pcpu_off;

// ---------------------------------------------------------------------------------------------
// Per-CPU data
// ---------------------------------------------------------------------------------------------

/// Reads the 32-bit per-CPU datum at `$off` bytes into the per-CPU symbol `$sym` (C
/// `raw_cpu_read_4()`). Checked front end: `this_cpu_read_u32!()` in the parent module.
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_macros))]
macro_rules! arch_this_cpu_read_u32 {
    ($sym:path, $off:expr) => {{
        let v: u32;
        // SAFETY: Reads a 32-bit per-CPU variable of this CPU; `%gs` is the per-CPU base.
        #[allow(unused_unsafe)]
        unsafe {
            $crate::asm!(concat!("movl ", $crate::entry::arch::pcpu_off!("s", "off"), ", {v:e}");
                s = sym $sym,
                off = const $off,
                v = out(reg) v,
                options(nostack, readonly, preserves_flags)
            );
        }
        v
    }};
}

#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_imports))]
pub(crate) use arch_this_cpu_read_u32;

/// Adds one to this CPU's `hardirq_context` and returns the old value (C
/// `__this_cpu_inc_return(hardirq_context) - 1`, an `xadd`).
///
/// Safe: the counter is this CPU's own and only lockdep reads it; keeping it balanced with
/// [`hardirq_context_dec`] is the business of `lockdep_hardirq_enter()`/`_exit()`, whose
/// callers run with interrupts disabled.
#[cfg(CONFIG_TRACE_IRQFLAGS)]
#[inline(always)]
pub(crate) fn hardirq_context_inc() -> u32 {
    crate::entry_var_size!(hardirq_context, 4);
    let mut old: u32 = 1;
    // SAFETY: `xadd` on this CPU's `hardirq_context` (C `raw_cpu_add_return_4()`), 32 bits wide
    // (checked above); returns the old value in `old`. NMIs leave the counter balanced.
    unsafe {
        crate::asm!(concat!("xaddl {v:e}, ", pcpu!("hc"));
            hc = sym bindings::hardirq_context,
            v = inout(reg) old,
            options(nostack)
        );
    }
    old
}

/// Subtracts one from this CPU's `hardirq_context` (C `__this_cpu_dec()`). Safe, see
/// [`hardirq_context_inc`].
#[cfg(CONFIG_TRACE_IRQFLAGS)]
#[inline(always)]
pub(crate) fn hardirq_context_dec() {
    // SAFETY: Single decrement of this CPU's `hardirq_context` (32 bits, checked in
    // `hardirq_context_inc()`).
    unsafe {
        crate::asm!(concat!("decl ", pcpu!("hc"));
            hc = sym bindings::hardirq_context,
            options(nostack)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// preempt_count
// ---------------------------------------------------------------------------------------------

/// `PREEMPT_NEED_RESCHED`, the inverted need-resched bit x86 folds into `__preempt_count`
/// (MSB).
///
/// From its bit number: bindgen 0.72 does not translate the mask itself (above `i64::MAX`).
pub const PREEMPT_NEED_RESCHED: usize = 1 << bindings::ENTRY_PREEMPT_NEED_RESCHED_BIT;

// `movq` below: `__preempt_count` is an `unsigned long` on x86_64.
crate::entry_var_size!(__preempt_count, 8);

// The NMI accounting below (`__preempt_count_nmi_enter()`) is the
// `CONFIG_HAS_SEPARATE_PREEMPT_RESCHED_BITS` variant, a single add. The other variant needs the
// `nmi_nesting` per-CPU counter, `BUG_ON()` and a cmpxchg loop; `RUST_GENERIC_ENTRY` depends on
// the option instead (it is always set on x86_64 with `PREEMPT_COUNT`).
#[cfg(all(
    CONFIG_RUST_GENERIC_ENTRY,
    not(CONFIG_HAS_SEPARATE_PREEMPT_RESCHED_BITS)
))]
compile_error!("kernel::entry requires CONFIG_HAS_SEPARATE_PREEMPT_RESCHED_BITS");

/// Reads the raw `__preempt_count`, including the `PREEMPT_NEED_RESCHED` bit.
///
/// C: `raw_cpu_read_8(__preempt_count)` (`__pc_op(read, ...)`).
#[inline(always)]
pub(crate) fn preempt_count_raw() -> usize {
    let v: usize;
    // SAFETY: Reads this CPU's `__preempt_count`; `%gs` holds this CPU's per-CPU offset whenever
    // kernel code runs. Not `pure`: the value changes under our feet (interrupts, our own adds),
    // so every call must perform the load.
    unsafe {
        crate::asm!(concat!("movq ", pcpu!("pc"), ", {v}");
            pc = sym bindings::__preempt_count,
            v = out(reg) v,
            options(nostack, readonly, preserves_flags)
        );
    }
    v
}

/// Adds `NMI_OFFSET + HARDIRQ_OFFSET` to the preemption count (C
/// `__preempt_count_add(NMI_OFFSET + HARDIRQ_OFFSET)`, one `addq` on `%gs`).
///
/// # Safety
///
/// Must be balanced by [`preempt_count_sub_nmi`] on the same CPU, with interrupts disabled.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn preempt_count_add_nmi() {
    // SAFETY: Single read-modify-write of this CPU's `__preempt_count`. The default memory clobber
    // orders it against the surrounding code, like the compiler barrier implied by the C
    // `raw_cpu_add_8()` asm.
    unsafe {
        crate::asm!(concat!("addq ${val}, ", pcpu!("pc"));
            pc = sym bindings::__preempt_count,
            val = const NMI_OFFSET + HARDIRQ_OFFSET,
            options(nostack)
        );
    }
}

/// Subtracts `NMI_OFFSET + HARDIRQ_OFFSET` from the preemption count.
///
/// # Safety
///
/// Must balance a previous [`preempt_count_add_nmi`] on the same CPU.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn preempt_count_sub_nmi() {
    // SAFETY: See `preempt_count_add_nmi()`.
    unsafe {
        crate::asm!(concat!("subq ${val}, ", pcpu!("pc"));
            pc = sym bindings::__preempt_count,
            val = const NMI_OFFSET + HARDIRQ_OFFSET,
            options(nostack)
        );
    }
}

/// C `arch_nmi_enter()`: x86 does not define it, so the empty default of `hardirq.h` applies.
///
/// # Safety
///
/// NMI-like entry, interrupts disabled, balanced by [`arch_nmi_exit`] (the `Nmi` steps).
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_nmi_enter() {}

/// C `arch_nmi_exit()`: empty on x86, see [`arch_nmi_enter`].
///
/// # Safety
///
/// Balances [`arch_nmi_enter`] on this CPU.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_nmi_exit() {}

// ---------------------------------------------------------------------------------------------
// current
// ---------------------------------------------------------------------------------------------

crate::entry_var_size!(current_task, 8);

/// Returns the current task (C `current`, `get_current()`).
///
/// Reads the per-CPU `current_task`. `const_current_task` (used by C with
/// `CONFIG_USE_X86_SEG_SUPPORT`) is a linker alias of the same storage, so both give the same
/// value. Like `this_cpu_read_stable()`, the load is `pure` and may be merged with other loads
/// of `current` in the same function: `current` cannot change while a task runs.
#[inline(always)]
pub fn current() -> *mut bindings::task_struct {
    let t: *mut bindings::task_struct;
    // SAFETY: Reads this CPU's `current_task`, which is always valid in kernel mode.
    unsafe {
        crate::asm!(concat!("movq ", pcpu!("cur"), ", {t}");
            cur = sym bindings::current_task,
            t = out(reg) t,
            options(pure, nostack, readonly, preserves_flags)
        );
    }
    t
}

/// This CPU's number (C `raw_smp_processor_id()`: the per-CPU `cpu_number` on x86).
///
/// The caller must not migrate while it uses the result (interrupts or preemption disabled).
#[cfg(CONFIG_NO_HZ_FULL)]
#[inline(always)]
pub(crate) fn raw_smp_processor_id() -> u32 {
    super::this_cpu_read_u32!(cpu_number)
}

/// The address of the current instruction, for the `ip` argument of
/// `lockdep_hardirqs_off()`/`lockdep_hardirqs_on()` (C passes `CALLER_ADDR0`).
///
/// C uses `__builtin_return_address(0)`; Rust has no stable equivalent (`return_address` is not
/// an allowed feature), and reading the return address through `%rbp` is wrong without frame
/// pointers (x86 uses ORC: `%rbp` is then an ordinary register and `8(%rbp)` may fault, here in
/// NMI entry). So the Rust entry functions report their own address, like `_THIS_IP_`: lockdep's
/// "hardirqs last disabled at" names `irqentry_enter()` rather than its caller. Nothing else uses
/// the value.
#[inline(always)]
pub fn this_ip() -> usize {
    let ip: usize;
    // SAFETY: `lea` of a RIP-relative address reads no memory and changes no flags.
    unsafe {
        crate::asm!("leaq 0(%rip), {ip}";
            ip = out(reg) ip,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    ip
}

// ---------------------------------------------------------------------------------------------
// Interrupt flag
// ---------------------------------------------------------------------------------------------

/// Returns true if interrupts are disabled on this CPU according to the hardware flags
/// (C `native_irqs_disabled()`, i.e. `!(native_save_fl() & X86_EFLAGS_IF)`).
///
/// Reads the real EFLAGS, not the paravirt view; meant for assertions and tests.
#[inline(always)]
pub fn native_irqs_disabled() -> bool {
    let flags: usize;
    // SAFETY: `pushf; pop` reads EFLAGS through the stack; it has no other effect.
    unsafe {
        crate::asm!("pushfq\n popq {f}";
            f = out(reg) flags,
            options(preserves_flags)
        );
    }
    flags & bindings::ENTRY_X86_EFLAGS_IF == 0
}

/// C `raw_irqs_disabled()`: [`native_irqs_disabled`] without `PARAVIRT_XXL`; with it the
/// paravirt view of the interrupt state (`pv_ops` `save_fl`), through a C shim. Only the irq
/// tracing of `local_irq_disable()` needs it.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_TRACE_IRQFLAGS))]
#[inline(always)]
pub(crate) fn raw_irqs_disabled() -> bool {
    #[cfg(not(CONFIG_PARAVIRT_XXL))]
    {
        native_irqs_disabled()
    }
    #[cfg(CONFIG_PARAVIRT_XXL)]
    // SAFETY: Reads the interrupt state; no precondition.
    unsafe {
        bindings::entry_rs_raw_irqs_disabled()
    }
}

/// C `raw_local_irq_enable()` without `PARAVIRT_XXL`: `native_irq_enable()`, a `sti` with a
/// memory clobber, emitted as the same instruction (no call, as C inlines it). With
/// `PARAVIRT_XXL` it is a patched `pv_ops` call, which only C can emit: a C shim then.
///
/// # Safety
///
/// Interrupts may be enabled here: nothing that needs them disabled runs until
/// [`raw_local_irq_disable`].
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn raw_local_irq_enable() {
    #[cfg(not(CONFIG_PARAVIRT_XXL))]
    // SAFETY: `sti` has no operands; the caller allows interrupts. No `nomem`, so that the
    // compiler neither moves memory accesses across it nor caches values in registers over it
    // (C's "memory" clobber).
    unsafe {
        crate::asm!("sti"; options(nostack))
    };
    #[cfg(CONFIG_PARAVIRT_XXL)]
    // SAFETY: As above, in one C call.
    unsafe {
        bindings::entry_rs_raw_local_irq_enable()
    };
}

/// C `raw_local_irq_disable()`: a `cli` with a memory clobber without `PARAVIRT_XXL`, a C shim
/// with it (see [`raw_local_irq_enable`]).
///
/// # Safety
///
/// None beyond the caller's bookkeeping: disabling interrupts is always allowed, but the
/// caller's tokens must say so afterwards.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn raw_local_irq_disable() {
    #[cfg(not(CONFIG_PARAVIRT_XXL))]
    // SAFETY: `cli` has no operands; no `nomem`, as C's "memory" clobber (see
    // `raw_local_irq_enable()`).
    unsafe {
        crate::asm!("cli"; options(nostack))
    };
    #[cfg(CONFIG_PARAVIRT_XXL)]
    // SAFETY: As above, in one C call.
    unsafe {
        bindings::entry_rs_raw_local_irq_disable()
    };
}

// ---------------------------------------------------------------------------------------------
// pt_regs
// ---------------------------------------------------------------------------------------------

impl PtRegs {
    /// Returns the saved `cs` selector.
    ///
    /// In `struct pt_regs` (x86_64), `cs` is a `u16` inside an anonymous union with `csx` and
    /// `fred_cs`; bindgen names that union `__bindgen_anon_1` (the second one, holding `ss`, is
    /// `__bindgen_anon_2`).
    #[inline(always)]
    pub fn cs(&self) -> u16 {
        // SAFETY: `self.as_raw()` is valid (type invariant). All members of the union are plain
        // integers or bitfields over the same bytes, so reading `cs` is always defined.
        unsafe { crate::entry_field!(self.as_raw(), pt_regs, cs: __bindgen_anon_1.cs).read() }
    }

    /// Returns the saved RFLAGS.
    #[inline(always)]
    pub fn flags(&self) -> usize {
        // SAFETY: `self.as_raw()` is valid (type invariant).
        unsafe { crate::entry_field!(self.as_raw(), pt_regs, flags).read() }
    }

    /// Returns true if the frame was created by an entry from user mode.
    ///
    /// C `user_mode()` on x86_64: `!!(regs->cs & 3)`.
    #[inline(always)]
    pub fn user_mode(&self) -> bool {
        self.cs() & 3 != 0
    }

    /// Returns true if interrupts were disabled in the interrupted context.
    ///
    /// C `regs_irqs_disabled()`: `!(regs->flags & X86_EFLAGS_IF)`.
    #[inline(always)]
    pub fn irqs_disabled(&self) -> bool {
        self.flags() & bindings::ENTRY_X86_EFLAGS_IF == 0
    }

    /// Returns the system call number of a system call frame.
    ///
    /// C `syscall_get_nr(current, regs)` on x86: `regs->orig_ax`, truncated to `int`.
    #[inline(always)]
    pub fn syscall_nr(&self) -> crate::ffi::c_int {
        // SAFETY: `self.as_raw()` is valid (type invariant).
        let orig_ax = unsafe { crate::entry_field!(self.as_raw(), pt_regs, orig_ax).read() };
        orig_ax as crate::ffi::c_int
    }

    /// Returns the saved instruction pointer (C `instruction_pointer(regs)`).
    #[inline(always)]
    pub fn ip(&self) -> usize {
        // SAFETY: `self.as_raw()` is valid (type invariant).
        unsafe { crate::entry_field!(self.as_raw(), pt_regs, ip).read() }
    }

    /// True if the system call was made by the vDSO's signal return trampoline (C
    /// `arch_syscall_is_vdso_sigreturn(regs)`), which syscall user dispatch must let through.
    #[inline(always)]
    pub fn syscall_is_vdso_sigreturn(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid frame (type invariant); the function only reads it
        // and the current task's vDSO address.
        unsafe { bindings::arch_syscall_is_vdso_sigreturn(self.as_raw()) }
    }

    /// Undoes the start of a system call so that it is not run and user space sees the
    /// original registers (C `syscall_rollback(current, regs)` on x86: `regs->ax =
    /// regs->orig_ax`).
    #[inline(always)]
    pub fn syscall_rollback(&self) {
        let p = self.as_raw();
        // SAFETY: `p` is valid (type invariant); the frame is the current task's, written only
        // by its own entry code and by a tracer while the task is stopped.
        unsafe {
            let orig_ax = crate::entry_field!(p, pt_regs, orig_ax).read();
            crate::entry_field!(p, pt_regs, ax).write(orig_ax);
        }
    }

    /// Returns the return value of a system call frame.
    ///
    /// C `syscall_get_return_value(current, regs)` and `regs_return_value(regs)` on x86_64:
    /// `regs->ax`.
    #[inline(always)]
    pub fn syscall_return_value(&self) -> crate::ffi::c_long {
        // SAFETY: `self.as_raw()` is valid (type invariant).
        let ax = unsafe { crate::entry_field!(self.as_raw(), pt_regs, ax).read() };
        ax as crate::ffi::c_long
    }
}

// ---------------------------------------------------------------------------------------------
// The architecture hooks of irq-entry-common.h
// ---------------------------------------------------------------------------------------------

/// C `arch_enter_from_user_mode(regs)` (x86: `DEBUG_ENTRY` sanity checks). `noinstr`.
///
/// Why C: the checks test `X86_FEATURE_SMAP` and `X86_FEATURE_XENPV` with
/// `cpu_feature_enabled()`, an alternative; without `DEBUG_ENTRY` they compile to nothing, and
/// then nothing is called.
///
/// # Safety
///
/// Interrupts disabled, entry from user mode, before any other state is established.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_enter_from_user_mode(_regs: &PtRegs) {
    #[cfg(CONFIG_DEBUG_ENTRY)]
    // SAFETY: `noinstr` shim; `regs` is valid; the caller's context is the one C expects.
    unsafe {
        bindings::entry_rs_arch_enter_from_user_mode(_regs.as_raw())
    };
}

/// C `arch_exit_to_user_mode()` (x86: `amd_clear_divider()`). `noinstr`.
///
/// Why C: `amd_clear_divider()` is an `alternative` (a `div` patched in on affected AMD CPUs),
/// which Rust `asm!` cannot emit.
///
/// # Safety
///
/// Interrupts disabled, immediately before returning to user mode.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_exit_to_user_mode() {
    // SAFETY: `noinstr` shim; the caller's context is the one C expects.
    unsafe { bindings::entry_rs_arch_exit_to_user_mode() };
}

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
crate::entry::instr::instr_shim!(
    /// C `arch_exit_to_user_mode_prepare(regs, ti_work)` (x86).
    ///
    /// Why C: the FPU state assertion, `arch_exit_work()` (I/O bitmap, FPU reload),
    /// `fred_update_rsp0()` and the IBPB on exit are tested with `cpu_feature_enabled()`, an
    /// alternative, which Rust `asm!` cannot emit.
    arch_exit_to_user_mode_prepare(ToUser) => entry_rs_arch_exit_to_user_mode_prepare(
        regs: &PtRegs => regs.as_raw(),
        ti_work: usize => ti_work
    )
);

crate::entry_var_size!(cpu_current_top_of_stack, 8);

/// C `on_thread_stack()`: true if the stack pointer is on the current task's thread stack,
/// `(unsigned long)(current_top_of_stack() - current_stack_pointer) < THREAD_SIZE`.
///
/// `current_top_of_stack()` is this CPU's `cpu_current_top_of_stack` (C reads it through the
/// `const_cpu_current_top_of_stack` alias with `USE_X86_SEG_SUPPORT`: the same storage).
/// Two loads and a compare; nothing to instrument, so no token is needed.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn on_thread_stack() -> bool {
    let top: usize;
    let sp: usize;
    // SAFETY: Reads this CPU's `cpu_current_top_of_stack` (an `unsigned long`, size checked
    // above) and the stack pointer; no other effect.
    unsafe {
        crate::asm!(concat!("movq ", pcpu!("top"), ", {t}\n movq %rsp, {sp}");
            top = sym bindings::cpu_current_top_of_stack,
            t = out(reg) top,
            sp = out(reg) sp,
            options(nostack, readonly, preserves_flags)
        );
    }
    top.wrapping_sub(sp) < bindings::ENTRY_THREAD_SIZE
}

/// C `arch_exit_to_user_mode_work(regs, ti_work)`: x86 does not define it, so the generic
/// empty inline of `irq-entry-common.h` applies and nothing runs on each loop iteration.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn arch_exit_to_user_mode_work(_ins: &Instr, _on: &IrqsOn<'_>, _regs: &PtRegs, _ti: usize) {}

/// C `arch_xfer_to_guest_mode_handle_work(ti_work)`: x86 does not define it, so the generic
/// inline of `entry-virt.h` applies: no work, `0`.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_VIRT_XFER_TO_GUEST_WORK))]
#[inline(always)]
pub fn arch_xfer_to_guest_mode_handle_work(
    _ins: &Instr,
    _guest: &super::super::virt::ToGuest,
    _ti: usize,
) -> crate::ffi::c_int {
    0
}

/// C `arch_irqentry_exit_need_resched()`: x86 does not override it, so it is `true`.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn arch_irqentry_exit_need_resched(
    _ins: &Instr,
    _off: &super::super::irqflags::IrqsOff,
) -> bool {
    true
}

/// C `arch_in_rcu_eqs()`: x86 does not override it, so it is `false`.
#[inline(always)]
pub fn arch_in_rcu_eqs() -> bool {
    false
}

/// C `irqentry_exit_cond_resched()` with `PREEMPT_DYNAMIC` on x86:
/// `static_call(irqentry_exit_cond_resched)()`.
///
/// The trampoline `__SCT__irqentry_exit_cond_resched` is called directly. objtool
/// (`--static-call`) turns the call into a `.static_call_sites` entry, so with
/// `HAVE_STATIC_CALL_INLINE` the call site itself is patched (to `raw_irqentry_exit_cond_resched`
/// or a NOP for `preempt=none|voluntary`), exactly as for C. objtool requires the key symbol
/// `__SCK__irqentry_exit_cond_resched` in the object that makes the call, so the reference
/// (`__ADDRESSABLE(STATIC_CALL_KEY(name))` in C's `__static_call()`) is emitted by inline
/// assembly here, which lands wherever this function is inlined: a `.quad` of the key in
/// `.discard.addressable`, a section the linker discards.
///
/// Interrupts disabled (`_off`), returning to a kernel context that can be preempted.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_PREEMPT_DYNAMIC))]
#[inline(always)]
pub fn irqentry_exit_cond_resched_dynamic(_ins: &Instr, _off: &super::super::irqflags::IrqsOff) {
    #[cfg(not(CONFIG_HAVE_PREEMPT_DYNAMIC_CALL))]
    compile_error!("RUST_GENERIC_ENTRY supports PREEMPT_DYNAMIC on x86 only with static calls");

    // SAFETY: Emits a pointer-sized datum into a discarded section; no code, no effect at run
    // time.
    unsafe {
        crate::asm!(
            ".pushsection .discard.addressable,\"aw\"\n .balign 8\n .quad {key}\n .popsection";
            key = sym bindings::__SCK__irqentry_exit_cond_resched,
            options(nomem, nostack, preserves_flags)
        );
    }
    // SAFETY: The trampoline has the signature of `raw_irqentry_exit_cond_resched()`, whose only
    // precondition, interrupts disabled, `_off` proves; a static call trampoline is allowed
    // from `noinstr` code, and the caller is in a region anyway (`_ins`).
    unsafe { bindings::__SCT__irqentry_exit_cond_resched() };
}

/// C `syscall_get_arch(current)` on x86_64: `AUDIT_ARCH_I386` in a 32-bit system call
/// (`TS_COMPAT`, only with `CONFIG_IA32_EMULATION`), `AUDIT_ARCH_X86_64` otherwise (x32
/// too).
#[inline(always)]
pub fn syscall_get_arch() -> crate::ffi::c_uint {
    #[cfg(CONFIG_IA32_EMULATION)]
    {
        // SAFETY: `current()` is the valid current task; `status` is only written by the task
        // itself.
        let status = unsafe {
            crate::entry_field!(current(), task_struct, thread_info_status: thread_info.status)
                .read()
        };
        if status & bindings::ENTRY_TS_COMPAT != 0 {
            return bindings::ENTRY_AUDIT_ARCH_I386;
        }
    }
    bindings::ENTRY_AUDIT_ARCH_X86_64
}
