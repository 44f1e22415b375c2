// SPDX-License-Identifier: GPL-2.0

//! Build-time checks of bindgen's layout of the C data that entry code reaches.
//!
//! C list: [`kernel/entry/entry_rs_layout.h`](srctree/kernel/entry/entry_rs_layout.h).
//!
//! The kernel runs bindgen with `--no-layout-tests`, so a struct that bindgen lays out
//! differently from the C compiler goes unnoticed until the wrong memory is read or written.
//! bindgen 0.73.0 to 0.73.2 do that to `struct task_struct` with `CONFIG_SCHEDSTATS=n`: they give
//! the empty, cache line aligned `stats` member no alignment, so every later member (`pid`,
//! `nvcsw`, `hardirq_threaded`, `lockdep_recursion`, `rseq`, ...) is 48 bytes early on x86_64.
//!
//! The C list names every struct member the entry code, its KUnit suite and the entry probe
//! sample read or write; `rust/bindings/bindings_helper.h` turns it into constants computed by
//! the C compiler (`offsetof()`, `sizeof_field()`, `sizeof()`, `__alignof__()`, like
//! `asm-offsets.c`). The macros here are the only way that code reaches a C struct member:
//!
//! - [`entry_field!`](crate::entry_field) gives a raw pointer to a member,
//! - [`entry_offset_of!`](crate::entry_offset_of) gives its offset (for `%gs`-relative asm),
//! - [`entry_struct!`](crate::entry_struct) checks a struct that is created or copied whole.
//!
//! Each expands to `const` items that compare bindgen's `offset_of!()`/`size_of()` with the C
//! values, so a member bindgen misplaces fails the build, and a member missing from the C list
//! does not compile (the constant it needs does not exist). The constants are named
//! `ENTRY_OFFSETOF_<struct>__<name>`, `ENTRY_SIZEOF_<struct>__<name>`, `ENTRY_SIZEOF_<struct>`,
//! `ENTRY_ALIGNOF_<struct>` and `ENTRY_VAR_SIZEOF_<variable>`.
//!
//! The checks are `const` items, not inline `const` blocks: rustc evaluates every `const` item
//! of a crate, while an inline `const` block of a function that is never instantiated (an
//! unused `#[inline(always)]` function of this crate) would not be evaluated at all.

/// The size of the type `T` that `_p` points to. Only for the layout checks.
#[doc(hidden)]
pub const fn pointee_size<T>(_p: *const T) -> usize {
    core::mem::size_of::<T>()
}

/// Checks bindgen's size and alignment of `struct $s` against C. Expands to a `const` item.
///
/// Use it where a struct is created, zeroed or copied as a whole in Rust; [`entry_field!`] and
/// [`entry_offset_of!`] include it.
///
/// [`entry_field!`]: crate::entry_field
/// [`entry_offset_of!`]: crate::entry_offset_of
#[macro_export]
macro_rules! entry_struct {
    ($s:ident) => {
        $crate::macros::paste! {
            const _: () = ::core::assert!(
                ::core::mem::size_of::<$crate::bindings::$s>()
                    == $crate::bindings::[<ENTRY_SIZEOF_ $s>]
                    && ::core::mem::align_of::<$crate::bindings::$s>()
                        == $crate::bindings::[<ENTRY_ALIGNOF_ $s>],
                ::core::concat!(
                    "entry layout: bindgen's struct ",
                    ::core::stringify!($s),
                    " differs from C in size or alignment"
                )
            );
        }
    };
}

/// Checks the size of the C variable `$v` against `$size`, the width of the instructions that
/// access it. Expands to a `const` item.
#[macro_export]
macro_rules! entry_var_size {
    ($v:ident, $size:expr) => {
        $crate::macros::paste! {
            const _: () = ::core::assert!(
                $crate::bindings::[<ENTRY_VAR_SIZEOF_ $v>] == $size,
                ::core::concat!(
                    "entry layout: C variable ",
                    ::core::stringify!($v),
                    " does not have the size its accessor assumes"
                )
            );
        }
    };
}

/// Checks that C lays out `struct $s` as assembly of this crate emits it as data (an
/// `.altinstructions` or `__jump_table` record, which bindgen sees as opaque): each listed
/// member at the given offset with the given size, and the struct of the given size. Expands to
/// a `const` item; `$by` names what emits the record.
///
/// # Examples
///
/// ```ignore
/// entry_asm_layout!(jump_entry { code: 0, 4; target: 4, 4; key: 8, 8 } size 16, "my_asm()");
/// ```
#[macro_export]
macro_rules! entry_asm_layout {
    ($s:ident { $($name:ident: $off:literal, $size:literal);+ $(;)? } size $total:literal,
     $by:literal) => {
        $crate::macros::paste! {
            const _: () = ::core::assert!(
                $($crate::bindings::[<ENTRY_OFFSETOF_ $s __ $name>] == $off
                    && $crate::bindings::[<ENTRY_SIZEOF_ $s __ $name>] == $size
                    &&)+ $crate::bindings::[<ENTRY_SIZEOF_ $s>] == $total,
                ::core::concat!(
                    "entry layout: struct ",
                    ::core::stringify!($s),
                    " is not what ",
                    $by,
                    " emits"
                )
            );
        }
    };
}

