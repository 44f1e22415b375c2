// SPDX-License-Identifier: GPL-2.0

//! Context tracking and RCU hooks for entry code.
//!
//! C headers: [`include/linux/context_tracking.h`](srctree/include/linux/context_tracking.h),
//! [`include/linux/context_tracking_state.h`](srctree/include/linux/context_tracking_state.h),
//! [`include/linux/context_tracking_irq.h`](srctree/include/linux/context_tracking_irq.h),
//! [`include/linux/hardirq.h`](srctree/include/linux/hardirq.h).
//!
//! - `ct_irq_enter()`, `ct_irq_exit()`, `ct_nmi_enter()`, `ct_nmi_exit()` (out-of-line `noinstr`
//!   (`CONTEXT_TRACKING_IDLE`)): direct call
//! - `__ct_user_enter()`, `__ct_user_exit()` (out-of-line `noinstr` (`CONTEXT_TRACKING_USER`)):
//!   direct call
//! - `context_tracking_enabled()` (`static_branch_unlikely(&context_tracking_key)`):
//!   [`static_branch_unlikely!`] (asm goto + `__jump_table`)
//! - `user_enter_irqoff()`, `user_exit_irqoff()` (`__always_inline`): re-expressed: static branch +
//!   call
//! - `__ct_state()`, `CT_WARN_ON()` (`__always_inline` / macro): `%gs` asm + `ud2` WARN
//! - `rcu_is_watching_curr_cpu()` (`__always_inline`): `%gs` asm
//! - `rcu_irq_enter_check_tick()` (`__always_inline` → `__rcu_irq_enter_check_tick()`
//!   (`NO_HZ_FULL`, instrumentable)): static branch + call, needs [`Instr`]
//! - `tick_nohz_user_enter_prepare()` (`static inline`, `include/linux/tick.h`): static branch,
//!   flag, cpumask bit, then a call of `rcu_nocb_flush_deferred_wakeup()` (out-of-line,
//!   instrumentable (`RCU_NOCB_CPU`)), needs [`Instr`] and [`IrqsOff`]
//! - `rcu_irq_exit_check_preempt()` (out-of-line with Tree RCU and `PROVE_RCU`, an empty
//!   `static inline` otherwise): a direct call or nothing, needs [`Instr`] and [`IrqsOff`]
//!
//! [`static_branch_unlikely!`]: crate::static_branch_unlikely

#![allow(unused_imports)]

use super::{
    irqflags::IrqsOff,
    Instr, //
};
use crate::bindings;

/// C `context_tracking_enabled()`.
///
/// A patched jump: `false` until context tracking is switched on (`nohz_full=` or
/// `CONTEXT_TRACKING_USER_FORCE`). Requires `CONFIG_JUMP_LABEL`; without it the kernel macro
/// would call a `rust_helper_*`, which is not allowed in `noinstr` code, so
/// `RUST_GENERIC_ENTRY` depends on `JUMP_LABEL`.
#[inline(always)]
pub fn context_tracking_enabled() -> bool {
    #[cfg(CONFIG_CONTEXT_TRACKING_USER)]
    {
        #[cfg(all(CONFIG_RUST_GENERIC_ENTRY, not(CONFIG_JUMP_LABEL)))]
        compile_error!("kernel::entry requires CONFIG_JUMP_LABEL");

        // `static_branch_unlikely!()` wants a struct that contains the key; the key here is a
        // bare `struct static_key_false`, so emit the same `__jump_table` entry directly, with
        // the `static_key` at offset 0. `arch_static_branch!` takes the offset of `key` from
        // bindgen's layout: check it against C.
        #[cfg(CONFIG_JUMP_LABEL)]
        const _: usize = crate::entry_offset_of!(static_key_false, key);
        #[cfg(CONFIG_JUMP_LABEL)]
        // SAFETY: `context_tracking_key` is a `struct static_key_false` defined in
        // `kernel/context_tracking.c`; the macro emits a `__jump_table` entry for it.
        let enabled = unsafe {
            crate::jump_label::arch_static_branch! {
                bindings::context_tracking_key,
                bindings::static_key_false,
                key,
                false
            }
        };
        // Without jump labels: C `static_key_count() > 0`, an atomic read of the count.
        #[cfg(not(CONFIG_JUMP_LABEL))]
        // SAFETY: The key is a static C object; `enabled` is an `atomic_t`, read atomically.
        let enabled = unsafe {
            core::ptr::read_volatile(crate::entry_field!(
                (&raw const bindings::context_tracking_key).cast_mut(),
                static_key_false,
                key_enabled: key.enabled.counter
            )) > 0
        };
        enabled
    }
    #[cfg(not(CONFIG_CONTEXT_TRACKING_USER))]
    {
        false
    }
}

/// `CT_STATE_USER`.
pub const CT_STATE_USER: u32 = bindings::ctx_state_CT_STATE_USER as u32;

