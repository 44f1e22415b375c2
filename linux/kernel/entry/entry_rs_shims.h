/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C shims for the Rust generic entry code (kernel/entry/entry_rs.rs).
 *
 * Each shim wraps exactly one static inline (or macro) of the C entry headers
 * that Rust cannot reach: it contains ALTERNATIVE()s, uaccess regions,
 * static_call()s, static keys without a Rust equivalent, or it is a large
 * config-dependent inline whose re-implementation would duplicate policy.
 *
 * Two tiers:
 *  - noinstr shims: placed in .noinstr.text, callable from the Rust noinstr
 *    functions outside instrumentation regions.
 *  - instrumentable shims: ordinary notrace .text functions; Rust calls them
 *    only with a kernel::entry::Instr token, i.e. inside an instrumentation
 *    region or from instrumentable code (exit_to_user_mode_loop()).
 *
 * They are not rust_helper_*(): those are compiled in rust/ with that
 * directory's sanitizer flags and, with CONFIG_RUST_INLINE_HELPERS, are
 * inlined into the caller. The shims are compiled with kernel/entry's flags
 * (no KASAN/KCOV/UBSAN, no stack protector).
 */
#ifndef _KERNEL_ENTRY_ENTRY_RS_SHIMS_H
#define _KERNEL_ENTRY_ENTRY_RS_SHIMS_H

#include <linux/compiler_types.h>
#include <linux/types.h>

struct pt_regs;

/* noinstr tier */
void entry_rs_arch_enter_from_user_mode(struct pt_regs *regs);
void entry_rs_arch_exit_to_user_mode(void);
void __noreturn entry_rs_nmi_exit_bug(void);
#ifdef CONFIG_ARM64
void entry_rs_arch_nmi_enter(void);
void entry_rs_arch_nmi_exit(void);
#endif

/* instrumentable tier */
void entry_rs_arch_exit_to_user_mode_prepare(struct pt_regs *regs, unsigned long ti_work);
void entry_rs_rseq_irqentry_exit_to_user_mode(void);
void entry_rs_kmap_assert_nomap(void);
void entry_rs_unwind_reset_info(void);
#if defined(CONFIG_PARAVIRT_XXL) || defined(CONFIG_ARM64_DEBUG_PRIORITY_MASKING)
void entry_rs_raw_local_irq_enable(void);
void entry_rs_raw_local_irq_disable(void);
bool entry_rs_raw_irqs_disabled(void);
#endif
#ifdef CONFIG_ARM64
void entry_rs_arch_exit_to_user_mode_work(struct pt_regs *regs, unsigned long ti_work);
#endif
bool entry_rs_rseq_grant_slice_extension(unsigned long ti_work, unsigned long mask);
void entry_rs_futex_fixup_robust_unlock(struct pt_regs *regs);
void entry_rs_resume_user_mode_work(struct pt_regs *regs);
bool entry_rs_rseq_exit_to_user_mode_restart(struct pt_regs *regs, unsigned long ti_work);
bool entry_rs_sud_selector_access_ok(const char __user *selector);
int entry_rs_sud_get_selector(const char __user *selector, char *state);

#endif /* _KERNEL_ENTRY_ENTRY_RS_SHIMS_H */
