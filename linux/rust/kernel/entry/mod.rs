// SPDX-License-Identifier: GPL-2.0

//! Building blocks for the generic entry code (x86_64).
//!
//! C header: [`include/linux/irq-entry-common.h`](srctree/include/linux/irq-entry-common.h).
//! Documentation: [`Documentation/core-api/entry.rst`](srctree/Documentation/core-api/entry.rst).
//!
//! Entry code runs before the kernel has established the state that tracing, lockdep, RCU and
//! the sanitizers rely on. Such code lives in `.noinstr.text` (see [`macros::noinstr`]) and may
//! only call:
//!
//! * `#[inline(always)]` functions that compile to plain instructions (the accessors in this
//!   module),
//! * out-of-line C functions that are themselves `noinstr` (`ct_irq_enter()`,
//!   `lockdep_hardirqs_off()`, ...),
//! * and, inside an instrumentation region ([`Noinstr::instrumentation`]), anything.
//!
//! The types in [`instr`] turn the last rule into a compile-time check: every wrapper of an
//! instrumentable C function takes an [`Instr`] token, which only exists inside an
//! instrumentation region or in ordinary (instrumentable) code.
//!
//! Nothing here may panic: no indexing, no `unwrap()`, and only `wrapping_*` arithmetic. A panic
//! path is a call to `core::panicking`, which is in `.text`, and objtool reports it.
//!
//! All per-CPU accesses use `%gs`-relative inline assembly, exactly like the C accessors, so no
//! `rust_helper_*` (which lives in `.text` and may be sanitized) is ever called from here.
//!
//! Members of C structs are only reached through [`entry_field!`] and [`entry_offset_of!`],
//! which check bindgen's layout against the C compiler's at build time (see [`layout`]).
//!
//! [`entry_field!`]: crate::entry_field
//! [`entry_offset_of!`]: crate::entry_offset_of
//!
//! [`macros::noinstr`]: ../../macros/attr.noinstr.html

#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
pub mod ct;
pub mod instr;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
pub mod irq;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
pub mod irqflags;
pub mod layout;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
pub mod lockdep;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
pub mod nmi;
pub mod percpu;
pub mod regs;
#[cfg(CONFIG_RUST_GENERIC_ENTRY)]
pub mod shims;
pub mod work;

pub use instr::{Instr, Noinstr};
pub use regs::{IrqEntryState, PtRegs};

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
