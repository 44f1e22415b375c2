// SPDX-License-Identifier: GPL-2.0

//! Instrumentation regions as a typed API.
//!
//! C header: [`include/linux/instrumentation.h`](srctree/include/linux/instrumentation.h).
//!
//! In C, `instrumentation_begin()` and `instrumentation_end()` bracket the parts of a `noinstr`
//! function that may call instrumentable code; objtool (`--noinstr`) checks every call against
//! those brackets. Here the brackets are the entry and exit of
//! `Noinstr::instrumentation()`, and the permission to call instrumentable code is the [`Instr`]
//! token the closure receives. Wrappers of instrumentable C functions take `&Instr`, so calling
//! one outside a region does not compile.
//!
//! In the entry functions the region is opened through the typed contexts of [`super::irq`] and
//! [`super::nmi`], whose `instrumentation()` exists only in the states in which RCU watches.
//! The kernel's doctest runner does not compile `compile_fail` examples, so the misuses are
//! shown by host-side compile-fail tests that build against this crate, each failing with one
//! pinned error code next to a twin that compiles. The shape of a region:
//!
//! ```ignore
//! // Inside the `kernel` crate: `Noinstr::instrumentation()` is crate-private.
//! use kernel::entry::{lockdep, Noinstr};
//!
//! fn noinstr_body(ni: &Noinstr) {
//!     ni.instrumentation(|ins| {
//!         // SAFETY: Interrupts are disabled and lockdep was told so before.
//!         unsafe { lockdep::trace_hardirqs_off_finish(ins) };
//!     });
//! }
//! ```
//!
//! Neither token is `Copy`, `Clone`, `Send` or `Sync`, and [`Instr`] can only be borrowed from
//! inside the closure: the closure's signature is `for<'a> FnOnce(&'a Instr) -> R`, so the
//! reference cannot be returned from the region.

use core::marker::PhantomData;

/// objtool annotation type for the start of an instrumentation region.
///
/// `ANNOTYPE_INSTR_BEGIN` in `include/linux/objtool_types.h`.
pub const ANNOTYPE_INSTR_BEGIN: u32 = 3;

/// objtool annotation type for the end of an instrumentation region.
///
/// `ANNOTYPE_INSTR_END` in `include/linux/objtool_types.h`.
pub const ANNOTYPE_INSTR_END: u32 = 4;

const _: () = assert!(ANNOTYPE_INSTR_BEGIN == crate::bindings::ANNOTYPE_INSTR_BEGIN);
const _: () = assert!(ANNOTYPE_INSTR_END == crate::bindings::ANNOTYPE_INSTR_END);

/// Proof that the code holding it runs in a non-instrumentable context.
///
/// Created once at the top of a `#[noinstr]` function and passed by reference to the
/// `#[inline(always)]` helpers it uses.
pub struct Noinstr {
    _not_send_sync: PhantomData<*mut ()>,
}

/// Permission to call instrumentable code.
///
/// Obtained from `Noinstr::instrumentation()` inside a `noinstr` function, or with
/// [`Instr::assume_instrumentable`] in ordinary `.text` code (e.g. `exit_to_user_mode_loop()`).
pub struct Instr {
    _not_send_sync: PhantomData<*mut ()>,
}

/// Marks the start of an instrumentation region for objtool (C `instrumentation_begin()`).
///
/// Emits `NNN: nop` and a `.discard.annotate_insn` record `.long NNN - ., 3`, exactly like
/// `__instrumentation_begin()` with `ANNOTATE_INSTR_BEGIN()` (`include/linux/annotate.h`:
/// `.pushsection .discard.annotate_insn, "M", @progbits, 8`). The label is a numeric local label,
/// so the block can be duplicated by inlining.
///
/// Emitted where something reads the records: objtool with `NOINSTR_VALIDATION` (x86), and
/// `scripts/rust_noinstr_check.py` with `RUST_GENERIC_ENTRY_NOINSTR_CHECK`, which architectures
/// without objtool (arm64) enable on their own; C emits none there.
#[inline(always)]
fn instrumentation_begin() {
    #[cfg(any(CONFIG_NOINSTR_VALIDATION, CONFIG_RUST_GENERIC_ENTRY_NOINSTR_CHECK))]
    // SAFETY: Emits a `nop` and a record in a discarded section. It touches no register, memory
    // or flag. Without `nomem` the compiler treats it as a memory barrier, so no memory access
    // or call is moved across it, which keeps the region boundaries where the source puts them.
    unsafe {
        crate::asm!(concat!(
            "9031: nop\n",
            ".pushsection .discard.annotate_insn, \"M\", @progbits, 8\n",
            ".long 9031b - ., {ty}\n",
            ".popsection\n"
        );
            ty = const ANNOTYPE_INSTR_BEGIN,
            options(nostack, preserves_flags)
        );
    }
}

