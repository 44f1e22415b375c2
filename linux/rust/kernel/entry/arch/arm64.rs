// SPDX-License-Identifier: GPL-2.0

//! The arm64 half of the entry building blocks.
//!
//! C headers: [`arch/arm64/include/asm/percpu.h`](srctree/arch/arm64/include/asm/percpu.h),
//! [`arch/arm64/include/asm/preempt.h`](srctree/arch/arm64/include/asm/preempt.h),
//! [`arch/arm64/include/asm/current.h`](srctree/arch/arm64/include/asm/current.h),
//! [`arch/arm64/include/asm/irqflags.h`](srctree/arch/arm64/include/asm/irqflags.h),
//! [`arch/arm64/include/asm/ptrace.h`](srctree/arch/arm64/include/asm/ptrace.h),
//! [`arch/arm64/include/asm/hardirq.h`](srctree/arch/arm64/include/asm/hardirq.h),
//! [`arch/arm64/include/asm/entry-common.h`](srctree/arch/arm64/include/asm/entry-common.h).
//!
//! arm64 selects `GENERIC_IRQ_ENTRY` only: its own entry code (`arch/arm64/kernel/entry-common.c`)
//! calls `irqentry_nmi_enter()`/`irqentry_nmi_exit()` (pseudo-NMIs, SErrors, SDEI),
//! `exit_to_user_mode_loop()` and `raw_irqentry_exit_cond_resched()`, and has its own system call
//! work. What differs from x86:
//!
//! * `current` is `sp_el0`; the preemption count is `current_thread_info()->preempt.count`, a
//!   `u32` that folds nothing in (`PREEMPT_NEED_RESCHED` lives in the other half of the `u64`);
//! * per-CPU data is at `&var + __my_cpu_offset`, the offset in `tpidr_el1`, or `tpidr_el2` on
//!   VHE hosts (the kernel at EL2). C picks the register with an `ALTERNATIVE()`; so does
//!   [`my_cpu_offset`], which emits the same `.altinstructions` entry (its layout checked against
//!   C's `struct alt_instr`);
//! * with `ARM64_PSEUDO_NMI` interrupts may be masked by the GIC priority (`ICC_PMR_EL1`) rather
//!   than `DAIF.I`; C chooses with `system_uses_irq_prio_masking()` (an alternative that patches
//!   a `nop` into a branch) and follows a write of the mask with `pmr_sync()` (an alternative
//!   with a callback). `uses_irq_prio_masking()` and `pmr_sync()` emit the same records, so the
//!   interrupt flag operations and `regs_irqs_disabled()` are inline as in C (only
//!   `ARM64_DEBUG_PRIORITY_MASKING`, whose checks `WARN()`, keeps C shims for them);
//! * of the hooks arm64 overrides, `arch_irqentry_exit_need_resched()` (priority masking,
//!   finalized capabilities) is inline, alternatives included; `arch_exit_to_user_mode_work()`
//!   tests its flags inline and calls `fpsimd_restore_current_state()`, with a C shim for an
//!   MTE fault; on VHE hosts only, `arch_nmi_enter()`/`arch_nmi_exit()` (`HCR_EL2.TGE`) are
//!   C shims;
//! * the `PREEMPT_DYNAMIC` cond-resched hook is a static key: the key stays in `common.c`,
//!   `dynamic_irqentry_exit_cond_resched()` is Rust and tests it with C's `__jump_table` entry.

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
use super::super::preempt::{
    HARDIRQ_OFFSET,
    NMI_OFFSET, //
};
use super::super::PtRegs;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
use super::super::{
    irqflags::{
        IrqsOff,
        IrqsOn,
        ToUser, //
    },
    Instr,
};
use crate::bindings;

// ---------------------------------------------------------------------------------------------
// Per-CPU data
// ---------------------------------------------------------------------------------------------

// The `.altinstructions` entry emitted by `my_cpu_offset()` below is C's `struct alt_instr`
// (`ALTINSTR_ENTRY()` in `asm/alternative-macros.h`): two `.word`s, a `.hword`, two `.byte`s.
// bindgen sees the struct as opaque; the constants are C's `offsetof()`/`sizeof()`
// (`entry_rs_layout.h`).
crate::entry_asm_layout!(alt_instr {
    orig_offset: 0, 4;
    alt_offset: 4, 4;
    cpucap: 8, 2;
    orig_len: 10, 1;
    alt_len: 11, 1;
} size 12, "my_cpu_offset()");

