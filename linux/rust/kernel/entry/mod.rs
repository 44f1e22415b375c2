// SPDX-License-Identifier: GPL-2.0

//! Building blocks for the generic entry code (x86_64, arm64).
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
//! * and, inside an instrumentation region (opened by the typed contexts of `irq` and `nmi`),
//!   anything.
//!
//! The types in [`instr`] turn the last rule into a compile-time check: every wrapper of an
//! instrumentable C function takes an [`Instr`] token, which only exists inside an
//! instrumentation region or in ordinary (instrumentable) code.
//!
//! Nothing here may panic: no indexing, no `unwrap()`, and only `wrapping_*` arithmetic. A panic
//! path is a call to `core::panicking`, which is in `.text`, and objtool reports it.
//!
//! All per-CPU accesses are inline assembly of the architecture module ([`arch`]; `%gs`-relative
//! on x86_64, `tpidr_el1`/`tpidr_el2`-relative on arm64), exactly like the C accessors, so no
//! `rust_helper_*` (which lives in `.text` and may be sanitized) is ever called from here.
//!
//! The modules, by concept:
//!
//! * [`instr`]: `noinstr` and instrumentation regions as tokens;
//! * `irqflags`: the interrupt state as tokens (`IrqsOff`, `ToUser`, `IrqsOn`);
//! * `irq` and `nmi`: the ordered steps of an interrupt and of an NMI as typed contexts;
//! * `lockdep`: lockdep and irq tracing;
//! * `ct`: context tracking and RCU;
//! * [`preempt`]: the preemption count and its NMI accounting;
//! * [`work`]: the current task's thread flags and the work done on the way to user mode;
//! * `virt`: the work done before a vCPU's task enters guest mode;
//! * [`rseq`]: restartable sequences on entry and exit;
//! * `sud`: syscall user dispatch (a task's configuration, its selector, the `SIGSYS`);
//! * `syscall`: the work of a system call on entry and exit (ptrace, seccomp, audit, ...) as
//!   typed steps;
//! * [`regs`]: the saved registers and `irqentry_state_t`;
//! * [`layout`]: the build-time check of every C layout used here;
//! * [`arch`]: everything that differs between architectures.
//!
//! Members of C structs are only reached through [`entry_field!`] and [`entry_offset_of!`],
//! which check bindgen's layout against the C compiler's at build time (see [`layout`]).
//!
//! [`entry_field!`]: crate::entry_field
//! [`entry_offset_of!`]: crate::entry_offset_of
//!
//! [`macros::noinstr`]: ../../macros/attr.noinstr.html

// By concept. What differs between architectures is in `arch`, nothing else holds `asm!`
// other than `instr` (objtool's annotations). Only read-only queries are public without
// `CONFIG_RUST_GENERIC_ENTRY` (the KUnit suite and the sample test the C implementation too).
pub mod arch;
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
pub mod preempt;
pub mod regs;
pub mod rseq;
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_SYSCALL_USER_DISPATCH))]
pub mod sud;
// The system call work of `entry-common.h`: `GENERIC_ENTRY` only (arm64 has its own).
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_GENERIC_ENTRY))]
pub mod syscall;
#[cfg(all(CONFIG_RUST_GENERIC_ENTRY, CONFIG_VIRT_XFER_TO_GUEST_WORK))]
pub mod virt;
pub mod work;

pub use arch::{
    current,
    native_irqs_disabled,
    this_ip, //
};
pub use instr::{Instr, Noinstr};
pub use regs::{IrqEntryState, PtRegs};
