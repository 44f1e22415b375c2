// SPDX-License-Identifier: GPL-2.0

//! NMI-like entry and exit as typed steps.
//!
//! C: `irqentry_nmi_enter()`/`irqentry_nmi_exit()` in
//! [`kernel/entry/common.c`](srctree/kernel/entry/common.c), `__nmi_enter()`/`__nmi_exit()` in
//! [`include/linux/hardirq.h`](srctree/include/linux/hardirq.h). Documentation:
//! "NMI and NMI-like exceptions" in
//! [`Documentation/core-api/entry.rst`](srctree/Documentation/core-api/entry.rst).
//!
//! An NMI can hit anywhere, even in the middle of an entry or exit, so its entry establishes
//! the kernel's state in a fixed order and its exit undoes it in the reverse order. Each step
//! is a method that consumes the context in one state and returns it in the next, so the steps
//! can only be taken in that order, once each:
//!
//! ```text
//!  entry (down)                                      exit (up)
//!  Nmi<Sampled>
//!    | lockdep_off()                                 ^ lockdep_on(): done
//!  Nmi<LockdepOff>
//!    | arch_nmi_enter()                              ^ arch_nmi_exit()
//!  Nmi<ArchNmi>
//!    | preempt_count_nmi_enter()                     ^ preempt_count_nmi_exit()
//!  Nmi<InNmi>
//!    | lockdep_hardirqs_off()                        ^ lockdep_hardirqs_on()
//!  Nmi<HardirqsOff>
//!    | lockdep_hardirq_enter()                       ^ lockdep_hardirq_exit()
//!  Nmi<HardirqContext>
//!    | ct_nmi_enter()                                ^ ct_nmi_exit()
//!  Nmi<Watching>: instrumentation(|ins| ...)
//!    into_state() -> NmiState -> C -> Nmi::resume() -> Nmi<Watching>
//! ```
//!
//! The rules this makes compile-time errors:
//!
//! - **Order.** A step exists only on the state before it: calling `ct_nmi_enter()` before
//!   `lockdep_hardirq_enter()`, or `lockdep_on()` before `preempt_count_nmi_exit()`, is "no
//!   method found" (`E0599`).
//! - **Nothing instrumentable before RCU watches.** [`Nmi::instrumentation`] exists only on
//!   `Nmi<Watching>`, and its [`Instr`] token is borrowed from the context, so it cannot be used
//!   after `ct_nmi_exit()` has consumed the context (`E0505`).
//! - **Balanced pairs.** Dropping a context that has a pair open (any state but `Sampled`)
//!   stops the build (`E0080`, evaluated when the drop is compiled): every entry must end in
//!   [`Nmi::into_state`] and every exit in [`Nmi::lockdep_on`].
//! - **NMI state is not IRQ state.** [`NmiState`] (`irqentry_state_t.lockdep`) and
//!   [`IrqEntryState`] (`.exit_rcu`) are different types over the same C
//!   union: an IRQ state cannot be passed to the NMI exit (`E0308`).
//!
//! The host-side compile-fail tests of the lab (`lab/compile-fail/`) show each rule failing for
//! that reason only, each next to a twin that differs only in the rule and compiles.
//!
//! Every step is `#[inline(always)]` and compiles to what the C code does; the state markers
//! are zero-sized.

use super::{ct, lockdep, preempt, Instr, IrqEntryState, Noinstr};
use core::{marker::PhantomData, mem::ManuallyDrop};

mod private {
    pub trait Sealed {}
}

/// A step of the NMI entry/exit sequence (sealed; the markers below are the only ones).
pub trait Step: private::Sealed {
    /// Whether a context in this state has an enter/exit pair open, i.e. must not be dropped.
    const OPEN: bool;
}