/// The template of C's `ALTERNATIVE(old, new, cap)` for one instruction each: `$old` in line,
/// `$new` in `.subsection 1`, and the `.altinstructions` record (`struct alt_instr`: the two
/// offsets, the capability from the asm's `cap` operand, the two lengths; its layout is checked
/// above) from which the boot code patches `$new` over `$old` on CPUs with the capability. The
/// `.org` lines stop the assembly when the two differ in length, as C's do.
macro_rules! alternative {
    ($old:literal, $new:literal) => {
        concat!(
            "661:\n",
            $old,
            "\n662:\n",
            ".pushsection .altinstructions, \"a\"\n",
            ".word 661b - .\n",
            ".word 663f - .\n",
            ".hword {cap}\n",
            ".byte 662b - 661b\n",
            ".byte 664f - 663f\n",
            ".popsection\n",
            ".subsection 1\n",
            "663:\n",
            $new,
            "\n664:\n",
            ".org . - (664b - 663b) + (662b - 661b)\n",
            ".org . - (662b - 661b) + (664b - 663b)\n",
            ".previous",
        )
    };
}

/// The template of C's `ALTERNATIVE_CB(old, cap, alt_cb_patch_nops)` for one instruction: `$old`
/// in line and a record whose second offset is the callback's (operand `cb`) and whose
/// capability (operand `cap`) has `ARM64_CB_BIT` set; the boot code calls the callback, which
/// writes `nop`s over `$old`, on CPUs with the capability.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
macro_rules! alternative_cb {
    ($old:literal) => {
        concat!(
            "661:\n",
            $old,
            "\n662:\n",
            ".pushsection .altinstructions, \"a\"\n",
            ".word 661b - .\n",
            ".word {cb} - .\n",
            ".hword {cap}\n",
            ".byte 662b - 661b\n",
            ".byte 0\n",
            ".popsection",
        )
    };
}

/// This CPU's per-CPU offset (C `__my_cpu_offset`, `__kern_my_cpu_offset()`).
///
/// `mrs tpidr_el1`, patched to `mrs tpidr_el2` on CPUs with `ARM64_HAS_VIRT_HOST_EXTN` (VHE: the
/// kernel runs at EL2), exactly the `ALTERNATIVE()` of C: the same instructions and the same
/// `.altinstructions` record, applied by the same boot code. Like C's, the read is not volatile
/// and may be merged with another one in the same function (the offset of a CPU does not
/// change; callers do not migrate while they use it); `readonly` rather than `nomem` orders it
/// against memory clobbers, like C's fake stack operand does against `barrier()`.
#[inline(always)]
pub(crate) fn my_cpu_offset() -> usize {
    let off: usize;
    // SAFETY: Reads a system register; the alternative record only tells the boot code which
    // instruction to patch in, with the same length (checked by the `.org` lines as in C).
    unsafe {
        crate::asm!(
            alternative!("mrs {off}, tpidr_el1", "mrs {off}, tpidr_el2");
            off = out(reg) off,
            cap = const bindings::ENTRY_ARM64_HAS_VIRT_HOST_EXTN,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    off
}

/// Reads the 32-bit per-CPU datum at `$off` bytes into the per-CPU symbol `$sym` (C
/// `raw_cpu_read_4()`: `READ_ONCE(*(u32 *)raw_cpu_ptr(...))`). Checked front end:
/// `this_cpu_read_u32!()` in the parent module.
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_macros))]
macro_rules! arch_this_cpu_read_u32 {
    ($sym:path, $off:expr) => {{
        let p = (&raw const $sym)
            .cast::<u8>()
            .wrapping_add($crate::entry::arch::my_cpu_offset())
            .wrapping_add($off)
            .cast::<u32>();
        // SAFETY: `p` is this CPU's copy of the per-CPU datum (the symbol plus this CPU's
        // offset), 32 bits wide and aligned (checked by the front end); per-CPU data is only
        // written by its own CPU, and the volatile load is C's `READ_ONCE()`.
        #[allow(unused_unsafe)]
        unsafe {
            p.read_volatile()
        }
    }};
}

#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_imports))]
pub(crate) use arch_this_cpu_read_u32;

/// This CPU's `hardirq_context`.
#[cfg(CONFIG_TRACE_IRQFLAGS)]
#[inline(always)]
fn hardirq_context() -> *mut u32 {
    crate::entry_var_size!(hardirq_context, 4);
    (&raw mut bindings::hardirq_context)
        .cast::<u8>()
        .wrapping_add(my_cpu_offset())
        .cast::<u32>()
}

/// Adds one to this CPU's `hardirq_context` and returns the old value (C
/// `__this_cpu_inc_return(hardirq_context) - 1`: a load, an add and a store on arm64).
///
/// Safe: the counter is this CPU's own and only lockdep reads it; keeping it balanced with
/// [`hardirq_context_dec`] is the business of `lockdep_hardirq_enter()`/`_exit()`, whose
/// callers run with interrupts disabled.
#[cfg(CONFIG_TRACE_IRQFLAGS)]
#[inline(always)]
pub(crate) fn hardirq_context_inc() -> u32 {
    let p = hardirq_context();
    // SAFETY: `p` is this CPU's counter (see `hardirq_context()`), written only by this CPU with
    // interrupts disabled; an NMI in between leaves it balanced.
    unsafe {
        let old = p.read_volatile();
        p.write_volatile(old.wrapping_add(1));
        old
    }
}