/// C `__ct_state()`: this CPU's context tracking state (`CT_STATE_*`).
///
/// `raw_atomic_read(this_cpu_ptr(&context_tracking.state)) & CT_STATE_MASK`.
#[cfg(CONFIG_CONTEXT_TRACKING_USER)]
#[inline(always)]
pub fn ct_state_raw() -> u32 {
    super::arch::this_cpu_read_u32!(context_tracking, context_tracking.state)
        & bindings::ENTRY_CT_STATE_MASK
}

/// C `CT_WARN_ON(__ct_state() != CT_STATE_USER)`, as used by `enter_from_user_mode()`.
#[inline(always)]
pub(crate) fn ct_warn_on_not_user() {
    #[cfg(CONFIG_CONTEXT_TRACKING_USER)]
    {
        // C: `WARN_ON(context_tracking_enabled() && (cond))`. Note: `WARN_ON`, not `_ONCE`.
        crate::warn_on!(context_tracking_enabled() && ct_state_raw() != CT_STATE_USER);
    }
}

/// C `user_exit_irqoff()`: `if (context_tracking_enabled()) __ct_user_exit(CT_STATE_USER)`.
///
/// After this, RCU watches this CPU again if it came from a nohz_full user EQS.
///
/// # Safety
///
/// Interrupts must be disabled and the CPU must have come from user mode.
#[inline(always)]
pub(crate) unsafe fn user_exit_irqoff() {
    #[cfg(CONFIG_CONTEXT_TRACKING_USER)]
    if context_tracking_enabled() {
        // SAFETY: `__ct_user_exit()` is `noinstr`; precondition from the caller.
        unsafe { bindings::__ct_user_exit(bindings::ctx_state_CT_STATE_USER) };
    }
}

/// C `user_enter_irqoff()`: `if (context_tracking_enabled()) __ct_user_enter(CT_STATE_USER)`.
///
/// After this, RCU may stop watching this CPU.
///
/// # Safety
///
/// Interrupts must be disabled and the CPU must be about to return to user mode; no
/// instrumentable code may run afterwards.
#[inline(always)]
pub(crate) unsafe fn user_enter_irqoff() {
    #[cfg(CONFIG_CONTEXT_TRACKING_USER)]
    if context_tracking_enabled() {
        // SAFETY: `__ct_user_enter()` is `noinstr`; precondition from the caller.
        unsafe { bindings::__ct_user_enter(bindings::ctx_state_CT_STATE_USER) };
    }
}

/// C `ct_irq_enter()` (`noinstr`). RCU watches afterwards.
///
/// # Safety
///
/// Interrupts disabled; balanced by [`ct_irq_exit`].
#[inline(always)]
pub(crate) unsafe fn ct_irq_enter() {
    #[cfg(CONFIG_CONTEXT_TRACKING_IDLE)]
    // SAFETY: `ct_irq_enter()` is `noinstr`; precondition from the caller.
    unsafe {
        bindings::ct_irq_enter()
    };
}

/// C `ct_irq_exit()` (`noinstr`). RCU may stop watching afterwards.
///
/// # Safety
///
/// Balances a previous [`ct_irq_enter`]; no instrumentable code may run afterwards.
#[inline(always)]
pub(crate) unsafe fn ct_irq_exit() {
    #[cfg(CONFIG_CONTEXT_TRACKING_IDLE)]
    // SAFETY: `ct_irq_exit()` is `noinstr`; precondition from the caller.
    unsafe {
        bindings::ct_irq_exit()
    };
}

/// C `ct_nmi_enter()` (`noinstr`). RCU watches afterwards.
///
/// # Safety
///
/// In NMI context (after `preempt_count_nmi_enter()`); balanced by
/// [`ct_nmi_exit`].
#[inline(always)]
pub(crate) unsafe fn ct_nmi_enter() {
    #[cfg(CONFIG_CONTEXT_TRACKING_IDLE)]
    // SAFETY: `ct_nmi_enter()` is `noinstr`; precondition from the caller.
    unsafe {
        bindings::ct_nmi_enter()
    };
}

/// C `ct_nmi_exit()` (`noinstr`).
///
/// # Safety
///
/// Balances a previous [`ct_nmi_enter`]; no instrumentable code may run afterwards.
#[inline(always)]
pub(crate) unsafe fn ct_nmi_exit() {
    #[cfg(CONFIG_CONTEXT_TRACKING_IDLE)]
    // SAFETY: `ct_nmi_exit()` is `noinstr`; precondition from the caller.
    unsafe {
        bindings::ct_nmi_exit()
    };
}

/// C `rcu_is_watching_curr_cpu()`: is RCU watching this CPU? Safe in `noinstr` code.
///
/// Only meaningful with preemption or interrupts disabled. Without `CONTEXT_TRACKING_IDLE`
/// (Tiny RCU), RCU is always watching.
#[inline(always)]
pub fn rcu_is_watching_curr_cpu() -> bool {
    #[cfg(CONFIG_CONTEXT_TRACKING_IDLE)]
    {
        super::arch::this_cpu_read_u32!(context_tracking, context_tracking.state)
            & bindings::ENTRY_CT_RCU_WATCHING
            != 0
    }
    #[cfg(not(CONFIG_CONTEXT_TRACKING_IDLE))]
    {
        true
    }
}