macro_rules! steps {
    ($($(#[$m:meta])* $name:ident: $open:literal;)*) => {$(
        $(#[$m])*
        pub struct $name;
        impl private::Sealed for $name {}
        impl Step for $name {
            const OPEN: bool = $open;
        }
    )*};
}

steps! {
    /// Lockdep's view of the interrupted context was sampled; nothing is changed yet.
    Sampled: false;
    /// `lockdep_off()`: lockdep ignores this context (`current->lockdep_recursion`).
    LockdepOff: true;
    /// `arch_nmi_enter()`: the architecture's NMI state is set up (arm64 VHE hosts: `HCR_EL2.TGE`
    /// set; nothing on x86).
    ArchNmi: true;
    /// `__preempt_count_nmi_enter()`: the preempt count has `NMI_OFFSET + HARDIRQ_OFFSET`, so
    /// `in_nmi()` is true and tracers know not to recurse.
    InNmi: true;
    /// `lockdep_hardirqs_off()`: lockdep knows that interrupts are disabled.
    HardirqsOff: true;
    /// `lockdep_hardirq_enter()`: `hardirq_context` counts this NMI.
    HardirqContext: true;
    /// `ct_nmi_enter()`: RCU watches; instrumentable code may run inside a region.
    Watching: true;
}

/// An NMI entry or exit in progress, in state `S`.
///
/// Not `Send`/`Sync` (it holds a [`Noinstr`] reference): the steps run on one CPU.
#[must_use = "an NMI context with a pair open must be carried to its end"]
pub struct Nmi<'a, S: Step> {
    ni: &'a Noinstr,
    /// Lockdep's view before the NMI: were hardirqs enabled (`irqentry_state_t.lockdep`)?
    lockdep: bool,
    /// The entry function's address, for lockdep's `ip` arguments (C `CALLER_ADDR0`).
    ip: usize,
    _step: PhantomData<S>,
}

/// The state `irqentry_nmi_enter()` returns to C and `irqentry_nmi_exit()` gets back: whether
/// lockdep saw hardirqs enabled in the interrupted context (`irqentry_state_t.lockdep`).
///
/// A different type from [`IrqEntryState`] (`.exit_rcu`) although C uses one union for both.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NmiState(IrqEntryState);

const _: () = assert!(size_of::<NmiState>() == size_of::<crate::bindings::irqentry_state_t>());

impl NmiState {
    /// Whether lockdep saw hardirqs enabled before the NMI.
    #[inline(always)]
    pub const fn lockdep(self) -> bool {
        self.0.flag()
    }

    /// Converts to the C type, to return it from `irqentry_nmi_enter()`.
    #[inline(always)]
    pub const fn into_raw(self) -> crate::bindings::irqentry_state_t {
        self.0.into_raw()
    }

    /// Converts from the C type that `irqentry_nmi_exit()` gets. The value alone grants
    /// nothing: [`Nmi::resume`] is where the promise that it comes from the matching entry is
    /// made.
    #[inline(always)]
    pub fn from_raw(raw: crate::bindings::irqentry_state_t) -> Self {
        Self(IrqEntryState::from_raw(raw))
    }
}

impl<'a, S: Step> Nmi<'a, S> {
    /// Moves the context into the next state without running `Drop` for this one.
    #[inline(always)]
    fn step<T: Step>(self) -> Nmi<'a, T> {
        let this = ManuallyDrop::new(self);
        Nmi {
            ni: this.ni,
            lockdep: this.lockdep,
            ip: this.ip,
            _step: PhantomData,
        }
    }

    /// Whether lockdep saw hardirqs enabled before the NMI (C `irq_state.lockdep`).
    #[inline(always)]
    pub fn lockdep(&self) -> bool {
        self.lockdep
    }
}

impl<S: Step> Drop for Nmi<'_, S> {
    #[inline(always)]
    fn drop(&mut self) {
        const {
            assert!(
                !S::OPEN,
                "an NMI context was dropped with a pair open: end the entry with \
                 `into_state()` and the exit with `lockdep_on()`"
            )
        };
    }
}

// ---------------------------------------------------------------------------------------------
// Entry
// ---------------------------------------------------------------------------------------------

