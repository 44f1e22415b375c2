// SPDX-License-Identifier: GPL-2.0

//! noinstr-safe per-CPU accessors for x86_64.
//!
//! C headers: [`arch/x86/include/asm/percpu.h`](srctree/arch/x86/include/asm/percpu.h),
//! [`arch/x86/include/asm/preempt.h`](srctree/arch/x86/include/asm/preempt.h),
//! [`arch/x86/include/asm/current.h`](srctree/arch/x86/include/asm/current.h).
//!
//! Every accessor is a single `%gs`-relative instruction emitted with `asm!` and a `sym` operand,
//! the same instruction the C `raw_cpu_*()`/`this_cpu_*()` macros produce. Per-CPU data is not
//! zero-based any more on x86_64, so the operand is `%gs:sym(%rip)` (`PER_CPU_VAR()`), and plain
//! `sym(%rip)` on `!SMP`.
//!
//! These accessors are not atomic with respect to other CPUs and do not need to be: per-CPU
//! data is only written by its own CPU. They are single instructions, so an interrupt or NMI
//! sees either the old or the new value, and NMIs leave the data balanced.

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

// Used by `lockdep.rs` only when `CONFIG_TRACE_IRQFLAGS` compiles its per-CPU accesses in.
#[cfg_attr(not(CONFIG_TRACE_IRQFLAGS), allow(unused_imports))]
pub(crate) use pcpu;
// Used by `this_cpu_read_u32!()`, which only the entry code (`ct.rs`, `lockdep.rs`) uses.
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_imports, unused_macros))]
pub(crate) use pcpu_off;

// ---------------------------------------------------------------------------------------------
// preempt_count
// ---------------------------------------------------------------------------------------------

