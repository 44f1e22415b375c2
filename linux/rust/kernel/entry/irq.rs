// SPDX-License-Identifier: GPL-2.0

//! Interrupt and exception entry as typed steps.
//!
//! C: `irqentry_enter()` in [`kernel/entry/common.c`](srctree/kernel/entry/common.c) and the
//! inlines of [`include/linux/irq-entry-common.h`](srctree/include/linux/irq-entry-common.h).
//! Documentation: "Interrupts and regular exceptions" in
//! [`Documentation/core-api/entry.rst`](srctree/Documentation/core-api/entry.rst).
//!
//! An entry is an [`Irq<M, S>`]: `M` is where it came from ([`User`] or [`Kernel`], decided
//! once from `pt_regs` by [`Entry::begin`]) and `S` what has been established so far. Each step
//! consumes the context and returns it in the next state:
//!
//! ```text
//!  entry (Entry::begin() decides User or Kernel from regs):
//!  Irq<User, Entered> -lockdep_hardirqs_off-> Irq<User, LockdepOff>
//!    -user_exit_irqoff-> Irq<User, Watching>
//!  Irq<Kernel, Entered> -lockdep_hardirqs_off-> Irq<Kernel, LockdepOff>
//!    -ct_irq_enter-> Irq<Kernel, CtIrq>        (idle task)
//!    -rcu_watching-> Irq<Kernel, Watching>     (RCU watches already)
//!  Watching or CtIrq: instrumentation(|ins| ...), then into_state() -> IrqEntryState
//!
//!  exit (Exit::resume() from regs and the state):
//!  Irq<User, Watching> -user_enter_irqoff-> Irq<User, RcuLeft> -lockdep_hardirqs_on-> done
//!  Irq<Kernel, CtIrq> -ct_irq_exit-> Irq<Kernel, RcuLeft>
//!    -lockdep_hardirqs_on-> done (or return_irqs_off)
//!  Irq<Kernel, Watching> -return_watching-> done
//! ```
//!
//! What this makes a compile error:
//!
//! - **lockdep, then RCU, then tracing.** RCU steps exist only on `LockdepOff`, and the
//!   instrumentation region only once RCU watches (`E0599`).
//! - **The right RCU step for the mode.** `user_exit_irqoff()` exists only for [`User`],
//!   `ct_irq_enter()` and `rcu_irq_enter_check_tick()` only for [`Kernel`] (`E0599`).
//! - **`exit_rcu` follows from the steps.** [`Irq::into_state`] sets it exactly when the entry
//!   went through `ct_irq_enter()`; it cannot be written by hand.
//! - **No entry left half done, no exit either.** Dropping a context past [`Entered`] stops the
//!   build (`E0080`): an entry ends in `into_state()`, an exit in `lockdep_hardirqs_on()`,
//!   `return_irqs_off()` or `return_watching()`.
//! - **Nothing instrumentable after RCU's exit step.** `user_enter_irqoff()` and
//!   `ct_irq_exit()` consume the context the region borrows (`E0505`), and `RcuLeft` has no
//!   region.
//! - **Interrupts stay disabled, except for the exit work.** A context holds an
//!   [`IrqsOff`] ([`Irq::irqs_off`]) for the calls that need it. Only an exit to user mode lends
//!   a [`ToUser`] ([`Irq::instrumentation_to_user`]), which can enable interrupts for the work
//!   loop; it borrows the context mutably, so its [`IrqsOff`] cannot be used meanwhile (`E0502`).
//!
//! Every step is `#[inline(always)]`; the markers are zero-sized.

use super::{
    arch,
    ct,
    irqflags::{
        IrqsOff,
        ToUser, //
    },
    lockdep,
    rseq,
    Instr,
    IrqEntryState,
    Noinstr,
    PtRegs, //
};
use core::{marker::PhantomData, mem::ManuallyDrop};

mod private {
    pub trait Sealed {}
}

/// Where the interrupted context was (sealed: [`User`] or [`Kernel`]).
pub trait Mode: private::Sealed {}

/// A step of the entry (sealed; the markers below are the only ones).
pub trait Step: private::Sealed {
    /// Whether a context in this state has started the entry, i.e. must not be dropped.
    const OPEN: bool;
}