impl<'a> Nmi<'a, Sampled> {
    /// Starts an NMI entry: samples lockdep's view of the interrupted context
    /// (C `irq_state.lockdep = lockdep_hardirqs_enabled();`).
    ///
    /// # Safety
    ///
    /// Called once at the start of an NMI-like entry (NMI, #DB/#BP/#MC/#VC from kernel, #DF),
    /// with interrupts disabled by the hardware, before anything else of the entry.
    #[inline(always)]
    pub unsafe fn begin(ni: &'a Noinstr, ip: usize) -> Self {
        // INVARIANT: Nothing is changed yet; `Sampled` has no pair open.
        Nmi {
            ni,
            lockdep: lockdep::lockdep_hardirqs_enabled(),
            ip,
            _step: PhantomData,
        }
    }

    /// C `lockdep_off()`, the first step of `__nmi_enter()`.
    #[inline(always)]
    pub fn lockdep_off(self) -> Nmi<'a, LockdepOff> {
        // SAFETY: Balanced: `LockdepOff` is open, so the context must reach `lockdep_on()`.
        unsafe { lockdep::lockdep_off() };
        self.step()
    }
}

impl<'a> Nmi<'a, LockdepOff> {
    /// C `arch_nmi_enter()`, the second step of `__nmi_enter()`: what the architecture must do
    /// before anything else of the NMI runs (see [`arch`](super::arch)).
    #[inline(always)]
    pub fn arch_nmi_enter(self) -> Nmi<'a, ArchNmi> {
        // SAFETY: NMI-like entry with interrupts disabled (`begin()`), before the preempt count
        // says NMI; balanced by `arch_nmi_exit()`, which `ArchNmi` being open requires.
        unsafe { super::arch::arch_nmi_enter() };
        self.step()
    }
}

impl<'a> Nmi<'a, ArchNmi> {
    /// C `__preempt_count_nmi_enter()`: `in_nmi()` is true from here on. No tracer may run
    /// before this ("NMI vs Tracing" in `hardirq.h`).
    #[inline(always)]
    pub fn preempt_count_nmi_enter(self) -> Nmi<'a, InNmi> {
        // SAFETY: Interrupts are disabled (NMI, `begin()`); balanced by
        // `preempt_count_nmi_exit()`, which `InNmi` being open requires.
        unsafe { preempt::preempt_count_nmi_enter() };
        self.step()
    }
}

impl<'a> Nmi<'a, InNmi> {
    /// C `lockdep_hardirqs_off(CALLER_ADDR0)`.
    #[inline(always)]
    pub fn lockdep_hardirqs_off(self) -> Nmi<'a, HardirqsOff> {
        // SAFETY: NMIs run with interrupts disabled (`begin()`).
        unsafe { lockdep::lockdep_hardirqs_off(self.ip) };
        self.step()
    }
}

impl<'a> Nmi<'a, HardirqsOff> {
    /// C `lockdep_hardirq_enter()`.
    #[inline(always)]
    pub fn lockdep_hardirq_enter(self) -> Nmi<'a, HardirqContext> {
        // SAFETY: Interrupts are disabled; balanced by `lockdep_hardirq_exit()`.
        unsafe { lockdep::lockdep_hardirq_enter() };
        self.step()
    }
}

impl<'a> Nmi<'a, HardirqContext> {
    /// C `ct_nmi_enter()`: RCU watches from here on.
    #[inline(always)]
    pub fn ct_nmi_enter(self) -> Nmi<'a, Watching> {
        // SAFETY: In NMI context (`InNmi` came before); balanced by `ct_nmi_exit()`.
        unsafe { ct::ct_nmi_enter() };
        self.step()
    }
}

impl<'a> Nmi<'a, Watching> {
    /// Runs `f` inside an instrumentation region (C `instrumentation_begin()` ...
    /// `instrumentation_end()`). Only possible while RCU watches; the token `f` gets cannot
    /// outlive this borrow of the context, so it is gone before `ct_nmi_exit()`.
    #[inline(always)]
    pub fn instrumentation<R>(&self, f: impl FnOnce(&Instr) -> R) -> R {
        self.ni.instrumentation(f)
    }