/// `PREEMPT_NEED_RESCHED`, the inverted need-resched bit folded into `__preempt_count` (MSB).
///
/// From its bit number: bindgen 0.72 does not translate the mask itself (above `i64::MAX`).
pub const PREEMPT_NEED_RESCHED: usize = 1 << bindings::ENTRY_PREEMPT_NEED_RESCHED_BIT;
/// `HARDIRQ_OFFSET`.
pub const HARDIRQ_OFFSET: usize = bindings::ENTRY_HARDIRQ_OFFSET;
/// `NMI_OFFSET`.
pub const NMI_OFFSET: usize = bindings::ENTRY_NMI_OFFSET;
/// `NMI_MASK`.
pub const NMI_MASK: usize = bindings::ENTRY_NMI_MASK;

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
pub fn preempt_count_raw() -> usize {
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

/// Returns the preemption count without the need-resched bit (C `preempt_count()`).
#[inline(always)]
pub fn preempt_count() -> usize {
    preempt_count_raw() & !PREEMPT_NEED_RESCHED
}

/// Returns true in NMI context (C `in_nmi()`).
#[inline(always)]
pub fn in_nmi() -> bool {
    preempt_count() & NMI_MASK != 0
}

/// Adds `NMI_OFFSET + HARDIRQ_OFFSET` to the preemption count.
///
/// C: `__preempt_count_nmi_enter()` → `__preempt_count_add(NMI_OFFSET + HARDIRQ_OFFSET)`.
///
/// # Safety
///
/// Must be balanced by [`preempt_count_nmi_exit`] on the same CPU, with interrupts disabled.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn preempt_count_nmi_enter() {
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
/// C: `__preempt_count_nmi_exit()` → `__preempt_count_sub(NMI_OFFSET + HARDIRQ_OFFSET)`.
///
/// # Safety
///
/// Must balance a previous [`preempt_count_nmi_enter`] on the same CPU.
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
#[inline(always)]
pub(crate) unsafe fn preempt_count_nmi_exit() {
    // SAFETY: See `preempt_count_nmi_enter()`.
    unsafe {
        crate::asm!(concat!("subq ${val}, ", pcpu!("pc"));
            pc = sym bindings::__preempt_count,
            val = const NMI_OFFSET + HARDIRQ_OFFSET,
            options(nostack)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// current, thread flags
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

// Members of `task_struct` (and of the other C structs) are reached through
// `entry_field!()`, which checks bindgen's layout against C at build time (see `layout.rs`).

/// Returns the current task's count of involuntary context switches (C `current->nivcsw`).
#[inline(always)]
pub fn current_nivcsw() -> usize {
    // SAFETY: `current()` is a valid task; `nivcsw` is an `unsigned long` that the scheduler
    // updates on this CPU only; a volatile read is `READ_ONCE()`.
    unsafe { core::ptr::read_volatile(crate::entry_field!(current(), task_struct, nivcsw)) }
}

/// Reads the current task's thread flags (C `read_thread_flags()`, a `READ_ONCE()`).
#[inline(always)]
pub fn read_thread_flags() -> usize {
    // SAFETY: `current()` is a valid task; `thread_info` is embedded in it
    // (`THREAD_INFO_IN_TASK`). Volatile read = `READ_ONCE()`; other CPUs set bits atomically.
    unsafe {
        core::ptr::read_volatile(crate::entry_field!(
            current(),
            task_struct,
            thread_info_flags: thread_info.flags
        ))
    }
}

/// Atomically clears the bits of `mask` in the current task's thread flags (C
/// `clear_thread_flag()`, a `lock and` on x86).
///
/// The C version is an instrumented atomic bitop (KASAN/KCSAN see it); this one is not, like
/// every access of the Rust entry object.
#[inline(always)]
pub fn clear_thread_flags(mask: usize) {
    // SAFETY: `current()` is a valid task whose `thread_info.flags` is an `unsigned long`
    // (layout checked by `entry_field!()`), suitably aligned, and written by other CPUs only
    // atomically, so an atomic view of it is sound.
    let flags = unsafe {
        core::sync::atomic::AtomicUsize::from_ptr(crate::entry_field!(
            current(),
            task_struct,
            thread_info_flags: thread_info.flags
        ))
    };
    flags.fetch_and(!mask, core::sync::atomic::Ordering::Relaxed);
}

/// Returns true if `TIF_NEED_RESCHED` is set for the current task (C `need_resched()`).
#[inline(always)]
pub fn need_resched() -> bool {
    read_thread_flags() & bindings::ENTRY_TIF_NEED_RESCHED != 0
}

/// C `current->rseq.event.user_irq`: the task entered the kernel from user mode through an
/// interrupt or exception since its last return (set by `rseq_note_user_irq_entry()`).
#[cfg(CONFIG_RSEQ)]
#[inline(always)]
pub fn rseq_user_irq_noted() -> bool {
    // SAFETY: `current()` is a valid task and the member's offset is checked against C
    // (`entry_field!`). Only the task itself writes it; C reads it plainly.
    unsafe {
        crate::entry_field!(
            current(),
            task_struct,
            rseq_event_user_irq: rseq
                .event
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .user_irq
        )
        .read()
            != 0
    }
}

/// C `atomic_long_read(&current->unwind_info.unwind_mask)`: non-zero once a deferred user
/// stack unwind was requested for the task.
#[cfg(CONFIG_UNWIND_USER)]
#[inline(always)]
pub fn unwind_mask() -> i64 {
    // SAFETY: `current()` is a valid task and the member's offset is checked against C
    // (`entry_field!`). Other tasks change the mask with atomic operations; a volatile read is
    // `atomic_long_read()`.
    unsafe {
        crate::entry_field!(
            current(),
            task_struct,
            unwind_mask: unwind_info.unwind_mask.counter
        )
        .read_volatile()
    }
}

/// Returns true if the current task is an idle task (C `is_idle_task(current)`).
#[inline(always)]
pub fn is_idle_task_current() -> bool {
    // SAFETY: `current()` is a valid task. `flags` only changes in task context of the task
    // itself, a plain read is what C does.
    unsafe { crate::entry_field!(current(), task_struct, flags).read() & bindings::PF_IDLE != 0 }
}

// ---------------------------------------------------------------------------------------------
// Generic 32-bit per-CPU helpers used by lockdep and context tracking.
// ---------------------------------------------------------------------------------------------

/// Reads a 32-bit per-CPU variable, or a 32-bit member of a per-CPU struct
/// (C `this_cpu_read()`/`raw_cpu_read()` of an `int`, `raw_atomic_read(this_cpu_ptr(...))`).
///
/// `this_cpu_read_u32!(var)` reads `bindings::var`; `this_cpu_read_u32!(var, s.member)` reads
/// `member` of `bindings::var`, a `struct s`. The size of the variable or member and the offset
/// of the member are checked against C at build time (`layout.rs`).
///
/// A macro rather than a function because the symbol must be a `sym` operand.
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_macros))]
macro_rules! this_cpu_read_u32 {
    ($v:ident) => {{
        $crate::entry_var_size!($v, 4);
        $crate::entry::percpu::this_cpu_read_u32!(@ $crate::bindings::$v, 0)
    }};
    ($v:ident, $s:ident . $name:ident) => {{
        // `bindings::$v` is a `struct $s`.
        const _: () = {
            let _: *const $crate::bindings::$s = &raw const $crate::bindings::$v;
        };
        $crate::macros::paste! {
            const _: () = ::core::assert!(
                $crate::bindings::[<ENTRY_SIZEOF_ $s __ $name>] == 4,
                "entry layout: this_cpu_read_u32!() of a member that is not 32 bits wide"
            );
        }
        $crate::entry::percpu::this_cpu_read_u32!(@
            $crate::bindings::$v,
            $crate::entry_offset_of!($s, $name)
        )
    }};
    (@ $sym:path, $off:expr) => {{
        let v: u32;
        // SAFETY: Reads a 32-bit per-CPU variable of this CPU; `%gs` is the per-CPU base.
        #[allow(unused_unsafe)]
        unsafe {
            $crate::asm!(concat!("movl ", $crate::entry::percpu::pcpu_off!("s", "off"), ", {v:e}");
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
pub(crate) use this_cpu_read_u32;

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