/// C `rcu_irq_enter_check_tick()`: `if (context_tracking_enabled()) __rcu_irq_enter_check_tick()`.
///
/// `__rcu_irq_enter_check_tick()` is instrumentable (and holds the "Illegal ... from EQS" lockdep
/// warning), so this needs an [`Instr`] token.
///
/// # Safety
///
/// Interrupts disabled, RCU watching, called on interrupt entry from kernel mode.
#[inline(always)]
pub(crate) unsafe fn rcu_irq_enter_check_tick(_ins: &Instr) {
    #[cfg(CONFIG_NO_HZ_FULL)]
    if context_tracking_enabled() {
        // SAFETY: Inside an instrumentation region; precondition from the caller.
        unsafe { bindings::__rcu_irq_enter_check_tick() };
    }
}

/// C `tick_nohz_user_enter_prepare()` (`include/linux/tick.h`): on a `nohz_full` CPU, flush a
/// deferred wakeup of RCU's callback-offload kthread before the return to user mode, where the
/// CPU may run without a tick. Empty without `CONFIG_NO_HZ_FULL`.
///
/// As in C, the static key of `context_tracking_enabled()` is tested first and the CPU number
/// is read only after it, so that with context tracking off this is one patched jump.
#[inline(always)]
pub fn tick_nohz_user_enter_prepare(_ins: &Instr, _off: &IrqsOff) {
    #[cfg(CONFIG_NO_HZ_FULL)]
    if tick_nohz_full_this_cpu(_off) {
        #[cfg(CONFIG_RCU_NOCB_CPU)]
        // SAFETY: Out-of-line and instrumentable (`_ins`); interrupts are disabled (`_off`), as
        // the flush of this CPU's deferred wakeup requires.
        unsafe {
            bindings::rcu_nocb_flush_deferred_wakeup()
        };
    }
}

/// C `tick_nohz_full_cpu(smp_processor_id())`: `tick_nohz_full_enabled()`, then the CPU's bit
/// in `tick_nohz_full_mask`.
#[cfg(CONFIG_NO_HZ_FULL)]
#[inline(always)]
fn tick_nohz_full_this_cpu(_off: &IrqsOff) -> bool {
    // C: tick_nohz_full_enabled(): the static key, then the flag.
    if !context_tracking_enabled() {
        return false;
    }
    crate::entry_var_size!(tick_nohz_full_running, 1);
    // SAFETY: A `bool` set during boot, before any task returns to user mode; C reads it plainly.
    if !unsafe { (&raw const bindings::tick_nohz_full_running).read() } {
        return false;
    }
    // C: cpumask_test_cpu(smp_processor_id(), tick_nohz_full_mask). The CPU number is stable:
    // interrupts are disabled (`_off`).
    let cpu = super::arch::raw_smp_processor_id() as usize;
    #[cfg(not(CONFIG_CPUMASK_OFFSTACK))]
    let mask = (&raw const bindings::tick_nohz_full_mask).cast::<bindings::cpumask>();
    #[cfg(CONFIG_CPUMASK_OFFSTACK)]
    // SAFETY: The pointer is allocated during boot, before any task returns to user mode, and
    // never freed.
    let mask = unsafe { (&raw const bindings::tick_nohz_full_mask).read() }.cast_const();
    // SAFETY: `mask` points to the valid `struct cpumask` of nohz_full CPUs, which has a bit
    // for each of the `NR_CPUS` possible CPUs, so the word of `cpu` (below `nr_cpu_ids`) is in
    // it. The mask is written once during boot; C reads it plainly (`test_bit()`).
    let word = unsafe {
        crate::entry_field!(mask.cast_mut(), cpumask, bits)
            .cast::<usize>()
            .add(cpu / usize::BITS as usize)
            .read()
    };
    word.wrapping_shr(cpu as u32) & 1 != 0
}

#[cfg(all(CONFIG_TREE_RCU, CONFIG_PROVE_RCU))]
crate::entry::instr::instr_shim!(
    /// C `rcu_irq_exit_check_preempt()`: lockdep checks that RCU is in a state that allows
    /// preemption on the return from an interrupt (`PROVE_RCU` only).
    ///
    /// Out of line with Tree RCU and `PROVE_RCU` (`rcutree.h`), called directly.
    rcu_irq_exit_check_preempt(IrqsOff) => rcu_irq_exit_check_preempt()
);

/// C `rcu_irq_exit_check_preempt()` without Tree RCU or without `PROVE_RCU`: an empty static
/// inline (always in `rcutiny.h`, without `PROVE_RCU` in `rcutree.h`), so nothing to call.
#[cfg(not(all(CONFIG_TREE_RCU, CONFIG_PROVE_RCU)))]
#[inline(always)]
pub fn rcu_irq_exit_check_preempt(_ins: &Instr, _off: &IrqsOff) {}