    /// C `ftrace_nmi_enter()`: the hwlat and osnoise tracers' NMI callbacks.
    ///
    /// Empty without `HWLAT_TRACER` and `OSNOISE_TRACER` (no call, as the C inline).
    #[inline(always)]
    pub fn ftrace_nmi_enter(&self, ins: &Instr) {
        ftrace_nmi_callbacks(ins, true);
    }

    /// C `ftrace_nmi_exit()`: see [`Nmi::ftrace_nmi_enter`].
    #[inline(always)]
    pub fn ftrace_nmi_exit(&self, ins: &Instr) {
        ftrace_nmi_callbacks(ins, false);
    }

    /// C `trace_hardirqs_off_finish()`: the tracing part of "interrupts are off", once RCU
    /// watches.
    #[inline(always)]
    pub fn trace_hardirqs_off_finish(&self, ins: &Instr) {
        // SAFETY: Interrupts disabled and lockdep told (`HardirqsOff` came before); RCU watches.
        unsafe { lockdep::trace_hardirqs_off_finish(ins) };
    }

    /// C `trace_hardirqs_on_prepare(); lockdep_hardirqs_on_prepare();` of the exit, for an NMI
    /// that hit a context with interrupts enabled (per lockdep).
    #[inline(always)]
    pub fn trace_hardirqs_on_prepare(&self, ins: &Instr) {
        // SAFETY: The interrupted context had interrupts enabled; it gets them back on return.
        unsafe { lockdep::trace_hardirqs_on_prepare(ins) };
    }

    /// C `lockdep_hardirqs_on_prepare()`; see [`Nmi::trace_hardirqs_on_prepare`].
    #[inline(always)]
    pub fn lockdep_hardirqs_on_prepare(&self, ins: &Instr) {
        // SAFETY: As for `trace_hardirqs_on_prepare()`.
        unsafe { lockdep::lockdep_hardirqs_on_prepare(ins) };
    }

    /// Ends the entry: the state C keeps until `irqentry_nmi_exit()`. The pairs stay open,
    /// owned by C until [`Nmi::resume`].
    #[inline(always)]
    pub fn into_state(self) -> NmiState {
        let this = ManuallyDrop::new(self);
        NmiState(IrqEntryState::from_flag(this.lockdep))
    }

    /// Resumes the context of an NMI entry for its exit.
    ///
    /// # Safety
    ///
    /// Called once at the start of `irqentry_nmi_exit()`, with the state that the matching
    /// `irqentry_nmi_enter()` on this CPU returned: every pair of the entry is still open.
    #[inline(always)]
    pub unsafe fn resume(ni: &'a Noinstr, state: NmiState, ip: usize) -> Self {
        // INVARIANT: By the safety requirements, the entry reached `Watching`.
        Nmi {
            ni,
            lockdep: state.lockdep(),
            ip,
            _step: PhantomData,
        }
    }

    /// C `ct_nmi_exit()`: RCU stops watching (if it did not before the NMI); consumes the
    /// context, so no instrumentation region can be opened afterwards.
    #[inline(always)]
    pub fn ct_nmi_exit(self) -> Nmi<'a, HardirqContext> {
        // SAFETY: Balances `ct_nmi_enter()` (`Watching`); nothing instrumentable follows.
        unsafe { ct::ct_nmi_exit() };
        self.step()
    }
}

// ---------------------------------------------------------------------------------------------
// Exit
// ---------------------------------------------------------------------------------------------

impl<'a> Nmi<'a, HardirqContext> {
    /// C `lockdep_hardirq_exit()`.
    #[inline(always)]
    pub fn lockdep_hardirq_exit(self) -> Nmi<'a, HardirqsOff> {
        // SAFETY: Balances `lockdep_hardirq_enter()` (`HardirqContext`).
        unsafe { lockdep::lockdep_hardirq_exit() };
        self.step()
    }
}