/// A step after which RCU watches: instrumentation may run.
pub trait Watches: Step {
    /// Whether the exit has to undo the step with `ct_irq_exit()` (`irqentry_state_t.exit_rcu`).
    const EXIT_RCU: bool;
}

/// The interrupt or exception came from user mode.
pub struct User;
/// The interrupt or exception came from kernel mode.
pub struct Kernel;

impl private::Sealed for User {}
impl private::Sealed for Kernel {}
impl Mode for User {}
impl Mode for Kernel {}

macro_rules! steps {
    ($($(#[$m:meta])* $name:ident: $open:literal $(, exit_rcu = $rcu:literal)?;)*) => {$(
        $(#[$m])*
        pub struct $name;
        impl private::Sealed for $name {}
        impl Step for $name {
            const OPEN: bool = $open;
        }
        $(impl Watches for $name {
            const EXIT_RCU: bool = $rcu;
        })?
    )*};
}

steps! {
    /// Interrupts are disabled by the hardware; nothing is established yet.
    Entered: false;
    /// `lockdep_hardirqs_off()`: lockdep knows that interrupts are disabled.
    LockdepOff: true;
    /// RCU watches: it did already (kernel mode, not idle), or `__ct_user_exit()` made it
    /// (user mode).
    Watching: true, exit_rcu = false;
    /// RCU watches because of `ct_irq_enter()` (the idle task): the exit must call
    /// `ct_irq_exit()`.
    CtIrq: true, exit_rcu = true;
    /// Exit: RCU's part is undone (`user_enter_irqoff()`, `ct_irq_exit()`); what is left is
    /// lockdep's.
    RcuLeft: true;
}

/// An interrupt or exception entry from mode `M`, in state `S`.
///
/// Not `Send`/`Sync` (it holds a [`Noinstr`] reference): the steps run on one CPU.
#[must_use = "an entry must be carried to `into_state()`"]
pub struct Irq<'a, M: Mode, S: Step> {
    ni: &'a Noinstr,
    /// The entry function's address, for lockdep's `ip` arguments (C `CALLER_ADDR0`).
    ip: usize,
    /// Interrupts are disabled from the start of the entry to the end of the exit.
    off: IrqsOff,
    _state: PhantomData<(M, S)>,
}

/// The two kinds of entry [`Entry::begin`] can start.
pub enum Entry<'a> {
    /// From user mode (`user_mode(regs)`).
    User(Irq<'a, User, Entered>),
    /// From kernel mode.
    Kernel(Irq<'a, Kernel, Entered>),
}

impl<'a> Entry<'a> {
    /// Starts an entry: user or kernel mode, from `regs` (C `user_mode(regs)`).
    ///
    /// # Safety
    ///
    /// Called once at the start of `irqentry_enter()`, with interrupts disabled by the
    /// hardware and `regs` the registers of this entry.
    #[inline(always)]
    pub unsafe fn begin(ni: &'a Noinstr, regs: &PtRegs, ip: usize) -> Self {
        // SAFETY: Interrupts are disabled (the caller) and stay disabled for as long as the
        // context lives: only `ToUser::enable()` enables them, and the one `ToUser` of a context
        // is lent by `instrumentation_to_user()`, which borrows the context mutably.
        let off = unsafe { IrqsOff::assume() };
        // INVARIANT: Nothing is established yet (`Entered`); the mode is the one of `regs`.
        if regs.user_mode() {
            Entry::User(Irq::start(ni, ip, off))
        } else {
            Entry::Kernel(Irq::start(ni, ip, off))
        }
    }
}

impl<'a, M: Mode, S: Step> Irq<'a, M, S> {
    /// A context at the start of `irqentry_enter()` or `irqentry_exit()`.
    #[inline(always)]
    fn start(ni: &'a Noinstr, ip: usize, off: IrqsOff) -> Self {
        Irq {
            ni,
            ip,
            off,
            _state: PhantomData,
        }
    }

    /// The proof that interrupts are disabled, for the calls that need it.
    #[inline(always)]
    pub fn irqs_off(&self) -> &IrqsOff {
        &self.off
    }

    /// Moves the context into the next state without running `Drop` for this one.
    #[inline(always)]
    fn step<T: Step>(self) -> Irq<'a, M, T> {
        let this = ManuallyDrop::new(self);
        Irq {
            ni: this.ni,
            ip: this.ip,
            off: this.off.carry(),
            _state: PhantomData,
        }
    }
}

impl<M: Mode, S: Step> Drop for Irq<'_, M, S> {
    #[inline(always)]
    fn drop(&mut self) {
        const {
            assert!(
                !S::OPEN,
                "an interrupt entry was dropped half done: carry it to `into_state()`"
            )
        };
    }
}