/// Subtracts one from this CPU's `hardirq_context` (C `__this_cpu_dec()`). Safe, see
/// [`hardirq_context_inc`].
#[cfg(CONFIG_TRACE_IRQFLAGS)]
#[inline(always)]
pub(crate) fn hardirq_context_dec() {
    let p = hardirq_context();
    // SAFETY: As in `hardirq_context_inc()`.
    unsafe { p.write_volatile(p.read_volatile().wrapping_sub(1)) };
}

// ---------------------------------------------------------------------------------------------
// preempt_count
// ---------------------------------------------------------------------------------------------

/// `PREEMPT_NEED_RESCHED` as seen in [`preempt_count_raw`]: nothing. arm64 keeps the inverted
/// need-resched flag in the upper half of the `u64` `thread_info.preempt_count`
/// (`PREEMPT_NEED_RESCHED` is `BIT(32)`), and `preempt_count()` reads only the lower `u32`.
pub const PREEMPT_NEED_RESCHED: usize = 0;

/// The current task's `thread_info.preempt.count`.
#[inline(always)]
fn preempt_count_ptr() -> *mut u32 {
    // SAFETY: `current()` is the valid current task; `thread_info` is its first member
    // (`THREAD_INFO_IN_TASK`), and the member's place is checked against C by `entry_field!()`.
    unsafe {
        crate::entry_field!(
            current(),
            task_struct,
            thread_info_preempt_count: thread_info.__bindgen_anon_1.preempt.count
        )
    }
}

/// Reads the preemption count (C `preempt_count()`: `READ_ONCE()` of
/// `current_thread_info()->preempt.count`).
#[inline(always)]
pub(crate) fn preempt_count_raw() -> usize {
    // SAFETY: The current task's own count, written only by the task itself (or by interrupts
    // and NMIs on its CPU, which leave it balanced); a volatile load is `READ_ONCE()`.
    unsafe { preempt_count_ptr().read_volatile() as usize }
}

/// Adds `NMI_OFFSET + HARDIRQ_OFFSET` to the preemption count (C
/// `__preempt_count_add(NMI_OFFSET + HARDIRQ_OFFSET)`: `READ_ONCE()`, add, `WRITE_ONCE()`).
///
/// # Safety
///
/// Must be balanced by [`preempt_count_sub_nmi`] on the same CPU, with interrupts disabled.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn preempt_count_add_nmi() {
    let p = preempt_count_ptr();
    // SAFETY: The current task's count (see `preempt_count_raw()`); interrupts are disabled, and
    // a nested NMI restores the value before this one continues.
    unsafe {
        p.write_volatile(
            p.read_volatile()
                .wrapping_add((NMI_OFFSET + HARDIRQ_OFFSET) as u32),
        )
    };
}

/// Subtracts `NMI_OFFSET + HARDIRQ_OFFSET` from the preemption count.
///
/// # Safety
///
/// Must balance a previous [`preempt_count_add_nmi`] on the same CPU.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn preempt_count_sub_nmi() {
    let p = preempt_count_ptr();
    // SAFETY: See `preempt_count_add_nmi()`.
    unsafe {
        p.write_volatile(
            p.read_volatile()
                .wrapping_sub((NMI_OFFSET + HARDIRQ_OFFSET) as u32),
        )
    };
}

// ---------------------------------------------------------------------------------------------
// NMI
// ---------------------------------------------------------------------------------------------

/// `CurrentEL` at EL2: the exception level is in bits 3:2 (C's `CurrentEL_EL2`, `2 << 2`; the
/// value is architectural, so it is spelled out rather than passed through the bindings).
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
const CURRENT_EL_EL2: usize = 2 << 2;