impl<'a> Nmi<'a, HardirqsOff> {
    /// C `if (irq_state.lockdep) lockdep_hardirqs_on(CALLER_ADDR0);`: gives lockdep back its
    /// view of the interrupted context. The `..._on_prepare()` calls ran in the region when
    /// [`Nmi::lockdep`] is true.
    #[inline(always)]
    pub fn lockdep_hardirqs_on(self) -> Nmi<'a, InNmi> {
        if self.lockdep {
            // SAFETY: The interrupted context had interrupts enabled per lockdep, and the
            // prepare calls ran while RCU watched.
            unsafe { lockdep::lockdep_hardirqs_on(self.ip) };
        }
        self.step()
    }
}

impl<'a> Nmi<'a, InNmi> {
    /// C `BUG_ON(!in_nmi()); __preempt_count_nmi_exit();`, the start of `__nmi_exit()`.
    #[inline(always)]
    pub fn preempt_count_nmi_exit(self) -> Nmi<'a, ArchNmi> {
        if !preempt::in_nmi() {
            nmi_exit_bug();
        }
        // SAFETY: Balances `preempt_count_nmi_enter()` (`InNmi`) on this CPU.
        unsafe { preempt::preempt_count_nmi_exit() };
        self.step()
    }
}

impl<'a> Nmi<'a, ArchNmi> {
    /// C `arch_nmi_exit()`, after the preempt count left NMI: undoes [`Nmi::arch_nmi_enter`].
    #[inline(always)]
    pub fn arch_nmi_exit(self) -> Nmi<'a, LockdepOff> {
        // SAFETY: Balances `arch_nmi_enter()` (`ArchNmi`) on this CPU, interrupts disabled.
        unsafe { super::arch::arch_nmi_exit() };
        self.step()
    }
}

impl Nmi<'_, LockdepOff> {
    /// C `lockdep_on()`, the last step of `__nmi_exit()`: the context is done.
    #[inline(always)]
    pub fn lockdep_on(self) {
        // SAFETY: Balances `lockdep_off()` (`LockdepOff`) in the same task.
        unsafe { lockdep::lockdep_on() };
        let _ = ManuallyDrop::new(self);
    }
}

/// The `BUG()` of `__nmi_exit()`'s `BUG_ON(!in_nmi())`. `noinstr`, does not return.
///
/// Why C: the `kernel` crate's bug support only emits warnings (`BUGFLAG_WARNING` is forced
/// into the `__bug_table` entry), so the fatal `BUG()` comes from C.
#[inline(always)]
fn nmi_exit_bug() -> ! {
    // SAFETY: `noinstr` shim without preconditions; it does not return.
    unsafe { crate::bindings::entry_rs_nmi_exit_bug() }
}

/// C `ftrace_nmi_enter()`/`ftrace_nmi_exit()` (`include/linux/ftrace_irq.h`): each tracer's
/// callback if its flag is set, `enter` telling which. In NMI context with RCU watching, in an
/// instrumentation region (`_ins`): the callbacks are ordinary instrumentable functions.
#[inline(always)]
fn ftrace_nmi_callbacks(_ins: &Instr, _enter: bool) {
    // The flags are plain `bool`s the tracers set while they run; C reads them plainly.
    #[cfg(CONFIG_HWLAT_TRACER)]
    // SAFETY: A read of a global `bool` that is always valid; a racing update is benign, as in
    // C (the callback checks its own state).
    if unsafe { (&raw const crate::bindings::trace_hwlat_callback_enabled).read_volatile() } {
        // SAFETY: Out-of-line and instrumentable: `_ins` allows it; NMI context, as the
        // callback expects.
        unsafe { crate::bindings::trace_hwlat_callback(_enter) };
    }
    #[cfg(CONFIG_OSNOISE_TRACER)]
    // SAFETY: As for the hwlat flag above.
    if unsafe { (&raw const crate::bindings::trace_osnoise_callback_enabled).read_volatile() } {
        // SAFETY: As for the hwlat callback above.
        unsafe { crate::bindings::trace_osnoise_callback(_enter) };
    }
}