impl<'a> Irq<'a, User, Entered> {
    /// C `arch_enter_from_user_mode(regs)`: the architecture's checks, before anything else.
    #[inline(always)]
    pub fn arch_enter_from_user_mode(&self, regs: &PtRegs) {
        // SAFETY: Interrupts disabled, entry from user mode (`User`), nothing established yet
        // (`Entered`).
        unsafe { arch::arch_enter_from_user_mode(regs) };
    }
}

impl<'a, M: Mode> Irq<'a, M, Entered> {
    /// C `lockdep_hardirqs_off(CALLER_ADDR0)`: first, so that everything after knows that
    /// interrupts are off.
    #[inline(always)]
    pub fn lockdep_hardirqs_off(self) -> Irq<'a, M, LockdepOff> {
        // SAFETY: Interrupts are disabled (`begin()`).
        unsafe { lockdep::lockdep_hardirqs_off(self.ip) };
        self.step()
    }
}

impl<'a> Irq<'a, User, LockdepOff> {
    /// C `CT_WARN_ON(__ct_state() != CT_STATE_USER)`.
    #[inline(always)]
    pub fn ct_warn_on_not_user(&self) {
        ct::ct_warn_on_not_user();
    }

    /// C `user_exit_irqoff()`: leaves the user extended quiescent state; RCU watches after it.
    #[inline(always)]
    pub fn user_exit_irqoff(self) -> Irq<'a, User, Watching> {
        // SAFETY: Interrupts disabled, entry from user mode (`User`).
        unsafe { ct::user_exit_irqoff() };
        self.step()
    }
}

impl<'a> Irq<'a, Kernel, LockdepOff> {
    /// C `ct_irq_enter()`, for an interrupt of the idle task, where RCU may not watch. The
    /// exit will call `ct_irq_exit()` (`exit_rcu`).
    #[inline(always)]
    pub fn ct_irq_enter(self) -> Irq<'a, Kernel, CtIrq> {
        // SAFETY: Interrupts disabled; `CtIrq` makes `into_state()` set `exit_rcu`, so the
        // exit balances it with `ct_irq_exit()`.
        unsafe { ct::ct_irq_enter() };
        self.step()
    }

    /// RCU already watches: the entry interrupted a kernel context other than the idle task,
    /// which is the documented precondition of `irqentry_enter()` (no C statement; a context
    /// where RCU does not watch is caught by `rcu_irq_enter_check_tick()` in the region).
    #[inline(always)]
    pub fn rcu_watching(self) -> Irq<'a, Kernel, Watching> {
        self.step()
    }
}

impl<M: Mode, S: Watches> Irq<'_, M, S> {
    /// Runs `f` inside an instrumentation region (C `instrumentation_begin()` ...
    /// `instrumentation_end()`). Only possible once RCU watches.
    #[inline(always)]
    pub fn instrumentation<R>(&self, f: impl FnOnce(&Instr) -> R) -> R {
        self.ni.instrumentation(f)
    }

    /// C `trace_hardirqs_off_finish()`: the tracer hears of "interrupts off" last, once RCU
    /// watches.
    #[inline(always)]
    pub fn trace_hardirqs_off_finish(&self, ins: &Instr) {
        // SAFETY: Interrupts disabled and lockdep told (`LockdepOff` came before); RCU watches
        // (`S: Watches`); in a region (`ins`).
        unsafe { lockdep::trace_hardirqs_off_finish(ins) };
    }

    /// Ends the entry: the state `irqentry_exit()` gets back, with `exit_rcu` set exactly when
    /// the entry went through `ct_irq_enter()`.
    #[inline(always)]
    pub fn into_state(self) -> IrqEntryState {
        let _ = ManuallyDrop::new(self);
        IrqEntryState::with_exit_rcu(S::EXIT_RCU)
    }
}