/// True if the kernel runs at EL2 (C `is_kernel_in_hyp_mode()`: `CurrentEL`, no alternative).
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
fn is_kernel_in_hyp_mode() -> bool {
    let el: usize;
    // SAFETY: Reads a system register; no other effect.
    unsafe {
        crate::asm!("mrs {el}, CurrentEL";
            el = out(reg) el,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    el == CURRENT_EL_EL2
}

/// C `arch_nmi_enter()` (`asm/hardirq.h`): nothing unless the kernel runs at EL2 (VHE), where
/// `HCR_EL2.TGE` must be set before the NMI handler runs; that part is a `noinstr` C shim
/// (`write_sysreg_hcr()` is an alternative for an erratum, the state is the per-CPU
/// `nmi_contexts`). The test is inline, as in C, so a guest or an EL1 host pays one `mrs`.
///
/// # Safety
///
/// NMI-like entry, interrupts disabled, balanced by [`arch_nmi_exit`] (the `Nmi` steps).
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_nmi_enter() {
    if is_kernel_in_hyp_mode() {
        // SAFETY: `noinstr` shim; the caller's context is the one C's `__nmi_enter()` has.
        unsafe { bindings::entry_rs_arch_nmi_enter() };
    }
}

/// C `arch_nmi_exit()`: undoes [`arch_nmi_enter`] on VHE hosts, nothing otherwise.
///
/// # Safety
///
/// Balances [`arch_nmi_enter`] on this CPU.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_nmi_exit() {
    if is_kernel_in_hyp_mode() {
        // SAFETY: `noinstr` shim, balancing `entry_rs_arch_nmi_enter()`.
        unsafe { bindings::entry_rs_arch_nmi_exit() };
    }
}

// ---------------------------------------------------------------------------------------------
// current
// ---------------------------------------------------------------------------------------------

/// Returns the current task (C `current`, `get_current()`: `mrs sp_el0`).
///
/// Not volatile, like C's: `current` cannot change while a task runs, so reads may be merged.
#[inline(always)]
pub fn current() -> *mut bindings::task_struct {
    let t: *mut bindings::task_struct;
    // SAFETY: `sp_el0` holds the current task whenever the kernel runs.
    unsafe {
        crate::asm!("mrs {t}, sp_el0";
            t = out(reg) t,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    t
}

/// This CPU's number (C `raw_smp_processor_id()`: `current_thread_info()->cpu` on arm64).
///
/// The caller must not migrate while it uses the result (interrupts or preemption disabled).
#[cfg(CONFIG_NO_HZ_FULL)]
#[inline(always)]
pub(crate) fn raw_smp_processor_id() -> u32 {
    // SAFETY: The current task's `thread_info.cpu` (place checked by `entry_field!()`), written
    // by the scheduler when the task moves, which it cannot while the caller runs.
    unsafe { crate::entry_field!(current(), task_struct, thread_info_cpu: thread_info.cpu).read() }
}

/// The address of the current instruction (C `_THIS_IP_`), for the `ip` arguments of lockdep
/// (C passes `CALLER_ADDR0`; see the x86 version for why Rust reports its own address). `adr`,
/// not the link register: with pointer authentication the saved LR is signed.
#[inline(always)]
pub fn this_ip() -> usize {
    let ip: usize;
    // SAFETY: `adr` computes a PC-relative address; it reads no memory.
    unsafe {
        crate::asm!("adr {ip}, .";
            ip = out(reg) ip,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    ip
}

// ---------------------------------------------------------------------------------------------
// Interrupt flag
// ---------------------------------------------------------------------------------------------

/// Whether the kernel masks interrupts by GIC priority (C `system_uses_irq_prio_masking()`,
/// `alternative_has_cap_unlikely(ARM64_HAS_GIC_PRIO_MASKING)`).
///
/// A `nop`, patched at boot into a branch to the `true` arm on systems with the capability:
/// the instructions and the `.altinstructions` record of C's `ALTERNATIVE("nop", "b %l[l_yes]",
/// cap)` (the layout of the record is checked above, as for [`my_cpu_offset`]). The boot code
/// re-encodes the branch for its new place, as it does for C's. Callable from `noinstr` code: no
/// call, and the answer never changes after the alternatives are applied, which happens before
/// any entry code runs.
#[cfg(CONFIG_ARM64_PSEUDO_NMI)]
#[inline(always)]
fn uses_irq_prio_masking() -> bool {
    // SAFETY: A `nop` or a branch to the label operand; the record only tells the boot code what
    // to patch in (same length, checked by the `.org` lines as in C).
    unsafe {
        crate::asm!(
            alternative!("nop", "b {yes}");
            cap = const bindings::ENTRY_ARM64_HAS_GIC_PRIO_MASKING,
            yes = label { return true; },
            options(nomem, nostack, preserves_flags)
        );
    }
    false
}

/// C `pmr_sync()`: `dsb sy` after a write of the priority mask, which the boot code turns into a
/// `nop` on CPUs with `ARM64_HAS_GIC_PRIO_RELAXED_SYNC`: C's
/// `ALTERNATIVE_CB("dsb sy", cap, alt_cb_patch_nops)`, the same instruction and the same record
/// (the callback's offset where the replacement's would be, `ARM64_CB_BIT` in the capability).
/// The callback is referenced from `.altinstructions` only; nothing here calls it.
#[cfg(all(
    CONFIG_RUST_GENERIC_ENTRY,
    CONFIG_ARM64_PSEUDO_NMI,
    not(CONFIG_ARM64_DEBUG_PRIORITY_MASKING)
))]
#[inline(always)]
fn pmr_sync() {
    /// The record of a callback alternative: `ARM64_CB_BIT` set in the capability.
    const CAP: u16 = bindings::ENTRY_ARM64_CB_BIT | bindings::ENTRY_ARM64_HAS_GIC_PRIO_RELAXED_SYNC;
    // SAFETY: A barrier instruction (or the `nop` patched over it); no `nomem`, so it is also a
    // compiler barrier, as C's `barrier()` after it.
    unsafe {
        crate::asm!(
            alternative_cb!("dsb sy");
            cb = sym bindings::alt_cb_patch_nops,
            cap = const CAP,
            options(nostack, preserves_flags)
        );
    }
}

/// Reads the GIC priority mask (`ICC_PMR_EL1`, `S3_0_C4_C6_0`).
#[cfg(CONFIG_ARM64_PSEUDO_NMI)]
#[inline(always)]
fn read_pmr() -> usize {
    let pmr: usize;
    // SAFETY: Reads a system register that is accessible whenever the kernel masks by priority;
    // callers test [`uses_irq_prio_masking`] first.
    unsafe {
        crate::asm!("mrs {p}, S3_0_C4_C6_0";
            p = out(reg) pmr,
            options(nomem, nostack, preserves_flags)
        );
    }
    pmr
}

/// Writes the GIC priority mask (C `write_sysreg_s(v, SYS_ICC_PMR_EL1)` between `barrier()`s).
///
/// # Safety
///
/// The kernel masks by priority ([`uses_irq_prio_masking`]); `v` is `GIC_PRIO_IRQON` or
/// `GIC_PRIO_IRQOFF`, and the caller's interrupt bookkeeping says which.
#[cfg(all(
    CONFIG_RUST_GENERIC_ENTRY,
    CONFIG_ARM64_PSEUDO_NMI,
    not(CONFIG_ARM64_DEBUG_PRIORITY_MASKING)
))]
#[inline(always)]
unsafe fn write_pmr(v: usize) {
    // SAFETY: See the function's contract; no `nomem`: C's `barrier()` on both sides.
    unsafe {
        crate::asm!("msr S3_0_C4_C6_0, {v}";
            v = in(reg) v,
            options(nostack, preserves_flags)
        );
    }
}