/// Marks the end of an instrumentation region for objtool (C `instrumentation_end()`).
///
/// Like [`instrumentation_begin`] with type 4. The `nop` is required: it keeps the end marker
/// inside a conditional block (see the comment in `include/linux/instrumentation.h`).
#[inline(always)]
fn instrumentation_end() {
    #[cfg(any(CONFIG_NOINSTR_VALIDATION, CONFIG_RUST_GENERIC_ENTRY_NOINSTR_CHECK))]
    // SAFETY: See `instrumentation_begin()`.
    unsafe {
        crate::asm!(concat!(
            "9032: nop\n",
            ".pushsection .discard.annotate_insn, \"M\", @progbits, 8\n",
            ".long 9032b - ., {ty}\n",
            ".popsection\n"
        );
            ty = const ANNOTYPE_INSTR_END,
            options(nostack, preserves_flags)
        );
    }
}

impl Noinstr {
    /// Creates the token.
    ///
    /// # Safety
    ///
    /// The caller must be a `#[noinstr]` function (placed in `.noinstr.text`), or code that is
    /// only ever inlined into one, and must not be inside an instrumentation region.
    #[inline(always)]
    pub const unsafe fn assume() -> Self {
        Self {
            _not_send_sync: PhantomData,
        }
    }

    /// Runs `f` inside an instrumentation region.
    ///
    /// Ordering: the begin marker is placed before, and the end marker after, every instruction
    /// of `f`; the markers are compiler barriers, so no memory access or call of `f` is moved
    /// out of the region and no access of the caller is moved into it.
    ///
    /// Regions can nest, as in C.
    ///
    /// `f` is expected to be inlined (it is called exactly once). If the compiler outlines it,
    /// the call is still inside the region, so objtool accepts it, but its body is then in
    /// `.text` rather than `.noinstr.text` (kprobe-able), like an instrumentable callee.
    ///
    /// Crate-private: the entry code opens regions only through the typed contexts of
    /// [`super::irq`] and [`super::nmi`], whose `instrumentation()` exists only while RCU watches.
    #[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn instrumentation<R>(&self, f: impl FnOnce(&Instr) -> R) -> R {
        instrumentation_begin();
        let ret = f(&Instr {
            _not_send_sync: PhantomData,
        });
        instrumentation_end();
        ret
    }
}

impl Instr {
    /// Creates the token in instrumentable code.
    ///
    /// # Safety
    ///
    /// The caller must be ordinary, instrumentable code (in `.text`), never code placed in or
    /// inlined into `.noinstr.text` outside an instrumentation region.
    #[inline(always)]
    pub const unsafe fn assume_instrumentable() -> Self {
        Self {
            _not_send_sync: PhantomData,
        }
    }
}

/// Defines the wrapper of a C shim that is instrumentable and needs nothing but a region and
/// the interrupt state a token proves: the wrapper is safe, the tokens are its preconditions.
///
/// ```ignore
/// instr_shim!(
///     /// What the C function does, and why it is C.
///     name(TokenType) => entry_rs_c_function(arg: RustType => expression_for_c),
/// );
/// ```
///
/// The generated `pub fn name(_ins: &Instr, _irqs: &TokenType, arg: RustType)` calls
/// `bindings::entry_rs_c_function(expression_for_c)`.
#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_macros))]
macro_rules! instr_shim {
    (
        $(#[$m:meta])*
        $name:ident($tok:ty) => $c:ident ( $($arg:ident : $ty:ty => $conv:expr),* ) $(-> $ret:ty)?
    ) => {
        $(#[$m])*
        ///
        /// Instrumentable: needs an [`Instr`](crate::entry::Instr) token.
        #[inline(always)]
        pub fn $name(
            _ins: &$crate::entry::Instr,
            _irqs: &$tok
            $(, $arg: $ty)*
        ) $(-> $ret)? {
            // SAFETY: Inside an instrumentation region (`_ins`), interrupts as the C function
            // needs them (`_irqs`); the C function has no other precondition.
            unsafe { $crate::bindings::$c($($conv),*) }
        }
    };
}

#[cfg_attr(not(CONFIG_RUST_GENERIC_ENTRY), allow(unused_imports))]
pub(crate) use instr_shim;