impl Irq<'_, User, Watching> {
    /// C `rseq_note_user_irq_entry()`: `current->rseq.event.user_irq = true;`, so that the
    /// return to user mode checks the task's restartable sequence ([`rseq`]).
    #[inline(always)]
    pub fn rseq_note_user_irq_entry(&self) {
        rseq::note_user_irq_entry(&self.off);
    }

    /// Runs `f` inside an instrumentation region with the proof that the task returns to user
    /// mode with interrupts disabled, which `f` may use to enable them for the exit work
    /// ([`ToUser::enable`]).
    ///
    /// The context stays borrowed mutably meanwhile, so `f` cannot use its
    /// [`Irq::irqs_off`] while interrupts are enabled.
    #[inline(always)]
    pub fn instrumentation_to_user<R>(&mut self, f: impl FnOnce(&Instr, &mut ToUser) -> R) -> R {
        let mut to_user = ToUser::carry(&self.off);
        self.ni.instrumentation(|ins| f(ins, &mut to_user))
    }
}

impl Irq<'_, Kernel, Watching> {
    /// C `rcu_irq_enter_check_tick()`: with NO_HZ, restarts the tick if RCU needs it, and
    /// warns if RCU was not watching after all.
    #[inline(always)]
    pub fn rcu_irq_enter_check_tick(&self, ins: &Instr) {
        // SAFETY: Interrupts disabled, entry from kernel mode with RCU watching (`Kernel`,
        // `Watching`), in a region (`ins`).
        unsafe { ct::rcu_irq_enter_check_tick(ins) };
    }
}

// ---------------------------------------------------------------------------------------------
// Exit
// ---------------------------------------------------------------------------------------------

/// The ways `irqentry_exit()` can go, from `regs` and the state of the matching entry.
pub enum Exit<'a> {
    /// To user mode (`user_mode(regs)`).
    User(Irq<'a, User, Watching>),
    /// To kernel mode.
    Kernel(KernelExit<'a>),
}

/// An exit to kernel mode: RCU watched on entry, or the entry called `ct_irq_enter()`
/// (`state.exit_rcu`).
pub enum KernelExit<'a> {
    /// RCU watched already when the entry came (`!state.exit_rcu`).
    Watching(Irq<'a, Kernel, Watching>),
    /// The entry called `ct_irq_enter()` (`state.exit_rcu`): the exit calls `ct_irq_exit()`.
    CtIrq(Irq<'a, Kernel, CtIrq>),
}

impl<'a> Exit<'a> {
    /// Resumes the context of the matching entry for `irqentry_exit()`.
    ///
    /// # Safety
    ///
    /// Called once at the start of `irqentry_exit()`, interrupts disabled, with the `regs` and
    /// the `state` of the matching `irqentry_enter()` on this CPU, which reached
    /// [`Irq::into_state`].
    #[inline(always)]
    pub unsafe fn resume(ni: &'a Noinstr, regs: &PtRegs, state: IrqEntryState, ip: usize) -> Self {
        // INVARIANT: By the safety requirements, the entry reached the state that `state`
        // records, in the mode of `regs`.
        // SAFETY: As in `Entry::begin()`: interrupts are still disabled (the caller).
        let off = unsafe { IrqsOff::assume() };
        if regs.user_mode() {
            Exit::User(Irq::start(ni, ip, off))
        } else if state.exit_rcu() {
            Exit::Kernel(KernelExit::CtIrq(Irq::start(ni, ip, off)))
        } else {
            Exit::Kernel(KernelExit::Watching(Irq::start(ni, ip, off)))
        }
    }
}

impl KernelExit<'_> {
    /// C `state.exit_rcu`.
    #[inline(always)]
    pub fn exit_rcu(&self) -> bool {
        matches!(self, KernelExit::CtIrq(_))
    }

    /// The proof that interrupts are disabled, for the calls that need it.
    #[inline(always)]
    pub fn irqs_off(&self) -> &IrqsOff {
        match self {
            KernelExit::Watching(irq) => irq.irqs_off(),
            KernelExit::CtIrq(irq) => irq.irqs_off(),
        }
    }

    /// Runs `f` inside an instrumentation region; RCU watches in both kinds of exit.
    #[inline(always)]
    pub fn instrumentation<R>(&self, f: impl FnOnce(&Instr) -> R) -> R {
        match self {
            KernelExit::Watching(irq) => irq.instrumentation(f),
            KernelExit::CtIrq(irq) => irq.instrumentation(f),
        }
    }
}

impl<M: Mode, S: Watches> Irq<'_, M, S> {
    /// C `trace_hardirqs_on_prepare()`: the tracer hears of "interrupts on" while RCU still
    /// watches, before the return enables them.
    #[inline(always)]
    pub fn trace_hardirqs_on_prepare(&self, ins: &Instr) {
        // SAFETY: Interrupts disabled, about to be enabled by the return; RCU watches.
        unsafe { lockdep::trace_hardirqs_on_prepare(ins) };
    }

    /// C `lockdep_hardirqs_on_prepare()`: see [`Irq::trace_hardirqs_on_prepare`];
    /// [`Irq::lockdep_hardirqs_on`] completes it after RCU stopped watching.
    #[inline(always)]
    pub fn lockdep_hardirqs_on_prepare(&self, ins: &Instr) {
        // SAFETY: As for `trace_hardirqs_on_prepare()`.
        unsafe { lockdep::lockdep_hardirqs_on_prepare(ins) };
    }
}