/// The `DAIF` register: which exceptions are masked at the CPU.
#[inline(always)]
fn read_daif() -> usize {
    let daif: usize;
    // SAFETY: Reads `DAIF`; no other effect.
    unsafe {
        crate::asm!("mrs {d}, daif";
            d = out(reg) daif,
            options(nomem, nostack, preserves_flags)
        );
    }
    daif
}

/// `DAIF.I`: IRQs masked at the CPU.
#[inline(always)]
fn daif_irqs_disabled() -> bool {
    read_daif() & bindings::ENTRY_PSR_I_BIT != 0
}

/// Returns true if interrupts are disabled on this CPU (C `arch_irqs_disabled()`): `DAIF.I`, or
/// when the kernel masks interrupts by GIC priority (`ARM64_PSEUDO_NMI` and
/// `irqchip.gicv3_pseudo_nmi=1`) a priority mask that is not `GIC_PRIO_IRQON`.
///
/// For tests and samples, not for `noinstr` code: C chooses between the two with an
/// alternative; this reads the capability from `system_cpucaps` (C `cpus_have_cap()`), the
/// bitmap the alternatives were applied from. It does not go through the alternative of
/// [`uses_irq_prio_masking`], so the KUnit cases that read it after an entry function also check
/// that the alternative was patched as C's was.
#[inline(always)]
pub fn native_irqs_disabled() -> bool {
    #[cfg(CONFIG_ARM64_PSEUDO_NMI)]
    {
        const CAP: usize = bindings::ENTRY_ARM64_HAS_GIC_PRIO_MASKING as usize;
        // SAFETY: `system_cpucaps` is written during boot, before any caller runs; reading a
        // word of it is `arch_test_bit()`. The index is a constant below the bitmap's length
        // (checked at build time by the array type).
        let word = unsafe { (&raw const bindings::system_cpucaps).read_volatile() }[CAP / 64];
        if word >> (CAP % 64) & 1 != 0 {
            return read_pmr() != bindings::ENTRY_GIC_PRIO_IRQON;
        }
    }
    daif_irqs_disabled()
}

/// C `raw_irqs_disabled()`: `DAIF.I`, or when the kernel masks by priority
/// ([`uses_irq_prio_masking`]) a priority mask that is not `GIC_PRIO_IRQON`.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_TRACE_IRQFLAGS))]
#[inline(always)]
pub(crate) fn raw_irqs_disabled() -> bool {
    #[cfg(CONFIG_ARM64_PSEUDO_NMI)]
    if uses_irq_prio_masking() {
        return read_pmr() != bindings::ENTRY_GIC_PRIO_IRQON;
    }
    daif_irqs_disabled()
}