/// Checks bindgen's offset and size of the member `$name` of `struct $s` against C. Expands to
/// `const` items. `$path` is the member as bindgen names it (anonymous unions and structs become
/// `__bindgen_anon_N`), `$name` its name in the C list.
#[doc(hidden)]
#[macro_export]
macro_rules! __entry_field_check {
    ($s:ident, $name:ident, $($path:ident).+) => {
        $crate::entry_struct!($s);
        $crate::macros::paste! {
            const _: () = ::core::assert!(
                ::core::mem::offset_of!($crate::bindings::$s, $($path).+)
                    == $crate::bindings::[<ENTRY_OFFSETOF_ $s __ $name>],
                ::core::concat!(
                    "entry layout: bindgen's offset of ",
                    ::core::stringify!($s),
                    ".",
                    ::core::stringify!($name),
                    " differs from C offsetof()"
                )
            );
            const _: () = {
                let s = ::core::mem::MaybeUninit::<$crate::bindings::$s>::uninit();
                // SAFETY: Only the address of the member is computed; nothing is read.
                let member = unsafe { &raw const (*s.as_ptr()).$($path).+ };
                ::core::assert!(
                    $crate::entry::layout::pointee_size(member)
                        == $crate::bindings::[<ENTRY_SIZEOF_ $s __ $name>],
                    ::core::concat!(
                        "entry layout: bindgen's size of ",
                        ::core::stringify!($s),
                        ".",
                        ::core::stringify!($name),
                        " differs from C sizeof()"
                    )
                );
            };
        }
    };
}

/// A raw pointer to a member of a C struct, checked against the C layout at build time.
///
/// `entry_field!(ptr, s, name)` is `&raw mut (*ptr).name` for `ptr: *mut bindings::s` (or
/// `&mut bindings::s`); `entry_field!(ptr, s, name: path.to.member)` names the member as
/// bindgen does when that differs from C (members of anonymous unions and structs). The build
/// fails if `name` is not in `kernel/entry/entry_rs_layout.h` for `struct s`, or if bindgen's
/// offset or size of the member, or of `struct s`, differs from C.
///
/// It dereferences `ptr` without reading through it, so it must be used in an `unsafe` block
/// whose safety comment says why `ptr` points to a valid `struct s`.
///
/// In this crate, access the member with `read()` and `write()`, not `*`: with
/// `CONFIG_RUST_DEBUG_ASSERTIONS` a `*` on a raw pointer gets alignment and null checks that call
/// into `core::panicking` (`.text`), and they stay in the code inlined into `noinstr` functions.
///
/// # Examples
///
/// ```ignore
/// // SAFETY: `current()` is the valid current task.
/// let nvcsw = unsafe { entry_field!(current(), task_struct, nvcsw).read() };
/// ```
#[macro_export]
macro_rules! entry_field {
    ($ptr:expr, $s:ident, $name:ident) => {
        $crate::entry_field!($ptr, $s, $name: $name)
    };
    ($ptr:expr, $s:ident, $name:ident: $($path:ident).+) => {{
        $crate::__entry_field_check!($s, $name, $($path).+);
        let ptr: *mut $crate::bindings::$s = $ptr;
        &raw mut (*ptr).$($path).+
    }};
}

/// The offset of a member of a C struct, checked against the C layout at build time.
///
/// Same arguments and checks as [`entry_field!`](crate::entry_field), without the pointer; a
/// constant expression, for `%gs`-relative accesses to members of per-CPU structs.
#[macro_export]
macro_rules! entry_offset_of {
    ($s:ident, $name:ident) => {
        $crate::entry_offset_of!($s, $name: $name)
    };
    ($s:ident, $name:ident: $($path:ident).+) => {{
        $crate::__entry_field_check!($s, $name, $($path).+);
        ::core::mem::offset_of!($crate::bindings::$s, $($path).+)
    }};
}

// `kernel::task::Task::pid()` reads `task_struct.pid` through bindgen's layout. The entry code
// does not use it, but `pid` is past `stats` too: check it in every build of the series.
const _: usize = crate::entry_offset_of!(task_struct, pid);