impl<'a> Irq<'a, User, Watching> {
    /// C `user_enter_irqoff()`: enters the user extended quiescent state; RCU may stop
    /// watching, so this consumes the context: no region can be opened afterwards.
    #[inline(always)]
    pub fn user_enter_irqoff(self) -> Irq<'a, User, RcuLeft> {
        // SAFETY: Interrupts disabled, returning to user mode (`User`); the context is consumed,
        // so nothing instrumentable follows.
        unsafe { ct::user_enter_irqoff() };
        self.step()
    }
}

impl Irq<'_, User, RcuLeft> {
    /// C `arch_exit_to_user_mode()`: the last architecture work before the return.
    #[inline(always)]
    pub fn arch_exit_to_user_mode(&self) {
        // SAFETY: Interrupts disabled, right before the return to user mode (`User`, RCU no
        // longer needed).
        unsafe { arch::arch_exit_to_user_mode() };
    }
}

impl<'a> Irq<'a, Kernel, CtIrq> {
    /// C `ct_irq_exit()`: balances the `ct_irq_enter()` of the entry; RCU may stop watching,
    /// so this consumes the context.
    #[inline(always)]
    pub fn ct_irq_exit(self) -> Irq<'a, Kernel, RcuLeft> {
        // SAFETY: The entry called `ct_irq_enter()` (`CtIrq`); nothing instrumentable follows.
        unsafe { ct::ct_irq_exit() };
        self.step()
    }
}

impl<M: Mode> Irq<'_, M, RcuLeft> {
    /// C `lockdep_hardirqs_on(CALLER_ADDR0)`, last: the return enables interrupts. Ends the
    /// exit.
    #[inline(always)]
    pub fn lockdep_hardirqs_on(self) {
        // SAFETY: `lockdep_hardirqs_on_prepare()` ran while RCU watched (the region before the
        // RCU step that led here); the return enables interrupts.
        unsafe { lockdep::lockdep_hardirqs_on(self.ip) };
        let _ = ManuallyDrop::new(self);
    }

    /// Ends an exit to a context that had interrupts disabled: lockdep's view stays "off",
    /// as it was before the interrupt (no C statement).
    #[inline(always)]
    pub fn return_irqs_off(self) {
        let _ = ManuallyDrop::new(self);
    }
}

impl Irq<'_, Kernel, Watching> {
    /// C `trace_hardirqs_on()`: tracing and lockdep hear of "interrupts on" in one call, for a
    /// return to a kernel context in which RCU watches anyway.
    #[inline(always)]
    pub fn trace_hardirqs_on(&self, ins: &Instr) {
        // SAFETY: Interrupts disabled, enabled by the return; RCU watches (`Watching`).
        unsafe { lockdep::trace_hardirqs_on(ins) };
    }

    /// Ends an exit to a kernel context in which RCU watched on entry and still watches (no C
    /// statement).
    #[inline(always)]
    pub fn return_watching(self) {
        let _ = ManuallyDrop::new(self);
    }
}