/// C `raw_local_irq_enable()`: `msr daifclr, #3` with a memory clobber, or when the kernel masks
/// by priority a write of `GIC_PRIO_IRQON` to the mask and [`pmr_sync`] (C
/// `__pmr_local_irq_enable()`). With `ARM64_DEBUG_PRIORITY_MASKING`, whose check of the old mask
/// `WARN()`s, a C shim.
///
/// # Safety
///
/// Interrupts may be enabled here: nothing that needs them disabled runs until
/// [`raw_local_irq_disable`].
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn raw_local_irq_enable() {
    #[cfg(CONFIG_ARM64_DEBUG_PRIORITY_MASKING)]
    // SAFETY: The caller allows interrupts; C's `raw_local_irq_enable()` in one call.
    unsafe {
        bindings::entry_rs_raw_local_irq_enable()
    };
    #[cfg(not(CONFIG_ARM64_DEBUG_PRIORITY_MASKING))]
    {
        #[cfg(CONFIG_ARM64_PSEUDO_NMI)]
        if uses_irq_prio_masking() {
            // SAFETY: The kernel masks by priority; the caller allows interrupts.
            unsafe { write_pmr(bindings::ENTRY_GIC_PRIO_IRQON) };
            pmr_sync();
            return;
        }
        // SAFETY: Unmasks IRQ and FIQ; the caller allows interrupts. No `nomem`: C's "memory"
        // clobber (`barrier()` around the `msr`).
        unsafe { crate::asm!("msr daifclr, #3"; options(nostack)) };
    }
}

/// C `raw_local_irq_disable()`: `msr daifset, #3`, or when the kernel masks by priority a write
/// of `GIC_PRIO_IRQOFF` to the mask (C `__pmr_local_irq_disable()`, no `pmr_sync()`); a C shim
/// with `ARM64_DEBUG_PRIORITY_MASKING` (see [`raw_local_irq_enable`]).
///
/// # Safety
///
/// None beyond the caller's bookkeeping: disabling interrupts is always allowed, but the
/// caller's tokens must say so afterwards.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn raw_local_irq_disable() {
    #[cfg(CONFIG_ARM64_DEBUG_PRIORITY_MASKING)]
    // SAFETY: Masks interrupts; C's `raw_local_irq_disable()` in one call.
    unsafe {
        bindings::entry_rs_raw_local_irq_disable()
    };
    #[cfg(not(CONFIG_ARM64_DEBUG_PRIORITY_MASKING))]
    {
        #[cfg(CONFIG_ARM64_PSEUDO_NMI)]
        if uses_irq_prio_masking() {
            // SAFETY: The kernel masks by priority; masking is always allowed.
            unsafe { write_pmr(bindings::ENTRY_GIC_PRIO_IRQOFF) };
            return;
        }
        // SAFETY: Masks IRQ and FIQ; no `nomem`, as C's "memory" clobber.
        unsafe { crate::asm!("msr daifset, #3"; options(nostack)) };
    }
}

// ---------------------------------------------------------------------------------------------
// pt_regs
// ---------------------------------------------------------------------------------------------

impl PtRegs {
    /// Returns the saved `PSTATE` (`regs->pstate`).
    #[inline(always)]
    pub fn pstate(&self) -> u64 {
        // SAFETY: `self.as_raw()` is valid (type invariant).
        unsafe {
            crate::entry_field!(
                self.as_raw(),
                pt_regs,
                pstate: __bindgen_anon_1.__bindgen_anon_1.pstate
            )
            .read()
        }
    }

    /// Returns true if the frame was created by an entry from user mode (EL0).
    ///
    /// C `user_mode()` on arm64: `(regs->pstate & PSR_MODE_MASK) == PSR_MODE_EL0t`.
    #[inline(always)]
    pub fn user_mode(&self) -> bool {
        self.pstate() as usize & bindings::ENTRY_PSR_MODE_MASK == bindings::ENTRY_PSR_MODE_EL0T
    }

    /// Returns true if interrupts were disabled in the interrupted context.
    ///
    /// C `regs_irqs_disabled()`: `PSTATE.I`, or when the kernel masks by priority
    /// ([`uses_irq_prio_masking`]) also a saved priority mask (`regs->pmr`) that is not
    /// `GIC_PRIO_IRQON`.
    #[inline(always)]
    pub fn irqs_disabled(&self) -> bool {
        if self.pstate() as usize & bindings::ENTRY_PSR_I_BIT != 0 {
            return true;
        }
        #[cfg(CONFIG_ARM64_PSEUDO_NMI)]
        if uses_irq_prio_masking() {
            // SAFETY: `self.as_raw()` is valid (type invariant); the member's place is checked
            // against C by `entry_field!()`.
            let pmr = unsafe { crate::entry_field!(self.as_raw(), pt_regs, pmr).read() };
            return pmr as usize != bindings::ENTRY_GIC_PRIO_IRQON;
        }
        false
    }
}

