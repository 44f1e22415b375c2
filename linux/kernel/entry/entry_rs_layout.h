/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C layout that the Rust generic entry code, its KUnit suite and the
 * entry probe sample rely on: every struct member they read or write, every
 * struct they create or pass by value, and every per-CPU variable they
 * access from inline assembly with a width of their own choosing.
 *
 * An X-macro list without include guard, in the spirit of asm-offsets.c:
 * rust/bindings/bindings_helper.h defines
 *
 *   ENTRY_RS_STRUCT(s)			sizeof(struct s), __alignof__(struct s)
 *   ENTRY_RS_FIELD(s, name, member)	offsetof(struct s, member),
 *					sizeof_field(struct s, member)
 *   ENTRY_RS_VAR(v)			sizeof(v)
 *
 * and includes this file, which turns every line into RUST_CONST_HELPER_ENTRY_*
 * constants. Rust reaches these members only through kernel::entry_field!()
 * and kernel::entry_offset_of!() (rust/kernel/entry/layout.rs), which compare
 * bindgen's offset_of!() and size_of() with these constants at compile time:
 * a member that is not listed here does not compile, and a member that bindgen
 * places differently from the C compiler fails the build. The kernel runs
 * bindgen with --no-layout-tests, so nothing else would notice: bindgen
 * 0.73.0 to 0.73.2 place every task_struct member after the empty, cache line
 * aligned "stats" (CONFIG_SCHEDSTATS=n) 48 bytes too early on x86_64.
 *
 * name is the member's name in the RUST_CONST_HELPER_ENTRY_* constants; member
 * is the C member designator. Keep the #ifdefs those of the members.
 */

ENTRY_RS_STRUCT(task_struct);
ENTRY_RS_FIELD(task_struct, thread_info_flags, thread_info.flags);
ENTRY_RS_FIELD(task_struct, flags, flags);
#ifdef CONFIG_GENERIC_ENTRY
ENTRY_RS_FIELD(task_struct, thread_info_syscall_work, thread_info.syscall_work);
#endif
ENTRY_RS_FIELD(task_struct, ptrace, ptrace);
#ifdef CONFIG_X86_64
ENTRY_RS_FIELD(task_struct, thread_info_status, thread_info.status);
#endif
#ifdef CONFIG_ARM64
ENTRY_RS_FIELD(task_struct, thread_info_preempt_count, thread_info.preempt.count);
ENTRY_RS_FIELD(task_struct, thread_info_cpu, thread_info.cpu);
#endif
ENTRY_RS_FIELD(task_struct, pending_signal, pending.signal.sig);
ENTRY_RS_FIELD(task_struct, nvcsw, nvcsw);
ENTRY_RS_FIELD(task_struct, nivcsw, nivcsw);
/* Not used by the entry code: checked for kernel::task::Task::pid(). */
ENTRY_RS_FIELD(task_struct, pid, pid);
#ifdef CONFIG_TRACE_IRQFLAGS
ENTRY_RS_FIELD(task_struct, hardirq_threaded, hardirq_threaded);
#endif
#ifdef CONFIG_LOCKDEP
ENTRY_RS_FIELD(task_struct, lockdep_recursion, lockdep_recursion);
#endif
#ifdef CONFIG_RSEQ
ENTRY_RS_FIELD(task_struct, rseq_event_user_irq, rseq.event.user_irq);
ENTRY_RS_FIELD(task_struct, rseq_events, rseq.event.events);
#endif
#ifdef CONFIG_AUDITSYSCALL
ENTRY_RS_FIELD(task_struct, audit_context, audit_context);
#endif
#ifdef CONFIG_SYSCALL_USER_DISPATCH
ENTRY_RS_FIELD(task_struct, syscall_dispatch_on_dispatch, syscall_dispatch.on_dispatch);
ENTRY_RS_FIELD(task_struct, sud_selector, syscall_dispatch.selector);
ENTRY_RS_FIELD(task_struct, sud_offset, syscall_dispatch.offset);
ENTRY_RS_FIELD(task_struct, sud_len, syscall_dispatch.len);

ENTRY_RS_STRUCT(kernel_siginfo);
ENTRY_RS_FIELD(kernel_siginfo, si_signo, si_signo);
ENTRY_RS_FIELD(kernel_siginfo, si_errno, si_errno);
ENTRY_RS_FIELD(kernel_siginfo, si_code, si_code);
ENTRY_RS_FIELD(kernel_siginfo, si_call_addr, si_call_addr);
ENTRY_RS_FIELD(kernel_siginfo, si_syscall, si_syscall);
ENTRY_RS_FIELD(kernel_siginfo, si_arch, si_arch);

