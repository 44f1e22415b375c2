// SPDX-License-Identifier: GPL-2.0

//! What the entry code needs from the architecture, in one place.
//!
//! The modules beside this one hold the generic logic of `include/linux/irq-entry-common.h`
//! and `kernel/entry/common.c`; everything they need that differs between architectures comes
//! from here, so that a second architecture adds a module next to `x86.rs` and changes none of
//! them. An architecture module provides:
//!
//! * per-CPU access: `arch_this_cpu_read_u32!(sym, offset)` (behind the checked
//!   `this_cpu_read_u32!()` below), `hardirq_context_inc()`/`_dec()` (`TRACE_IRQFLAGS`);
//! * the preemption count: `preempt_count_raw()`, `PREEMPT_NEED_RESCHED` (the bits of the raw
//!   count that are not the count, 0 where the architecture folds nothing in), and
//!   `preempt_count_add_nmi()`/`preempt_count_sub_nmi()`;
//! * `current()`, `this_ip()` and `raw_smp_processor_id()` (`NO_HZ_FULL`);
//! * the interrupt flag: `native_irqs_disabled()`, `raw_local_irq_enable()`/`_disable()`;
//! * the saved registers: `PtRegs::user_mode()` and `PtRegs::irqs_disabled()`;
//! * the hooks of `irq-entry-common.h`: `arch_enter_from_user_mode()`,
//!   `arch_exit_to_user_mode_prepare()`, `arch_exit_to_user_mode_work()`,
//!   `arch_exit_to_user_mode()`, `arch_irqentry_exit_need_resched()`, `arch_in_rcu_eqs()`, and
//!   `on_thread_stack()` for `DEBUG_ENTRY`;
//! * the hooks of `hardirq.h`: `arch_nmi_enter()`/`arch_nmi_exit()`;
//! * `irqentry_exit_cond_resched_dynamic()`, the `PREEMPT_DYNAMIC` form of the cond-resched call
//!   (a static call on x86, a static key on arm64).
//!
//! Everything here is `#[inline(always)]` and compiles to the instructions C emits for the same
//! operation, or to a call of a C shim where only C can emit them (alternatives, paravirt
//! operations); each such shim says why.

#[cfg(CONFIG_X86_64)]
mod x86;
#[cfg(CONFIG_X86_64)]
pub use x86::*;

#[cfg(CONFIG_ARM64)]
mod arm64;
#[cfg(CONFIG_ARM64)]
pub use arm64::*;

/// Reads a 32-bit per-CPU variable, or a 32-bit member of a per-CPU struct
/// (C `this_cpu_read()`/`raw_cpu_read()` of an `int`, `raw_atomic_read(this_cpu_ptr(...))`).
///
/// `this_cpu_read_u32!(var)` reads `bindings::var`; `this_cpu_read_u32!(var, s.member)` reads
/// `member` of `bindings::var`, a `struct s`. The size of the variable or member and the offset
/// of the member are checked against C at build time (`layout.rs`); the load is the
/// architecture's (`arch_this_cpu_read_u32!`).
///
/// A macro rather than a function because the symbol must be a `sym` operand.
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_macros))]
macro_rules! this_cpu_read_u32 {
    ($v:ident) => {{
        $crate::entry_var_size!($v, 4);
        $crate::entry::arch::arch_this_cpu_read_u32!($crate::bindings::$v, 0)
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
        $crate::entry::arch::arch_this_cpu_read_u32!(
            $crate::bindings::$v,
            $crate::entry_offset_of!($s, $name)
        )
    }};
}

#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_imports))]
pub(crate) use this_cpu_read_u32;