// ---------------------------------------------------------------------------------------------
// The architecture hooks of irq-entry-common.h
// ---------------------------------------------------------------------------------------------

/// C `arch_enter_from_user_mode(regs)`: arm64 does not define it; the generic one is empty.
///
/// # Safety
///
/// Interrupts disabled, entry from user mode (the x86 version's contract).
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_enter_from_user_mode(_regs: &PtRegs) {}

/// C `arch_exit_to_user_mode()`: arm64 does not define it; the generic one is empty.
///
/// # Safety
///
/// Interrupts disabled, immediately before returning to user mode.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn arch_exit_to_user_mode() {}

/// C `arch_exit_to_user_mode_prepare(regs, ti_work)`: arm64 does not define it; the generic one
/// is empty.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn arch_exit_to_user_mode_prepare(_ins: &Instr, _irqs: &ToUser, _regs: &PtRegs, _ti: usize) {}

/// C `arch_exit_to_user_mode_work(regs, ti_work)` (`asm/entry-common.h`): on each pass of the
/// exit loop, a pending asynchronous MTE fault becomes a `SIGSEGV`, and then a task whose FPSIMD
/// registers hold another context's state (`TIF_FOREIGN_FPSTATE`) gets its own back. Both
/// flags are in `EXIT_TO_USER_MODE_WORK`, so without this the loop would not end.
///
/// Both flag tests are inline, as C's. The FPSIMD reload is the C function C calls,
/// `fpsimd_restore_current_state()`, called directly: it follows every context switch and
/// signal frame, so it is on the measured exit paths. The MTE fault (a flag clear, which is an
/// instrumented atomic, and `send_sig_fault()`) goes through the C shim, passed only its own
/// flag so that the shim does not test the other again.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn arch_exit_to_user_mode_work(ins: &Instr, on: &IrqsOn<'_>, regs: &PtRegs, ti: usize) {
    const MTE: usize = bindings::_TIF_MTE_ASYNC_FAULT as usize;
    const FPSTATE: usize = bindings::_TIF_FOREIGN_FPSTATE as usize;
    const _: () = assert!(MTE | FPSTATE == bindings::ENTRY_ARCH_EXIT_TO_USER_MODE_WORK);

    if ti & MTE != 0 {
        mte_async_fault(ins, on, regs, MTE);
    }
    if ti & FPSTATE != 0 {
        fpsimd_restore_current_state(ins, on);
    }
}

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
crate::entry::instr::instr_shim!(
    /// C `arch_exit_to_user_mode_work(regs, _TIF_MTE_ASYNC_FAULT)`: clears the flag and sends
    /// the task `SIGSEGV` (`SEGV_MTEAERR`).
    ///
    /// Why C: `clear_thread_flag()` is an instrumented atomic, `send_sig_fault()` takes a user
    /// pointer argument.
    mte_async_fault(IrqsOn<'_>) => entry_rs_arch_exit_to_user_mode_work(
        regs: &PtRegs => regs.as_raw(),
        mte: usize => mte
    )
);

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
crate::entry::instr::instr_shim!(
    /// C `fpsimd_restore_current_state()`: loads the task's FPSIMD (and SVE/SME) state into the
    /// CPU if another context's is there, and clears `TIF_FOREIGN_FPSTATE`.
    fpsimd_restore_current_state(IrqsOn<'_>) => fpsimd_restore_current_state()
);

/// C `arch_xfer_to_guest_mode_handle_work(ti_work)`: arm64 does not define it, so the generic
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

/// Whether the boot code has finalized the CPU capabilities (C
/// `system_capabilities_finalized()`, `alternative_has_cap_likely(ARM64_ALWAYS_SYSTEM)`).
///
/// A branch to the `false` arm, which the boot code turns into a `nop` when it finalizes the
/// system capabilities: the instruction and the record of C's `ALTERNATIVE_CB("b %l[l_no]",
/// cap, alt_cb_patch_nops)`.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
fn capabilities_finalized() -> bool {
    /// The record of a callback alternative: `ARM64_CB_BIT` set in the capability.
    const CAP: u16 = bindings::ENTRY_ARM64_CB_BIT | bindings::ENTRY_ARM64_ALWAYS_SYSTEM;
    // SAFETY: A branch to the label operand, or the `nop` patched over it; the record only tells
    // the boot code what to patch.
    unsafe {
        crate::asm!(
            alternative_cb!("b {no}");
            cb = sym bindings::alt_cb_patch_nops,
            cap = const CAP,
            no = label { return false; },
            options(nomem, nostack, preserves_flags)
        );
    }
    true
}

/// C `arch_irqentry_exit_need_resched()` (`asm/entry-common.h`): no preemption on the way out
/// of a pseudo-NMI (anything set in `DAIF` while the kernel masks by priority: the GIC driver
/// clears `DAIF.IF` for ordinary interrupts), nor before the CPU capabilities are finalized
/// (a preempted task would keep a `PSTATE` from before their enable calls).
///
/// Both tests are inline alternatives, as C's; called only after `need_resched()`, as in C.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub fn arch_irqentry_exit_need_resched(_ins: &Instr, _off: &IrqsOff) -> bool {
    // C: if (system_uses_irq_prio_masking() && read_sysreg(daif))
    // C:         return false;
    #[cfg(CONFIG_ARM64_PSEUDO_NMI)]
    if uses_irq_prio_masking() && read_daif() != 0 {
        return false;
    }
    // C: if (!system_capabilities_finalized())
    // C:         return false;
    // C: return true;
    capabilities_finalized()
}