ENTRY_RS_STRUCT(ptrace_sud_config);
ENTRY_RS_FIELD(ptrace_sud_config, mode, mode);
ENTRY_RS_FIELD(ptrace_sud_config, selector, selector);
ENTRY_RS_FIELD(ptrace_sud_config, offset, offset);
ENTRY_RS_FIELD(ptrace_sud_config, len, len);
#endif
#ifdef CONFIG_UNWIND_USER
ENTRY_RS_FIELD(task_struct, unwind_mask, unwind_info.unwind_mask.counter);
#endif

ENTRY_RS_STRUCT(pt_regs);
#ifdef CONFIG_X86_64
ENTRY_RS_FIELD(pt_regs, cs, cs);
ENTRY_RS_FIELD(pt_regs, ss, ss);
ENTRY_RS_FIELD(pt_regs, flags, flags);
ENTRY_RS_FIELD(pt_regs, orig_ax, orig_ax);
ENTRY_RS_FIELD(pt_regs, ax, ax);
ENTRY_RS_FIELD(pt_regs, ip, ip);
#endif
#ifdef CONFIG_ARM64
ENTRY_RS_FIELD(pt_regs, pstate, pstate);
ENTRY_RS_FIELD(pt_regs, pmr, pmr);

/* The entry that rust/kernel/entry/arch/arm64.rs emits for an ALTERNATIVE(). */
ENTRY_RS_STRUCT(alt_instr);
ENTRY_RS_FIELD(alt_instr, orig_offset, orig_offset);
ENTRY_RS_FIELD(alt_instr, alt_offset, alt_offset);
ENTRY_RS_FIELD(alt_instr, cpucap, cpucap);
ENTRY_RS_FIELD(alt_instr, orig_len, orig_len);
ENTRY_RS_FIELD(alt_instr, alt_len, alt_len);
#endif

ENTRY_RS_STRUCT(irqentry_state);
ENTRY_RS_FIELD(irqentry_state, exit_rcu, exit_rcu);

#ifdef CONFIG_CONTEXT_TRACKING
ENTRY_RS_STRUCT(context_tracking);
ENTRY_RS_FIELD(context_tracking, state, state);
#endif

#ifdef CONFIG_HAVE_PREEMPT_DYNAMIC_KEY
ENTRY_RS_STRUCT(static_key_true);
ENTRY_RS_FIELD(static_key_true, key, key);
ENTRY_RS_FIELD(static_key_true, key_enabled, key.enabled.counter);

/* The entry that rust/kernel/entry/arch/arm64.rs emits for the key. */
ENTRY_RS_STRUCT(jump_entry);
ENTRY_RS_FIELD(jump_entry, code, code);
ENTRY_RS_FIELD(jump_entry, target, target);
ENTRY_RS_FIELD(jump_entry, key, key);
#endif

ENTRY_RS_STRUCT(static_key_false);
ENTRY_RS_FIELD(static_key_false, key, key);
ENTRY_RS_FIELD(static_key_false, key_enabled, key.enabled.counter);

ENTRY_RS_STRUCT(irq_work);
ENTRY_RS_FIELD(irq_work, func, func);
ENTRY_RS_FIELD(irq_work, node_u_flags, node.u_flags);

#ifdef CONFIG_X86_64
ENTRY_RS_VAR(__preempt_count);
ENTRY_RS_VAR(current_task);
ENTRY_RS_VAR(cpu_current_top_of_stack);
#endif
#ifdef CONFIG_NO_HZ_FULL
#ifdef CONFIG_X86_64
ENTRY_RS_VAR(cpu_number);
#endif
ENTRY_RS_VAR(tick_nohz_full_running);
ENTRY_RS_STRUCT(cpumask);
ENTRY_RS_FIELD(cpumask, bits, bits);
#endif
#ifdef CONFIG_TRACE_IRQFLAGS
ENTRY_RS_VAR(hardirqs_enabled);
ENTRY_RS_VAR(hardirq_context);
#endif
#ifdef CONFIG_PROVE_LOCKING
ENTRY_RS_VAR(lockdep_recursion);
#endif