/// C `arch_in_rcu_eqs()`: arm64 does not override it, so it is `false`.
#[inline(always)]
pub fn arch_in_rcu_eqs() -> bool {
    false
}

// The `__jump_table` entry emitted by `dynamic_cond_resched_enabled()` below is C's
// `struct jump_entry` with relative references (`JUMP_TABLE_ENTRY()` in `asm/jump_label.h`): two
// `.long`s and a `.quad`, 8-aligned; the key's `struct static_key` is at the start of the
// `struct static_key_true`, so the entry's key is the symbol itself (branch bit 0).
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_HAVE_PREEMPT_DYNAMIC_KEY))]
crate::entry_asm_layout!(jump_entry {
    code: 0, 4;
    target: 4, 4;
    key: 8, 8;
} size 16, "dynamic_cond_resched_enabled()");
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_HAVE_PREEMPT_DYNAMIC_KEY))]
const _: () = assert!(
    bindings::ENTRY_OFFSETOF_static_key_true__key == 0,
    "entry layout: the key of struct static_key_true is not at its start"
);

/// C `static_branch_unlikely(&sk_dynamic_irqentry_exit_cond_resched)`: whether the preemption
/// model preempts on interrupt return (`full`, `lazy`; switched by `preempt=`).
///
/// The key is a `static_key_true`, which C tests with `arch_static_branch_jump(key, false)`: a
/// branch to the `true` arm, as the key starts enabled, and its `__jump_table` entry, from which
/// `static_key_disable()` patches a `nop` over the branch (and `static_key_enable()` the branch
/// back). The same instruction and entry here (layout checked above), so the boot code and
/// `preempt=` switch both alike.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_HAVE_PREEMPT_DYNAMIC_KEY))]
#[inline(always)]
pub fn dynamic_cond_resched_enabled() -> bool {
    // SAFETY: A branch to the label operand (or the `nop` patched over it); the entry only tells
    // the jump label code what to patch.
    unsafe {
        crate::asm!(
            concat!(
                "1: b {yes}\n",
                ".pushsection __jump_table, \"aw\"\n",
                ".align 3\n",
                ".long 1b - ., {yes} - .\n",
                ".quad {key} - .\n",
                ".popsection",
            );
            key = sym bindings::sk_dynamic_irqentry_exit_cond_resched,
            yes = label { return true; },
            options(nomem, nostack, preserves_flags)
        );
    }
    false
}

/// C `irqentry_exit_cond_resched()` with `PREEMPT_DYNAMIC` on arm64
/// (`HAVE_PREEMPT_DYNAMIC_KEY`): a call of `dynamic_irqentry_exit_cond_resched()` (Rust, in
/// `kernel/entry/entry_rs.rs`), which tests the static key `sk_dynamic_irqentry_exit_cond_resched`
/// and runs the body of `raw_irqentry_exit_cond_resched()`.
///
/// Interrupts disabled (`_off`), returning to a kernel context that can be preempted.
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_PREEMPT_DYNAMIC))]
#[inline(always)]
pub fn irqentry_exit_cond_resched_dynamic(_ins: &Instr, _off: &IrqsOff) {
    #[cfg(not(CONFIG_HAVE_PREEMPT_DYNAMIC_KEY))]
    compile_error!("RUST_GENERIC_ENTRY supports PREEMPT_DYNAMIC on arm64 only with static keys");

    // SAFETY: Inside a region (`_ins`), interrupts disabled (`_off`), which is all the function
    // needs.
    unsafe { bindings::dynamic_irqentry_exit_cond_resched() };
}
