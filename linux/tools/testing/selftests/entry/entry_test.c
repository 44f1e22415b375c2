// SPDX-License-Identifier: GPL-2.0
/*
 * entry_test.c - user space checks of the generic entry code (x86_64, arm64)
 *
 * Exercises the paths of kernel/entry/common.c and the helpers it inlines
 * (include/linux/entry-common.h, irq-entry-common.h): syscall entry work
 * (syscall_trace_enter: user dispatch, ptrace, seccomp), syscall exit work
 * (syscall_exit_work), exit_to_user_mode_loop (signals, restarts, rseq,
 * notify resume) and irqentry_enter/irqentry_exit for interrupts and
 * exceptions from user mode.
 *
 * Every test runs in its own forked child (own process group) under an
 * alarm() watchdog in the runner, so that a hang or a crash fails only that
 * test (a child that not even SIGKILL ends, as on a kernel that never
 * delivers signals on the way back to user mode, is left behind). Each test
 * checks concrete values: return values, errno, register contents, signal
 * information and the order of ptrace stops. "entry_test -t NAME" (repeated
 * as needed) runs only the named tests.
 *
 * arm64 uses the generic irq entry (exit_to_user_mode_loop) but its own
 * syscall entry, so there the table holds only the tests marked [arm64]
 * below, with arm64 registers (pc, x0, x7, x8, NT_ARM_SYSTEM_CALL). Not there:
 * - syscall_insn_regs, int80_compat, ptrace_singlestep_syscall, rseq_abort_*,
 *   singlestep_tf_syscall, fpu_across_preemption: x86 instructions, EFLAGS
 *   and xmm registers (the step over a syscall is arm64's own code).
 * - seccomp_*, audit_syscall_exit: the arm64 test kernel has no
 *   SECCOMP_FILTER and no audit (no CONFIG_NET).
 * - sud_*: syscall user dispatch needs GENERIC_SYSCALL, which arm64 lacks.
 *
 * syscall_getpid_getppid      getpid/getppid/gettid agree with /proc and the
 *                             runner (plain do_syscall_64 round trip). [arm64]
 * syscall_enosys              syscall(-1), other negative numbers and numbers
 *                             past the table give -1/ENOSYS (-ENOSYS preset
 *                             on entry, no syscall function called). [arm64]
 * syscall_insn_regs           raw "syscall": result in rax, rcx = address
 *                             after the instruction, r11 = rflags, all other
 *                             registers preserved (SYSRET exit).
 * int80_compat                int $0x80 from a 64-bit task (IA32 emulation,
 *                             do_int80_emulation): getpid/getppid work, bad
 *                             numbers give -ENOSYS.
 * signal_on_syscall_return    a signal sent or unblocked by a syscall runs its
 *                             handler before that syscall returns, the frame
 *                             holds the syscall's ip and result
 *                             (exit_to_user_mode_loop, _TIF_SIGPENDING).
 *                             [arm64] the frame's pc and x0.
 * signal_on_irq_return        ITIMER_REAL, ITIMER_PROF and ITIMER_VIRTUAL
 *                             signals arrive in a loop without syscalls and all
 *                             general purpose registers and carry survive.
 *                             SIGALRM is sent by the hrtimer interrupt itself,
 *                             so _TIF_SIGPENDING alone sends irqentry_exit into
 *                             the work loop; the CPU-time signals are queued by
 *                             task work on the way out (_TIF_NOTIFY_RESUME).
 *                             [arm64] the same with x2-x7, x19-x24 and NZCV.
 * signal_on_exception_return  #PF, #UD, #BP and #DE from user mode give SIGSEGV,
 *                             SIGILL, SIGTRAP and SIGFPE with the right ip,
 *                             si_addr and si_code (irqentry_enter/exit around
 *                             the exception handlers) and resume as the
 *                             handler says with registers intact. A software
 *                             perf counter shows that the faulting load ran
 *                             once: the signal was delivered on the first
 *                             return to user mode, not after the load was
 *                             retried until other work entered the loop.
 *                             [arm64] a bad load (also fault_address), udf
 *                             and brk: SIGSEGV, SIGILL and SIGTRAP at the
 *                             faulting pc; no SIGFPE, division does not trap.
 * uprobe_on_exit              a uprobe (perf's uprobe PMU) on an instruction of
 *                             this program counts each of 5 calls, which
 *                             return the right value: the breakpoint and the
 *                             end of the out-of-line single step each set
 *                             _TIF_UPROBE, which only uprobe_notify_resume()
 *                             in exit_to_user_mode_loop handles (left
 *                             unhandled, the task never leaves the loop: the
 *                             calls run in a helper that is killed after 5 s).
 *                             [arm64] skipped on a kernel without
 *                             UPROBE_EVENTS, as the lab's arm64 kernel is.
 * restart_read_sa_restart     read() on an empty pipe interrupted by an
 *                             SA_RESTART handler is restarted (-ERESTARTSYS
 *                             in arch_do_signal_or_restart). [arm64]
 * restart_read_eintr          the same without SA_RESTART returns EINTR.
 *                             [arm64]
 * restart_nanosleep_eintr     nanosleep() interrupted by a handler returns EINTR
 *                             and the remaining time even with SA_RESTART
 *                             (-ERESTART_RESTARTBLOCK). [arm64]
 * restart_syscall_after_stop  nanosleep() stopped by SIGSTOP and continued is
 *                             resumed through restart_syscall and ends at its
 *                             original deadline (restart without handler).
 *                             [arm64]
 * ptrace_syscall_stops        PTRACE_SYSCALL entry and exit stops of getpid:
 *                             orig_rax, rax = -ENOSYS at entry, the result at
 *                             exit (SYSCALL_WORK_SYSCALL_TRACE).
 *                             [arm64] NT_ARM_SYSTEM_CALL and x8 = getpid,
 *                             x0 = first argument, x7 = 0 at entry; x0 =
 *                             result, x7 = 1 at exit (arm64's syscall path).
 * ptrace_change_syscall_nr    the tracer turns getpid into getppid at entry
 *                             (number reread after syscall_trace_enter).
 *                             [arm64] through NT_ARM_SYSTEM_CALL.
 * ptrace_change_retval        the tracer changes the return value at exit.
 *                             [arm64]
 * ptrace_skip_syscall         the tracer skips the syscall (orig_rax = -1); the
 *                             rax it sets at entry or exit is returned.
 *                             [arm64] number -1; x0 is returned as it is, the
 *                             first argument when the tracer leaves it.
 * ptrace_singlestep_syscall   PTRACE_SINGLESTEP over "syscall" stops at the
 *                             instruction after it with TRAP_BRKPT
 *                             (SYSCALL_WORK_SYSCALL_EXIT_TRAP, report_single_step).
 * seccomp_allow               SECCOMP_RET_ALLOW runs the syscall with its
 *                             arguments (SYSCALL_WORK_SECCOMP). RET_LOG is left
 *                             out: its audit record would land in the console
 *                             output between the KTAP lines.
 * seccomp_errno               SECCOMP_RET_ERRNO returns the filter's errno, also
 *                             for a number that is not a syscall.
 * seccomp_trap                SECCOMP_RET_TRAP: SIGSYS with si_syscall, si_arch,
 *                             si_errno, si_call_addr and the rolled back rax;
 *                             the handler supplies the return value.
 * seccomp_kill                SECCOMP_RET_KILL_THREAD and _KILL_PROCESS kill the
 *                             task with SIGSYS; the killed writev() does not run.
 * seccomp_trace               SECCOMP_RET_TRACE: PTRACE_EVENT_SECCOMP stops where
 *                             the tracer lets the syscall run, skips it or
 *                             changes it; -ENOSYS without a tracer.
 * seccomp_user_notif          SECCOMP_RET_USER_NOTIF: a supervisor receives the
 *                             notification and chooses value, error or continue.
 * seccomp_after_ptrace        seccomp filters the number the tracer set at the
 *                             entry stop (ptrace runs before seccomp).
 * sud_block_sigsys            syscall user dispatch, selector BLOCK: SIGSYS with
 *                             SYS_USER_DISPATCH, the syscall is not executed
 *                             (syscall_user_dispatch, exit work skipped).
 * sud_selector_allow          selector ALLOW: the syscall runs.
 * sud_allowed_range           a syscall from the excluded range always runs.
 * sud_off                     PR_SYS_DISPATCH_OFF stops dispatching.
 * sud_range_boundary          the allowed range is [offset, offset + len): a
 *                             syscall whose ip is the range's last byte runs,
 *                             one whose ip is the first byte after it does not.
 * sud_bad_selector            an invalid selector value kills with SIGSYS.
 * rseq_cpu_id                 rseq cpu_id/cpu_id_start follow sched_setaffinity
 *                             (rseq update in exit_to_user_mode_loop).
 *                             [arm64]
 * rseq_abort_preempt_v1/_v2   a critical section preempted by a busy task on the
 *                             same CPU is aborted and rseq_cs cleared; needs
 *                             the user-irq note of irqentry_enter. v1: glibc's
 *                             32-byte registration, v2: a larger one (the
 *                             optimized ABI of 7.x).
 * rseq_abort_signal_v1/_v2    a signal arriving in a critical section aborts it:
 *                             the handler's frame holds the abort ip.
 * rseq_user_irq_cleared       after a SIGALRM that interrupted user mode, a
 *                             signal sent by a syscall made inside a critical
 *                             section does not abort it: every return from an
 *                             interrupt clears rseq's user_irq event
 *                             (rseq_irqentry_exit_to_user_mode), and a
 *                             syscall cannot be in a section, so the signal
 *                             frame holds the syscall's return address (v2
 *                             registration, 10 rounds).
 * futex_robust_unlock_fixup   single-stepped with EFLAGS.TF through the vDSO's
 *                             __vdso_futex_robust_list64_try_unlock(): at the
 *                             trap right after its successful lock cmpxchg,
 *                             the SIGTRAP handler finds the robust list's
 *                             pending op pointer already cleared: the exit
 *                             loop calls futex_fixup_robust_unlock() before it
 *                             delivers a signal to a task interrupted in the
 *                             unlock sequence. Skipped without the vDSO
 *                             function (FUTEX_ROBUST_UNLOCK).
 * unwind_deferred_per_entry   perf's deferred user callchains (defer_callchain,
 *                             task-clock samples of a spin without system
 *                             calls): nearly every sample, taken by an
 *                             interrupt of its own, has a cookie of its own
 *                             and a PERF_RECORD_CALLCHAIN_DEFERRED (a sample
 *                             during the previous one's exit work shares its
 *                             entry and cookie):
 *                             exit_to_user_mode's unwind_reset_info() ends the
 *                             entry's unwind request and cookie. Skipped when
 *                             the kernel refuses defer_callchain.
 * singlestep_tf_syscall       EFLAGS.TF set by the task itself: traps before the
 *                             syscall and after the instruction following it
 *                             (IRET exit with TF), r11 holds TF.
 * audit_syscall_exit          with an exit rule for getppid, a child forked
 *                             while audit is on gets a SYSCALL record with its
 *                             result (audit_syscall_exit in the exit work).
 *                             Last: audit stays "ever enabled", so every later
 *                             fork has SYSCALL_WORK_SYSCALL_AUDIT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* glibc 2.35 registers rseq itself and exports __rseq_offset/__rseq_size */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35)
#include <sys/rseq.h>
#define HAVE_GLIBC_RSEQ 1
#endif

#include "../kselftest.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#define SYSCALL_DISPATCH_FILTER_ALLOW	0
#define SYSCALL_DISPATCH_FILTER_BLOCK	1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH		2
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP			1
#endif
#ifndef TRAP_BRKPT
#define TRAP_BRKPT			1
#endif
#ifndef TRAP_TRACE
#define TRAP_TRACE			2
#endif
#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE		27
#define AT_RSEQ_ALIGN			28
#endif

#if defined(__x86_64__)
#define ET_RSEQ_SIG			0x53053053
#elif defined(__aarch64__)
/* glibc's signature on arm64 (brk #0x45e0): unregistering needs it */
#define ET_RSEQ_SIG			0xd428bc00
#endif
#define ET_RSEQ_FLAG_UNREGISTER		1
#define IA32_NR_GETPID			20
#define IA32_NR_GETPPID			64
#define X86_EFLAGS_TF			0x100UL
#define TEST_TIMEOUT			10
#define NSEC_PER_MSEC			1000000LL
#define ERR_NOSYS			ENOSYS

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define INC(x)		__atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

/* Layout of struct rseq (include/uapi/linux/rseq.h) */
struct et_rseq {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
	uint32_t slice_ctrl;
};

/* Shared between the runner, the test child and its helpers */
struct shared {
	char msg[512];
	long v[16];
	unsigned long counter;
	int flag;
	int stop;
};

static struct shared *shm;
static pid_t runner_pid;

/*
 * Assembly helpers. The tests compare instruction pointers (signal frames,
 * ptrace stops, siginfo) against their labels, see ADDR() below.
 */
#if defined(__x86_64__)
asm(".text\n"
	/* long raw_sys(long nr, long a0, long a1, long a2, long a3) */
	".type et_raw_sys, @function\n"
	"et_raw_sys:\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	syscall\n"
	"et_raw_sys_ret:\n"
	"	ret\n"
	".size et_raw_sys, .-et_raw_sys\n"

	/*
	 * long sys_regs(long nr, unsigned long *out): out[0] = rcx,
	 * out[1] = r11 after the syscall, out[2] = rflags before it,
	 * out[3..14] = rbx rbp r12 r13 r14 r15 rdi rsi rdx r8 r9 r10 after it.
	 */
	".type et_sys_regs, @function\n"
	"et_sys_regs:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	pushq %rsi\n"
	"	pushfq\n"
	"	popq %rcx\n"
	"	movq %rcx, 16(%rsi)\n"
	"	movq %rdi, %rax\n"
	"	movabsq $0x1111111111111111, %rbx\n"
	"	movabsq $0x2222222222222222, %rbp\n"
	"	movabsq $0x3333333333333333, %r12\n"
	"	movabsq $0x4444444444444444, %r13\n"
	"	movabsq $0x5555555555555555, %r14\n"
	"	movabsq $0x6666666666666666, %r15\n"
	"	movabsq $0x7777777777777777, %rdi\n"
	"	movabsq $0x8888888888888888, %rsi\n"
	"	movabsq $0x9999999999999999, %rdx\n"
	"	movabsq $0xaaaaaaaaaaaaaaaa, %r8\n"
	"	movabsq $0xbbbbbbbbbbbbbbbb, %r9\n"
	"	movabsq $0xcccccccccccccccc, %r10\n"
	"	syscall\n"
	"et_sys_regs_ret:\n"
	"	pushq %rax\n"
	"	movq 8(%rsp), %rax\n"
	"	movq %rcx, 0(%rax)\n"
	"	movq %r11, 8(%rax)\n"
	"	movq %rbx, 24(%rax)\n"
	"	movq %rbp, 32(%rax)\n"
	"	movq %r12, 40(%rax)\n"
	"	movq %r13, 48(%rax)\n"
	"	movq %r14, 56(%rax)\n"
	"	movq %r15, 64(%rax)\n"
	"	movq %rdi, 72(%rax)\n"
	"	movq %rsi, 80(%rax)\n"
	"	movq %rdx, 88(%rax)\n"
	"	movq %r8, 96(%rax)\n"
	"	movq %r9, 104(%rax)\n"
	"	movq %r10, 112(%rax)\n"
	"	popq %rax\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n"
	".size et_sys_regs, .-et_sys_regs\n"

	/*
	 * void et_spin(unsigned long *out, unsigned long iters): a loop
	 * without memory accesses that mixes 12 registers and the carry
	 * flag; out[0..11] = rax rbx rdx rsi r8 r9 r10 r11 r12 r13 r14 r15.
	 */
	".type et_spin, @function\n"
	"et_spin:\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsi, %rcx\n"
	"	xorl %eax, %eax\n"
	"	movl $1, %ebx\n"
	"	movl $2, %edx\n"
	"	movl $3, %esi\n"
	"	movl $5, %r8d\n"
	"	movl $7, %r9d\n"
	"	movl $11, %r10d\n"
	"	movl $13, %r11d\n"
	"	movl $17, %r12d\n"
	"	movl $19, %r13d\n"
	"	movl $23, %r14d\n"
	"	movl $29, %r15d\n"
	"et_spin_loop:\n"
	"	addq %rbx, %rax\n"
	"	adcq %rdx, %rsi\n"
	"	xorq %rax, %r8\n"
	"	leaq 1(%r8,%r9), %r9\n"
	"	rolq $7, %r10\n"
	"	addq %r9, %r10\n"
	"	subq %r10, %r11\n"
	"	addq %r11, %r12\n"
	"	adcq %r12, %r13\n"
	"	xorq %r13, %r14\n"
	"	addq %r14, %r15\n"
	"	adcq %r15, %rbx\n"
	"	incq %rdx\n"
	"	decq %rcx\n"
	"	jnz et_spin_loop\n"
	"et_spin_end:\n"
	"	movq %rax, 0(%rdi)\n"
	"	movq %rbx, 8(%rdi)\n"
	"	movq %rdx, 16(%rdi)\n"
	"	movq %rsi, 24(%rdi)\n"
	"	movq %r8, 32(%rdi)\n"
	"	movq %r9, 40(%rdi)\n"
	"	movq %r10, 48(%rdi)\n"
	"	movq %r11, 56(%rdi)\n"
	"	movq %r12, 64(%rdi)\n"
	"	movq %r13, 72(%rdi)\n"
	"	movq %r14, 80(%rdi)\n"
	"	movq %r15, 88(%rdi)\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	ret\n"
	".size et_spin, .-et_spin\n"

	/* long et_exc_segv(long magic): loads from address 0x10 */
	".type et_exc_segv, @function\n"
	"et_exc_segv:\n"
	"	movq %rdi, %rdx\n"
	"et_exc_segv_insn:\n"
	"	movq 0x10, %rax\n"
	"et_exc_segv_resume:\n"
	"	movq %rdx, %rax\n"
	"	ret\n"
	".size et_exc_segv, .-et_exc_segv\n"

	/* long et_uprobe_target(long magic): magic + 1; probed at _insn */
	".type et_uprobe_target, @function\n"
	"et_uprobe_target:\n"
	"et_uprobe_insn:\n"
	"	leaq 1(%rdi), %rax\n"
	"	ret\n"
	".size et_uprobe_target, .-et_uprobe_target\n"

	/* long et_exc_ud2(long magic) */
	".type et_exc_ud2, @function\n"
	"et_exc_ud2:\n"
	"	movq %rdi, %rdx\n"
	"et_exc_ud2_insn:\n"
	"	ud2\n"
	"	movq %rdx, %rax\n"
	"	ret\n"
	".size et_exc_ud2, .-et_exc_ud2\n"

	/* long et_exc_int3(long magic) */
	".type et_exc_int3, @function\n"
	"et_exc_int3:\n"
	"	movq %rdi, %rdx\n"
	"	int3\n"
	"et_exc_int3_after:\n"
	"	movq %rdx, %rax\n"
	"	ret\n"
	".size et_exc_int3, .-et_exc_int3\n"

	/* long et_exc_div(long magic): divides by zero */
	".type et_exc_div, @function\n"
	"et_exc_div:\n"
	"	movq %rdi, %r8\n"
	"	xorl %ecx, %ecx\n"
	"	xorl %edx, %edx\n"
	"	movl $1, %eax\n"
	"et_exc_div_insn:\n"
	"	divl %ecx\n"
	"et_exc_div_resume:\n"
	"	movq %r8, %rax\n"
	"	ret\n"
	".size et_exc_div, .-et_exc_div\n"

	/*
	 * long et_ss_target(void): getppid through "syscall", used by the
	 * ptrace single-step test.
	 */
	".type et_ss_target, @function\n"
	"et_ss_target:\n"
	"	movl $110, %eax\n"
	"et_ss_sys:\n"
	"	syscall\n"
	"et_ss_after:\n"
	"	nop\n"
	"	nop\n"
	"et_ss_end:\n"
	"	ret\n"
	".size et_ss_target, .-et_ss_target\n"

	/*
	 * long et_tf_syscall(long nr, unsigned long *r11): sets EFLAGS.TF,
	 * runs the syscall, stores r11 and returns rax. The SIGTRAP handler
	 * clears TF once it sees et_tf_stop.
	 */
	".type et_tf_syscall, @function\n"
	"et_tf_syscall:\n"
	"	movq %rdi, %r8\n"
	"	movq %rsi, %r9\n"
	"	pushfq\n"
	"	orq $0x100, (%rsp)\n"
	"	popfq\n"
	"et_tf_first:\n"
	"	movq %r8, %rax\n"
	"et_tf_sys:\n"
	"	syscall\n"
	"et_tf_after:\n"
	"	movq %r11, (%r9)\n"
	"et_tf_after2:\n"
	"	nop\n"
	"et_tf_stop:\n"
	"	nop\n"
	"	ret\n"
	".size et_tf_syscall, .-et_tf_syscall\n"

	/*
	 * long et_rseq_sys(struct et_rseq *rs, long nr, long a0, long a1):
	 * arms a critical section whose range holds a syscall instruction and
	 * makes the syscall nr(a0, a1) in it. Returns the syscall's result, or
	 * ET_RSEQ_ABORTED when the kernel aborted the section.
	 */
	".pushsection .data\n"
	".balign 32\n"
	"et_rseq_sys_desc:\n"
	"	.long 0, 0\n"
	"	.quad et_rseq_sys_start\n"
	"	.quad et_rseq_sys_end - et_rseq_sys_start\n"
	"	.quad et_rseq_sys_abort\n"
	".popsection\n"
	".type et_rseq_sys, @function\n"
	"et_rseq_sys:\n"
	"	leaq et_rseq_sys_desc(%rip), %rax\n"
	"	movq %rax, 8(%rdi)\n"
	"et_rseq_sys_start:\n"
	"	movq %rsi, %rax\n"
	"	movq %rdx, %rdi\n"
	"	movq %rcx, %rsi\n"
	"	syscall\n"
	"et_rseq_sys_ret:\n"
	"	nop\n"
	"et_rseq_sys_end:\n"
	"	ret\n"
	"	.byte 0x0f, 0xb9, 0x3d\n"
	"	.long 0x53053053\n"
	"et_rseq_sys_abort:\n"
	"	movq $0x5ab0, %rax\n"
	"	ret\n"
	".size et_rseq_sys, .-et_rseq_sys\n"

	/*
	 * unsigned int et_tf_vdso_call(void *fn, uint32_t *lock, uint32_t tid,
	 *				uint64_t *pop): calls the vDSO's
	 * fn(lock, tid, pop) with EFLAGS.TF set; the SIGTRAP handler clears
	 * TF at et_tf_vdso_done.
	 */
	".type et_tf_vdso_call, @function\n"
	"et_tf_vdso_call:\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movl %edx, %esi\n"
	"	movq %rcx, %rdx\n"
	"	pushfq\n"
	"	orq $0x100, (%rsp)\n"
	"	popfq\n"
	"	call *%rax\n"
	"et_tf_vdso_done:\n"
	"	ret\n"
	".size et_tf_vdso_call, .-et_tf_vdso_call\n"

	/*
	 * int et_rseq_run(struct et_rseq *rs, unsigned long loops,
	 *		   unsigned long *ctr, unsigned long *delta):
	 * critical section that reads *ctr, spins, reads *ctr again and
	 * commits the difference to *delta. Returns 0 on commit, 1 when the
	 * kernel aborted it.
	 */
	".pushsection .data\n"
	".balign 32\n"
	"et_rseq_desc:\n"
	"	.long 0, 0\n"
	"	.quad et_rseq_start\n"
	"	.quad et_rseq_commit_end - et_rseq_start\n"
	"	.quad et_rseq_abort\n"
	".popsection\n"
	".type et_rseq_run, @function\n"
	"et_rseq_run:\n"
	"	leaq et_rseq_desc(%rip), %rax\n"
	"	movq %rax, 8(%rdi)\n"
	"et_rseq_start:\n"
	"	movq (%rdx), %r8\n"
	"	movq %rsi, %r9\n"
	"1:	decq %r9\n"
	"	jnz 1b\n"
	"	movq (%rdx), %r10\n"
	"	subq %r8, %r10\n"
	"	movq %r10, (%rcx)\n"
	"et_rseq_commit_end:\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"	.byte 0x0f, 0xb9, 0x3d\n"
	"	.long 0x53053053\n"
	"et_rseq_abort:\n"
	"	movl $1, %eax\n"
	"	ret\n"
	".size et_rseq_run, .-et_rseq_run\n"

	/*
	 * The only code in the range that syscall user dispatch excludes:
	 * same calling convention as et_raw_sys.
	 */
	".balign 64\n"
	".type et_sud_allowed_sys, @function\n"
	"et_sud_allowed_sys:\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	syscall\n"
	"	ret\n"
	"et_sud_allowed_end:\n"
	"	nop\n"
	".size et_sud_allowed_sys, .-et_sud_allowed_sys\n"
);
#elif defined(__aarch64__)
/*
 * Every function starts with "bti c" (hint #34, a nop without BTI): the
 * tests call them through pointers.
 */
asm(".text\n"
	/* long raw_sys(long nr, long a0, long a1, long a2, long a3) */
	".type et_raw_sys, %function\n"
	"et_raw_sys:\n"
	"	hint #34\n"
	"	mov x8, x0\n"
	"	mov x0, x1\n"
	"	mov x1, x2\n"
	"	mov x2, x3\n"
	"	mov x3, x4\n"
	"	svc #0\n"
	"et_raw_sys_ret:\n"
	"	ret\n"
	".size et_raw_sys, .-et_raw_sys\n"

	/*
	 * void et_spin(unsigned long *out, unsigned long iters): the loop of
	 * spin_ref() without memory accesses, on caller and callee saved
	 * registers and the carry flag; out[0..11] = x2 x3 x4 x5 x6 x7 x19
	 * x20 x21 x22 x23 x24 (in the x86 version rax rbx rdx rsi r8-r15).
	 */
	".type et_spin, %function\n"
	"et_spin:\n"
	"	hint #34\n"
	"	stp x19, x20, [sp, #-48]!\n"
	"	stp x21, x22, [sp, #16]\n"
	"	stp x23, x24, [sp, #32]\n"
	"	mov x2, #0\n"
	"	mov x3, #1\n"
	"	mov x4, #2\n"
	"	mov x5, #3\n"
	"	mov x6, #5\n"
	"	mov x7, #7\n"
	"	mov x19, #11\n"
	"	mov x20, #13\n"
	"	mov x21, #17\n"
	"	mov x22, #19\n"
	"	mov x23, #23\n"
	"	mov x24, #29\n"
	"et_spin_loop:\n"
	"	adds x2, x2, x3\n"
	"	adc x5, x5, x4\n"
	"	eor x6, x6, x2\n"
	"	add x7, x6, x7\n"
	"	add x7, x7, #1\n"
	"	ror x19, x19, #57\n"
	"	add x19, x19, x7\n"
	"	sub x20, x20, x19\n"
	"	adds x21, x21, x20\n"
	"	adc x22, x22, x21\n"
	"	eor x23, x23, x22\n"
	"	adds x24, x24, x23\n"
	"	adc x3, x3, x24\n"
	"	add x4, x4, #1\n"
	"	subs x1, x1, #1\n"
	"	b.ne et_spin_loop\n"
	"et_spin_end:\n"
	"	stp x2, x3, [x0]\n"
	"	stp x4, x5, [x0, #16]\n"
	"	stp x6, x7, [x0, #32]\n"
	"	stp x19, x20, [x0, #48]\n"
	"	stp x21, x22, [x0, #64]\n"
	"	stp x23, x24, [x0, #80]\n"
	"	ldp x23, x24, [sp, #32]\n"
	"	ldp x21, x22, [sp, #16]\n"
	"	ldp x19, x20, [sp], #48\n"
	"	ret\n"
	".size et_spin, .-et_spin\n"

	/* long et_exc_segv(long magic): loads from address 0x10 */
	".type et_exc_segv, %function\n"
	"et_exc_segv:\n"
	"	hint #34\n"
	"	mov x9, x0\n"
	"	mov x1, #0x10\n"
	"et_exc_segv_insn:\n"
	"	ldr x0, [x1]\n"
	"et_exc_segv_resume:\n"
	"	mov x0, x9\n"
	"	ret\n"
	".size et_exc_segv, .-et_exc_segv\n"

	/* long et_uprobe_target(long magic): magic + 1; probed at _insn */
	".type et_uprobe_target, %function\n"
	"et_uprobe_target:\n"
	"	hint #34\n"
	"et_uprobe_insn:\n"
	"	add x0, x0, #1\n"
	"	ret\n"
	".size et_uprobe_target, .-et_uprobe_target\n"

	/* long et_exc_udf(long magic) */
	".type et_exc_udf, %function\n"
	"et_exc_udf:\n"
	"	hint #34\n"
	"	mov x9, x0\n"
	"et_exc_udf_insn:\n"
	"	udf #0\n"
	"	mov x0, x9\n"
	"	ret\n"
	".size et_exc_udf, .-et_exc_udf\n"

	/* long et_exc_brk(long magic) */
	".type et_exc_brk, %function\n"
	"et_exc_brk:\n"
	"	hint #34\n"
	"	mov x9, x0\n"
	"et_exc_brk_insn:\n"
	"	brk #0\n"
	"	mov x0, x9\n"
	"	ret\n"
	".size et_exc_brk, .-et_exc_brk\n"
);
#else
#error "entry_test: x86_64 and arm64 only"
#endif

/*
 * Address of a symbol of the assembly above. Taken with inline assembly so
 * that no C declarations of the assembly symbols are needed.
 */
#if defined(__x86_64__)
#define ADDR(sym) ({						\
	unsigned long __addr;					\
	asm ("leaq " #sym "(%%rip), %0" : "=r" (__addr));	\
	__addr;							\
})
#elif defined(__aarch64__)
#define ADDR(sym) ({						\
	unsigned long __addr;					\
	asm ("adrp %0, " #sym "\n\t"				\
	     "add %0, %0, :lo12:" #sym : "=r" (__addr));	\
	__addr;							\
})
#endif

static long raw_sys(long nr, long a0, long a1, long a2, long a3)
{
	long (*fn)(long nr, long a0, long a1, long a2, long a3);

	fn = (void *)ADDR(et_raw_sys);
	return fn(nr, a0, a1, a2, a3);
}

#if defined(__x86_64__)
static long sud_allowed_sys(long nr, long a0, long a1, long a2, long a3)
{
	long (*fn)(long nr, long a0, long a1, long a2, long a3);

	fn = (void *)ADDR(et_sud_allowed_sys);
	return fn(nr, a0, a1, a2, a3);
}

static long sys_regs(long nr, unsigned long *out)
{
	long (*fn)(long nr, unsigned long *out);

	fn = (void *)ADDR(et_sys_regs);
	return fn(nr, out);
}
#endif

static void spin_asm(uint64_t *out, unsigned long iters)
{
	void (*fn)(uint64_t *out, unsigned long iters);

	fn = (void *)ADDR(et_spin);
	fn(out, iters);
}

#if defined(__x86_64__)
static long tf_syscall(long nr, unsigned long *r11)
{
	long (*fn)(long nr, unsigned long *r11);

	fn = (void *)ADDR(et_tf_syscall);
	return fn(nr, r11);
}

static int rseq_run(struct et_rseq *rs, unsigned long loops, unsigned long *ctr,
		    unsigned long *delta)
{
	int (*fn)(struct et_rseq *rs, unsigned long loops, unsigned long *ctr,
		  unsigned long *delta);

	fn = (void *)ADDR(et_rseq_run);
	return fn(rs, loops, ctr, delta);
}
#endif

/* Calls one of the helpers that take a magic value and return it */
static long call_magic(unsigned long addr, long magic)
{
	long (*fn)(long magic);

	fn = (void *)addr;
	return fn(magic);
}

/* ---- helpers ---- */

static __printf(1, 2) int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(shm->msg, sizeof(shm->msg), fmt, ap);
	va_end(ap);
	return KSFT_FAIL;
}

static __printf(1, 2) int skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(shm->msg, sizeof(shm->msg), fmt, ap);
	va_end(ap);
	return KSFT_SKIP;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * NSEC_PER_MSEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int set_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

#if defined(__x86_64__)
#define UC_IP		REG_RIP
#define UC_RET		REG_RAX

static unsigned long uc_reg(void *ctx, int reg)
{
	return ((ucontext_t *)ctx)->uc_mcontext.gregs[reg];
}

static void uc_set_reg(void *ctx, int reg, unsigned long val)
{
	((ucontext_t *)ctx)->uc_mcontext.gregs[reg] = val;
}
#elif defined(__aarch64__)
/* Registers of uc_reg(): 0-30 are x0-x30, UC_IP is the pc */
#define UC_IP		32
#define UC_RET		0

static unsigned long uc_reg(void *ctx, int reg)
{
	mcontext_t *mc = &((ucontext_t *)ctx)->uc_mcontext;

	return reg == UC_IP ? mc->pc : mc->regs[reg];
}

static void uc_set_reg(void *ctx, int reg, unsigned long val)
{
	mcontext_t *mc = &((ucontext_t *)ctx)->uc_mcontext;

	if (reg == UC_IP)
		mc->pc = val;
	else
		mc->regs[reg] = val;
}
#endif

/* State letter of /proc/<pid>/stat, 0 if it cannot be read */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

/*
 * Number of the syscall @pid is blocked in according to /proc/<pid>/syscall:
 * -1 when running, -2 when the file cannot be read.
 */
static long proc_syscall(pid_t pid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -2;
	buf[n] = 0;
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtol(buf, NULL, 10);
}

/* Wait until @pid sleeps, in syscall @nr when that can be seen */
static int wait_blocked(pid_t pid, long nr)
{
	long long end = now_ns() + 5000 * NSEC_PER_MSEC;

	while (now_ns() < end) {
		if (proc_state(pid) == 'S') {
			long cur = proc_syscall(pid);

			if (cur == -2 || cur == nr)
				return 0;
		}
		usleep(1000);
	}
	return -1;
}

static int wait_flag(int *flag, int val)
{
	long long end = now_ns() + 5000 * NSEC_PER_MSEC;

	while (now_ns() < end) {
		if (LOAD(*flag) == val)
			return 0;
		usleep(1000);
	}
	return -1;
}

static int pid_from_proc_stat(void)
{
	char buf[128];
	ssize_t n;
	int fd;

	fd = open("/proc/self/stat", O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atoi(buf);
}

/* Wait for a child with a bound; returns the status or -1 */
static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static const char *status_str(int status)
{
	static char buf[64];

	if (status == -1)
		snprintf(buf, sizeof(buf), "wait failed");
	else if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "signal %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", status);
	return buf;
}

/* ---- 1. syscall return values ---- */

static int test_getpid_getppid(void)
{
	pid_t pid = getpid();

	if (getppid() != runner_pid)
		return fail("getppid %d, runner %d", getppid(), runner_pid);
	if (pid_from_proc_stat() != pid)
		return fail("getpid %d, /proc/self/stat %d", pid, pid_from_proc_stat());
	if (syscall(SYS_gettid) != pid)
		return fail("gettid %ld != pid %d", syscall(SYS_gettid), pid);
	if (raw_sys(__NR_getpid, 0, 0, 0, 0) != pid)
		return fail("raw getpid %ld", raw_sys(__NR_getpid, 0, 0, 0, 0));
	if (raw_sys(__NR_getppid, 0, 0, 0, 0) != runner_pid)
		return fail("raw getppid wrong");
	return KSFT_PASS;
}

static int test_enosys(void)
{
	static const long nrs[] = {
		-1, -2, -1000, 0x7fffffff, 1 << 20, 4096, 0x100000000L | 1000,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		long r;

		errno = 0;
		r = syscall(nrs[i], 0, 0, 0, 0, 0, 0);
		if (r != -1 || errno != ERR_NOSYS)
			return fail("syscall(%#lx) = %ld errno %d", nrs[i], r, errno);
		r = raw_sys(nrs[i], 0, 0, 0, 0);
		if (r != -ERR_NOSYS)
			return fail("raw syscall %#lx returned %ld", nrs[i], r);
	}
	return KSFT_PASS;
}

#if defined(__x86_64__)
static int check_sys_regs(long nr, long expect)
{
	static const unsigned long magic[] = {
		0x1111111111111111UL, 0x2222222222222222UL, 0x3333333333333333UL,
		0x4444444444444444UL, 0x5555555555555555UL, 0x6666666666666666UL,
		0x7777777777777777UL, 0x8888888888888888UL, 0x9999999999999999UL,
		0xaaaaaaaaaaaaaaaaUL, 0xbbbbbbbbbbbbbbbbUL, 0xccccccccccccccccUL,
	};
	static const char * const names[] = {
		"rbx", "rbp", "r12", "r13", "r14", "r15",
		"rdi", "rsi", "rdx", "r8", "r9", "r10",
	};
	unsigned long out[15];
	unsigned int i;
	long r;

	memset(out, 0, sizeof(out));
	r = sys_regs(nr, out);
	if (r != expect)
		return fail("syscall %ld returned %ld, expected %ld", nr, r, expect);
	if (out[0] != ADDR(et_sys_regs_ret))
		return fail("nr %ld: rcx %#lx, expected %#lx", nr, out[0],
			    ADDR(et_sys_regs_ret));
	if (out[1] != out[2])
		return fail("nr %ld: r11 %#lx, rflags before %#lx", nr, out[1], out[2]);
	for (i = 0; i < 12; i++) {
		if (out[3 + i] != magic[i])
			return fail("nr %ld: %s %#lx, expected %#lx", nr, names[i],
				    out[3 + i], magic[i]);
	}
	return KSFT_PASS;
}

static int test_syscall_insn_regs(void)
{
	int ret;

	ret = check_sys_regs(-1, -ERR_NOSYS);
	if (ret)
		return ret;
	ret = check_sys_regs(__NR_getppid, runner_pid);
	if (ret)
		return ret;
	return check_sys_regs(0x7fffffff, -ERR_NOSYS);
}

static sigjmp_buf int80_jmp;

static void int80_segv(int sig, siginfo_t *si, void *ctx)
{
	siglongjmp(int80_jmp, 1);
}

static long int80(long nr)
{
	long ret;

	asm volatile ("int $0x80"
		      : "=a" (ret)
		      : "a" (nr), "b" (0), "c" (0), "d" (0)
		      : "r8", "r9", "r10", "r11", "memory");
	return ret;
}

static int test_int80(void)
{
	static const long bad[] = { -1, 0xffff, 1000, 0x7fffffff };
	unsigned int i;
	long r;

	if (set_handler(SIGSEGV, int80_segv, SA_RESETHAND))
		return fail("sigaction");
	if (sigsetjmp(int80_jmp, 1))
		return skip("int $0x80 raised SIGSEGV: no IA32 emulation");
	r = int80(IA32_NR_GETPID);
	signal(SIGSEGV, SIG_DFL);
	if (r != getpid())
		return fail("int80 getpid returned %ld, pid %d", r, getpid());
	r = int80(IA32_NR_GETPPID);
	if (r != runner_pid)
		return fail("int80 getppid returned %ld, expected %d", r, runner_pid);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		r = int80(bad[i]);
		if ((int)r != -ERR_NOSYS)
			return fail("int80 nr %#lx returned %ld", bad[i], r);
	}
	return KSFT_PASS;
}
#endif

/* ---- 2. signal delivery ---- */

static int sig_count;
static unsigned long sig_rip, sig_rax;
static int sig_code, sig_pid, sig_signo;

static void record_handler(int sig, siginfo_t *si, void *ctx)
{
	STORE(sig_rip, uc_reg(ctx, UC_IP));
	STORE(sig_rax, uc_reg(ctx, UC_RET));
	STORE(sig_code, si->si_code);
	STORE(sig_pid, si->si_pid);
	STORE(sig_signo, sig);
	INC(sig_count);
}

static int test_signal_syscall_return(void)
{
	sigset_t set, pending;
	long r;

	if (set_handler(SIGUSR1, record_handler, 0) ||
	    set_handler(SIGUSR2, record_handler, 0))
		return fail("sigaction");

	r = raw_sys(__NR_kill, getpid(), SIGUSR1, 0, 0);
	if (r != 0)
		return fail("kill returned %ld", r);
	if (LOAD(sig_count) != 1)
		return fail("handler ran %d times before kill returned", LOAD(sig_count));
	if (LOAD(sig_signo) != SIGUSR1 || LOAD(sig_code) != SI_USER ||
	    LOAD(sig_pid) != getpid())
		return fail("siginfo: signo %d code %d pid %d", LOAD(sig_signo),
			    LOAD(sig_code), LOAD(sig_pid));
	if (LOAD(sig_rip) != ADDR(et_raw_sys_ret) || LOAD(sig_rax) != 0)
		return fail("handler saw rip %#lx rax %#lx, expected %#lx and 0",
			    LOAD(sig_rip), LOAD(sig_rax), ADDR(et_raw_sys_ret));

	/* A blocked signal is delivered when the unblocking syscall returns */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return fail("sigprocmask");
	if (kill(getpid(), SIGUSR2))
		return fail("kill");
	if (LOAD(sig_count) != 1)
		return fail("blocked SIGUSR2 was delivered");
	if (sigpending(&pending) || !sigismember(&pending, SIGUSR2))
		return fail("SIGUSR2 not pending");
	r = raw_sys(__NR_rt_sigprocmask, SIG_UNBLOCK, (long)&set, 0, 8);
	if (r != 0)
		return fail("rt_sigprocmask returned %ld", r);
	if (LOAD(sig_count) != 2 || LOAD(sig_signo) != SIGUSR2)
		return fail("SIGUSR2 not delivered on unblock (count %d)", LOAD(sig_count));
	if (LOAD(sig_rip) != ADDR(et_raw_sys_ret) || LOAD(sig_rax) != 0)
		return fail("unblock: handler saw rip %#lx rax %#lx", LOAD(sig_rip),
			    LOAD(sig_rax));
	return KSFT_PASS;
}

static int irq_in_loop, irq_outside;

static void timer_handler(int sig __maybe_unused, siginfo_t *si __maybe_unused, void *ctx)
{
	unsigned long ip = uc_reg(ctx, UC_IP);

	if (ip >= ADDR(et_spin_loop) && ip < ADDR(et_spin_end))
		INC(irq_in_loop);
	else
		INC(irq_outside);
	/* Clobber registers so that a bad restore shows up in et_spin */
#if defined(__x86_64__)
	asm volatile ("movq $-1, %%rbx\n\t"
		      "movq $-1, %%r12\n\t"
		      "movq $-1, %%r13\n\t"
		      "movq $-1, %%r14\n\t"
		      "movq $-1, %%r15\n\t"
		      "movq $-1, %%r8\n\t"
		      "movq $-1, %%r9\n\t"
		      "movq $-1, %%r10\n\t"
		      "movq $-1, %%r11\n\t"
		      "stc\n\t"
		      : : : "rbx", "r12", "r13", "r14", "r15", "r8", "r9", "r10",
			    "r11", "cc");
#elif defined(__aarch64__)
	asm volatile ("mov x2, #-1\n\t"
		      "mov x3, #-1\n\t"
		      "mov x4, #-1\n\t"
		      "mov x5, #-1\n\t"
		      "mov x6, #-1\n\t"
		      "mov x7, #-1\n\t"
		      "mov x19, #-1\n\t"
		      "mov x20, #-1\n\t"
		      "mov x21, #-1\n\t"
		      "mov x22, #-1\n\t"
		      "mov x23, #-1\n\t"
		      "mov x24, #-1\n\t"
		      "mov x9, #0xf0000000\n\t"
		      "msr nzcv, x9\n\t"
		      : : : "x2", "x3", "x4", "x5", "x6", "x7", "x9", "x19", "x20",
			    "x21", "x22", "x23", "x24", "cc");
#endif
}

static uint64_t rol64(uint64_t v, int n)
{
	return (v << n) | (v >> (64 - n));
}

/* C version of et_spin */
static void spin_ref(uint64_t *o, unsigned long iters)
{
	uint64_t rax = 0, rbx = 1, rdx = 2, rsi = 3, r8 = 5, r9 = 7, r10 = 11;
	uint64_t r11 = 13, r12 = 17, r13 = 19, r14 = 23, r15 = 29, t;
	int c;

	while (iters--) {
		t = rax + rbx;
		c = t < rax;
		rax = t;
		rsi = rsi + rdx + c;
		r8 ^= rax;
		r9 = r8 + r9 + 1;
		r10 = rol64(r10, 7) + r9;
		r11 -= r10;
		t = r12 + r11;
		c = t < r12;
		r12 = t;
		r13 = r13 + r12 + c;
		r14 ^= r13;
		t = r15 + r14;
		c = t < r15;
		r15 = t;
		rbx = rbx + r15 + c;
		rdx++;
	}
	o[0] = rax; o[1] = rbx; o[2] = rdx; o[3] = rsi; o[4] = r8; o[5] = r9;
	o[6] = r10; o[7] = r11; o[8] = r12; o[9] = r13; o[10] = r14; o[11] = r15;
}

#define SPIN_ITERS	200000UL
#define IRQ_SIGNALS	8

/*
 * Spin with one CPU-time interval timer armed until IRQ_SIGNALS of its
 * signals interrupted the loop itself, checking the registers every round.
 */
static int irq_signals(int which, int sig)
{
	struct itimerval it = { { 0, 4000 }, { 0, 4000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	uint64_t ref[12], out[12];
	int rounds = 0, i;
	long long end;

	STORE(irq_in_loop, 0);
	STORE(irq_outside, 0);
	spin_ref(ref, SPIN_ITERS);
	if (set_handler(sig, timer_handler, 0))
		return fail("sigaction");
	if (setitimer(which, &it, NULL))
		return fail("setitimer");

	end = now_ns() + 3000 * NSEC_PER_MSEC;
	while (LOAD(irq_in_loop) < IRQ_SIGNALS && now_ns() < end) {
		spin_asm(out, SPIN_ITERS);
		rounds++;
		for (i = 0; i < 12; i++) {
			if (out[i] != ref[i]) {
				setitimer(which, &off, NULL);
				return fail("sig %d, round %d: register %d is %#lx, expected %#lx",
					    sig, rounds, i, (unsigned long)out[i],
					    (unsigned long)ref[i]);
			}
		}
	}
	setitimer(which, &off, NULL);
	if (LOAD(irq_in_loop) < IRQ_SIGNALS)
		return fail("only %d of signal %d in the loop (%d outside) in %d rounds",
			    LOAD(irq_in_loop), sig, LOAD(irq_outside), rounds);
	return KSFT_PASS;
}

static int test_signal_irq_return(void)
{
	int ret = irq_signals(ITIMER_REAL, SIGALRM);

	if (ret)
		return ret;
	ret = irq_signals(ITIMER_PROF, SIGPROF);
	if (ret)
		return ret;
	return irq_signals(ITIMER_VIRTUAL, SIGVTALRM);
}

static unsigned long exc_rip;
static unsigned long exc_addr;
static int exc_code, exc_sig;
#if defined(__aarch64__)
static unsigned long exc_fault;
#endif

static void exc_handler(int sig, siginfo_t *si, void *ctx)
{
	unsigned long ip = uc_reg(ctx, UC_IP);

	exc_rip = ip;
	exc_addr = (unsigned long)si->si_addr;
	exc_code = si->si_code;
	exc_sig = sig;
#if defined(__x86_64__)
	/* Clobber the register that the helpers keep their magic in */
	asm volatile ("movq $-1, %%rdx\n\tmovq $-1, %%r8" : : : "rdx", "r8");
	if (sig == SIGSEGV)
		uc_set_reg(ctx, UC_IP, ADDR(et_exc_segv_resume));
	else if (sig == SIGILL)
		uc_set_reg(ctx, UC_IP, ip + 2);
	else if (sig == SIGFPE)
		uc_set_reg(ctx, UC_IP, ADDR(et_exc_div_resume));
#elif defined(__aarch64__)
	exc_fault = ((ucontext_t *)ctx)->uc_mcontext.fault_address;
	asm volatile ("mov x9, #-1" : : : "x9");
	/* udf and brk report their own pc: resume after them */
	if (sig == SIGSEGV)
		uc_set_reg(ctx, UC_IP, ADDR(et_exc_segv_resume));
	else if (sig == SIGILL || sig == SIGTRAP)
		uc_set_reg(ctx, UC_IP, ip + 4);
#endif
}

/* A counter of this thread's page faults taken in user mode, or -1 */
static int open_fault_counter(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_PAGE_FAULTS,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};

	return syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0);
}

static long read_counter(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return -1;
	return (long)v;
}

static int test_signal_exception_return(void)
{
	long r, before, after;
	int fd, round;

	if (set_handler(SIGSEGV, exc_handler, 0) || set_handler(SIGILL, exc_handler, 0) ||
	    set_handler(SIGTRAP, exc_handler, 0) || set_handler(SIGFPE, exc_handler, 0))
		return fail("sigaction");

	fd = open_fault_counter();
	if (fd < 0)
		return fail("perf_event_open(PERF_COUNT_SW_PAGE_FAULTS): %s", strerror(errno));
	/*
	 * The first round faults in (and copies after fork) the pages the
	 * handler touches; in the second the load at 0x10 must be the only
	 * user page fault. Were the SIGSEGV left pending on the way out, the
	 * load would run again and again until some other work (a reschedule)
	 * entered the exit loop.
	 */
	for (round = 0; round < 2; round++) {
		exc_sig = 0;
		before = read_counter(fd);
		r = call_magic(ADDR(et_exc_segv), 0x5e9f);
		after = read_counter(fd);
		if (r != 0x5e9f)
			return fail("#PF: resumed with %#lx", r);
		if (exc_sig != SIGSEGV || exc_rip != ADDR(et_exc_segv_insn) ||
		    exc_addr != 0x10 || exc_code != SEGV_MAPERR)
			return fail("#PF: sig %d rip %#lx addr %#lx code %d", exc_sig, exc_rip,
				    exc_addr, exc_code);
		if (before < 0 || after < 0)
			return fail("#PF: reading the page fault counter failed");
#if defined(__aarch64__)
		if (exc_fault != 0x10)
			return fail("#PF: fault_address %#lx, expected 0x10", exc_fault);
#endif
	}
	close(fd);
	if (after - before != 1)
		return fail("#PF: %ld user page faults for one SIGSEGV, expected 1",
			    after - before);

#if defined(__x86_64__)
	r = call_magic(ADDR(et_exc_ud2), 0x0d2);
	if (r != 0x0d2)
		return fail("#UD: resumed with %#lx", r);
	if (exc_sig != SIGILL || exc_rip != ADDR(et_exc_ud2_insn) ||
	    exc_addr != ADDR(et_exc_ud2_insn) || exc_code != ILL_ILLOPN)
		return fail("#UD: sig %d rip %#lx addr %#lx code %d", exc_sig, exc_rip,
			    exc_addr, exc_code);

	r = call_magic(ADDR(et_exc_int3), 0x1337);
	if (r != 0x1337)
		return fail("#BP: resumed with %#lx", r);
	if (exc_sig != SIGTRAP || exc_rip != ADDR(et_exc_int3_after))
		return fail("#BP: sig %d rip %#lx, expected %#lx", exc_sig, exc_rip,
			    ADDR(et_exc_int3_after));

	r = call_magic(ADDR(et_exc_div), 0xd1f);
	if (r != 0xd1f)
		return fail("#DE: resumed with %#lx", r);
	if (exc_sig != SIGFPE || exc_rip != ADDR(et_exc_div_insn) ||
	    exc_addr != ADDR(et_exc_div_insn) || exc_code != FPE_INTDIV)
		return fail("#DE: sig %d rip %#lx addr %#lx code %d", exc_sig, exc_rip,
			    exc_addr, exc_code);
#elif defined(__aarch64__)
	exc_sig = 0;
	r = call_magic(ADDR(et_exc_udf), 0x0df);
	if (r != 0x0df)
		return fail("udf: resumed with %#lx", r);
	if (exc_sig != SIGILL || exc_rip != ADDR(et_exc_udf_insn) ||
	    exc_addr != ADDR(et_exc_udf_insn) || exc_code != ILL_ILLOPC)
		return fail("udf: sig %d pc %#lx addr %#lx code %d", exc_sig, exc_rip,
			    exc_addr, exc_code);

	exc_sig = 0;
	r = call_magic(ADDR(et_exc_brk), 0xb4c);
	if (r != 0xb4c)
		return fail("brk: resumed with %#lx", r);
	if (exc_sig != SIGTRAP || exc_rip != ADDR(et_exc_brk_insn) ||
	    exc_addr != ADDR(et_exc_brk_insn) || exc_code != TRAP_BRKPT)
		return fail("brk: sig %d pc %#lx addr %#lx code %d", exc_sig, exc_rip,
			    exc_addr, exc_code);
#endif
	return KSFT_PASS;
}

/* ---- 3. syscall restart ---- */

static void flag_handler(int sig __maybe_unused, siginfo_t *si __maybe_unused,
			 void *ctx __maybe_unused)
{
	INC(sig_count);
	STORE(shm->flag, 1);
}

/*
 * Helper process: wait until the parent blocks in syscall @nr, signal it,
 * wait for the handler, wait until it blocks again when @again, then write
 * one byte to @wfd when it is >= 0.
 */
static pid_t start_interrupter(long nr, int again, int wfd, long delay_ms)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (wait_blocked(parent, nr))
		_exit(10);
	if (delay_ms)
		sleep_ms(delay_ms);
	kill(parent, SIGUSR1);
	if (wait_flag(&shm->flag, 1))
		_exit(11);
	if (again && wait_blocked(parent, nr))
		_exit(12);
	if (wfd >= 0 && write(wfd, "x", 1) != 1)
		_exit(13);
	_exit(0);
}

static int read_restart(int sa_flags)
{
	char buf[4] = { 0 };
	int fds[2], status;
	ssize_t r;
	pid_t pid;
	int err;

	if (set_handler(SIGUSR1, flag_handler, sa_flags))
		return fail("sigaction");
	if (pipe(fds))
		return fail("pipe");
	pid = start_interrupter(__NR_read, !!(sa_flags & SA_RESTART), fds[1], 0);
	if (pid < 0)
		return fail("fork");
	r = read(fds[0], buf, sizeof(buf));
	err = errno;
	status = wait_child(pid);

	if (LOAD(sig_count) != 1)
		return fail("handler ran %d times (helper %s)", LOAD(sig_count),
			    status_str(status));
	if (sa_flags & SA_RESTART) {
		if (r != 1 || buf[0] != 'x')
			return fail("read returned %zd errno %d, expected 1 byte", r, err);
	} else {
		if (r != -1 || err != EINTR)
			return fail("read returned %zd errno %d, expected EINTR", r, err);
	}
	if (status != 0)
		return fail("helper: %s", status_str(status));
	return KSFT_PASS;
}

static int test_restart_read_sa_restart(void)
{
	return read_restart(SA_RESTART);
}

static int test_restart_read_eintr(void)
{
	return read_restart(0);
}

static int test_restart_nanosleep_eintr(void)
{
	struct timespec req = { 2, 0 }, rem = { 0, 0 };
	long long t0, elapsed, left;
	int status, err;
	pid_t pid;
	long r;

	if (set_handler(SIGUSR1, flag_handler, SA_RESTART))
		return fail("sigaction");
	pid = start_interrupter(__NR_nanosleep, 0, -1, 100);
	if (pid < 0)
		return fail("fork");
	t0 = now_ns();
	r = syscall(SYS_nanosleep, &req, &rem);
	err = errno;
	elapsed = now_ns() - t0;
	status = wait_child(pid);

	if (status != 0)
		return fail("helper: %s", status_str(status));
	if (r != -1 || err != EINTR)
		return fail("nanosleep returned %ld errno %d, expected EINTR", r, err);
	if (LOAD(sig_count) != 1)
		return fail("handler ran %d times", LOAD(sig_count));
	left = rem.tv_sec * 1000000000LL + rem.tv_nsec;
	if (left <= 0 || left >= 2000 * NSEC_PER_MSEC)
		return fail("remaining time %lld ns out of range", left);
	if (llabs(elapsed + left - 2000 * NSEC_PER_MSEC) > 500 * NSEC_PER_MSEC)
		return fail("elapsed %lld ms + remaining %lld ms != 2000 ms",
			    elapsed / NSEC_PER_MSEC, left / NSEC_PER_MSEC);
	return KSFT_PASS;
}

#define STOP_SLEEP_MS	1000

static int test_restart_syscall_after_stop(void)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		struct timespec req = { STOP_SLEEP_MS / 1000,
					(STOP_SLEEP_MS % 1000) * NSEC_PER_MSEC };
		long long t0 = now_ns();
		long r;

		r = syscall(SYS_nanosleep, &req, NULL);
		shm->v[0] = r;
		shm->v[1] = errno;
		shm->v[2] = now_ns() - t0;
		_exit(0);
	}
	if (wait_blocked(pid, __NR_nanosleep))
		return fail("sleeper did not block");
	sleep_ms(STOP_SLEEP_MS / 2);
	kill(pid, SIGSTOP);
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		return fail("sleeper did not stop: %s", status_str(status));
	sleep_ms(100);
	kill(pid, SIGCONT);
	status = wait_child(pid);
	if (status != 0)
		return fail("sleeper: %s", status_str(status));
	if (shm->v[0] != 0)
		return fail("nanosleep returned %ld errno %ld after SIGCONT", shm->v[0],
			    shm->v[1]);
	if (shm->v[2] < STOP_SLEEP_MS * NSEC_PER_MSEC ||
	    shm->v[2] > (STOP_SLEEP_MS + 450) * NSEC_PER_MSEC)
		return fail("slept %ld ms, expected %d ms (restart_syscall keeps the deadline)",
			    (long)(shm->v[2] / NSEC_PER_MSEC), STOP_SLEEP_MS);
	return KSFT_PASS;
}

/* ---- 4. ptrace ---- */

/* In the tracee: become traced and stop */
static void tracee_start(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (ptrace(PTRACE_TRACEME, 0, 0, 0))
		_exit(90);
	raise(SIGSTOP);
}

/*
 * In the tracer: resume the tracee with PTRACE_SYSCALL (passing on *sig)
 * until its next syscall stop, passing on the signals of other stops.
 * Returns 1 at a syscall stop, 0 when the tracee is gone (*status is its
 * wait status, or -1), -1 on error (after fail()).
 */
static int next_syscall_stop(pid_t pid, int *sig, int *status)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, *sig)) {
			fail("PTRACE_SYSCALL: %s", strerror(errno));
			return -1;
		}
		*status = wait_child(pid);
		if (*status == -1 || !WIFSTOPPED(*status))
			return 0;
		*sig = 0;
		if (WSTOPSIG(*status) == (SIGTRAP | 0x80))
			return 1;
		*sig = WSTOPSIG(*status);
	}
}

/* In the tracer: wait for the initial stop and set the options */
static int tracer_setup(pid_t pid, long options)
{
	int status = wait_child(pid);

	if (status == -1 || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 90)
			return skip("PTRACE_TRACEME not permitted");
		if (WIFEXITED(status) && WEXITSTATUS(status) == 20)
			return skip("seccomp filters not supported");
		return fail("tracee did not stop: %s", status_str(status));
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, 0, options | PTRACE_O_EXITKILL))
		return fail("PTRACE_SETOPTIONS: %s", strerror(errno));
	return KSFT_PASS;
}

enum { PT_STOPS, PT_CHANGE_NR, PT_RETVAL, PT_SKIP };

#if defined(__x86_64__)
/* Checks done at a getpid entry stop; returns the action result */
static int pt_entry(pid_t pid, int mode, int call, struct user_regs_struct *regs,
		    struct __ptrace_syscall_info *info)
{
	long word;

	if (regs->orig_rax != __NR_getpid || regs->rax != (unsigned long)-ERR_NOSYS)
		return fail("entry stop: orig_rax %lld rax %lld", regs->orig_rax, regs->rax);
	if (info->instruction_pointer != regs->rip || info->arch != AUDIT_ARCH_X86_64)
		return fail("syscall info ip %#lx arch %#x, regs rip %#llx",
			    (unsigned long)info->instruction_pointer, info->arch, regs->rip);
	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, pid, regs->rip - 2, 0);
	if (errno || (word & 0xffff) != 0x050f)
		return fail("no syscall instruction before rip %#llx", regs->rip);

	switch (mode) {
	case PT_CHANGE_NR:
		regs->orig_rax = __NR_getppid;
		break;
	case PT_SKIP:
		regs->orig_rax = -1;
		if (call == 0)
			regs->rax = 888;
		break;
	default:
		return KSFT_PASS;
	}
	if (ptrace(PTRACE_SETREGS, pid, 0, regs))
		return fail("PTRACE_SETREGS: %s", strerror(errno));
	return KSFT_PASS;
}

static int pt_exit(pid_t pid, int mode, int call, struct user_regs_struct *regs,
		   struct __ptrace_syscall_info *info)
{
	bool is_error;
	long expect;

	switch (mode) {
	case PT_CHANGE_NR:
		expect = getpid();
		break;
	case PT_SKIP:
		expect = call == 0 ? 888 : -ERR_NOSYS;
		break;
	default:
		expect = pid;
	}
	if ((long)regs->rax != expect || info->exit.rval != expect)
		return fail("exit stop %d: rax %lld rval %lld, expected %ld", call,
			    regs->rax, (long long)info->exit.rval, expect);
	is_error = expect < 0;
	if (info->exit.is_error != is_error)
		return fail("exit stop %d: is_error %d", call, info->exit.is_error);

	switch (mode) {
	case PT_RETVAL:
		regs->rax = call == 0 ? 4242 : -EPERM;
		break;
	case PT_SKIP:
		if (call == 0)
			return KSFT_PASS;
		regs->rax = 777;
		break;
	default:
		return KSFT_PASS;
	}
	if (ptrace(PTRACE_SETREGS, pid, 0, regs))
		return fail("PTRACE_SETREGS: %s", strerror(errno));
	return KSFT_PASS;
}
#elif defined(__aarch64__)
/* The first argument of the traced getpid(): arm64 returns it when skipped */
#define PT_ARG0		0x2a2a
#define SVC_0		0xd4000001UL

/* A stop's x0-x30, sp, pc, pstate (NT_PRSTATUS) and syscall number */
struct et_regs {
	struct user_regs_struct r;
	int nr;
};

static int pt_get_regs(pid_t pid, struct et_regs *regs)
{
	struct iovec gp = { &regs->r, sizeof(regs->r) };
	struct iovec nr = { &regs->nr, sizeof(regs->nr) };

	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &gp) ||
	    ptrace(PTRACE_GETREGSET, pid, NT_ARM_SYSTEM_CALL, &nr))
		return -1;
	return 0;
}

static int pt_set_gp(pid_t pid, struct et_regs *regs)
{
	struct iovec gp = { &regs->r, sizeof(regs->r) };

	if (ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &gp))
		return fail("PTRACE_SETREGSET NT_PRSTATUS: %s", strerror(errno));
	return KSFT_PASS;
}

static int pt_set_nr(pid_t pid, int nr)
{
	struct iovec iov = { &nr, sizeof(nr) };

	if (ptrace(PTRACE_SETREGSET, pid, NT_ARM_SYSTEM_CALL, &iov))
		return fail("PTRACE_SETREGSET NT_ARM_SYSTEM_CALL: %s", strerror(errno));
	return KSFT_PASS;
}

/*
 * Checks done at a getpid entry stop; returns the action result. The kernel
 * sets x7 to 0 at entry and to 1 at exit stops; x0 is not preset to -ENOSYS.
 */
static int pt_entry(pid_t pid, int mode, int call, struct et_regs *regs,
		    struct __ptrace_syscall_info *info)
{
	long word;
	int ret;

	if (regs->nr != __NR_getpid || regs->r.regs[8] != __NR_getpid ||
	    regs->r.regs[0] != PT_ARG0 || regs->r.regs[7] != 0)
		return fail("entry stop: nr %d x8 %llu x0 %#llx x7 %llu", regs->nr,
			    regs->r.regs[8], regs->r.regs[0], regs->r.regs[7]);
	if (info->instruction_pointer != regs->r.pc || info->arch != AUDIT_ARCH_AARCH64 ||
	    info->entry.args[0] != PT_ARG0)
		return fail("syscall info ip %#llx arch %#x arg0 %#llx, regs pc %#llx",
			    (unsigned long long)info->instruction_pointer, info->arch,
			    (unsigned long long)info->entry.args[0], regs->r.pc);
	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, pid, regs->r.pc - 4, 0);
	if (errno || (word & 0xffffffffUL) != SVC_0)
		return fail("no svc #0 before pc %#llx", regs->r.pc);

	switch (mode) {
	case PT_CHANGE_NR:
		return pt_set_nr(pid, __NR_getppid);
	case PT_SKIP:
		ret = pt_set_nr(pid, -1);
		if (ret || call != 0)
			return ret;
		regs->r.regs[0] = 888;
		return pt_set_gp(pid, regs);
	default:
		return KSFT_PASS;
	}
}

static int pt_exit(pid_t pid, int mode, int call, struct et_regs *regs,
		   struct __ptrace_syscall_info *info)
{
	bool is_error;
	long expect;

	switch (mode) {
	case PT_CHANGE_NR:
		expect = getpid();
		break;
	case PT_SKIP:
		/* Left alone, x0 (the first argument) is the return value */
		expect = call == 0 ? 888 : PT_ARG0;
		break;
	default:
		expect = pid;
	}
	if ((long)regs->r.regs[0] != expect || info->exit.rval != expect ||
	    regs->r.regs[7] != 1)
		return fail("exit stop %d: x0 %lld rval %lld x7 %llu, expected %ld and 1",
			    call, regs->r.regs[0], (long long)info->exit.rval,
			    regs->r.regs[7], expect);
	is_error = expect < 0;
	if (info->exit.is_error != is_error)
		return fail("exit stop %d: is_error %d", call, info->exit.is_error);

	switch (mode) {
	case PT_RETVAL:
		regs->r.regs[0] = call == 0 ? 4242 : -EPERM;
		break;
	case PT_SKIP:
		if (call == 0)
			return KSFT_PASS;
		regs->r.regs[0] = 777;
		break;
	default:
		return KSFT_PASS;
	}
	return pt_set_gp(pid, regs);
}
#endif

static int ptrace_syscall_test(int mode)
{
	static const long expect[4][2] = {
		[PT_STOPS] = { 0, 0 },		/* own pid, filled in below */
		[PT_CHANGE_NR] = { -1, -1 },	/* tracer pid */
		[PT_RETVAL] = { 4242, -1 },
		[PT_SKIP] = { 888, 777 },
	};
	int entries = 0, exits = 0, in_call = 0, status, sig = 0, ret, i;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		tracee_start();
		for (i = 0; i < 2; i++) {
			errno = 0;
#if defined(__x86_64__)
			shm->v[2 * i] = syscall(SYS_getpid);
#elif defined(__aarch64__)
			shm->v[2 * i] = syscall(SYS_getpid, PT_ARG0);
#endif
			shm->v[2 * i + 1] = errno;
		}
		_exit(0);
	}
	ret = tracer_setup(pid, PTRACE_O_TRACESYSGOOD);
	if (ret)
		return ret;

	for (;;) {
		struct __ptrace_syscall_info info;
#if defined(__x86_64__)
		struct user_regs_struct regs;
#elif defined(__aarch64__)
		struct et_regs regs;
#endif

		ret = next_syscall_stop(pid, &sig, &status);
		if (ret < 0)
			return KSFT_FAIL;
		if (!ret)
			break;
		memset(&info, 0, sizeof(info));
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) <= 0)
			return fail("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
#if defined(__x86_64__)
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
			return fail("PTRACE_GETREGS: %s", strerror(errno));
#elif defined(__aarch64__)
		if (pt_get_regs(pid, &regs))
			return fail("PTRACE_GETREGSET: %s", strerror(errno));
#endif
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			if (info.entry.nr != __NR_getpid)
				continue;
			if (in_call)
				return fail("two entry stops without exit stop");
			if (entries >= 2)
				return fail("more than two getpid entry stops");
			ret = pt_entry(pid, mode, entries, &regs, &info);
			if (ret)
				return ret;
			entries++;
			in_call = 1;
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
			if (!in_call)
				continue;
			ret = pt_exit(pid, mode, exits, &regs, &info);
			if (ret)
				return ret;
			exits++;
			in_call = 0;
		} else {
			return fail("syscall stop with op %d", info.op);
		}
	}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("tracee: %s", status_str(status));
	if (entries != 2 || exits != 2)
		return fail("%d entry and %d exit stops, expected 2 each", entries, exits);
	for (i = 0; i < 2; i++) {
		long want = expect[mode][i];

		if (mode == PT_STOPS)
			want = pid;
		else if (mode == PT_CHANGE_NR)
			want = getpid();
		if (shm->v[2 * i] != want)
			return fail("call %d returned %ld errno %ld, expected %ld", i,
				    shm->v[2 * i], shm->v[2 * i + 1], want);
		if (want == -1 && shm->v[2 * i + 1] != EPERM)
			return fail("call %d errno %ld, expected EPERM", i, shm->v[2 * i + 1]);
	}
	return KSFT_PASS;
}

static int test_ptrace_stops(void)
{
	return ptrace_syscall_test(PT_STOPS);
}

static int test_ptrace_change_nr(void)
{
	return ptrace_syscall_test(PT_CHANGE_NR);
}

static int test_ptrace_retval(void)
{
	return ptrace_syscall_test(PT_RETVAL);
}

static int test_ptrace_skip(void)
{
	return ptrace_syscall_test(PT_SKIP);
}

#if defined(__x86_64__)
#define MAX_STEPS	20000

static int test_ptrace_singlestep(void)
{
	unsigned long want[5] = {
		ADDR(et_ss_target), ADDR(et_ss_sys), ADDR(et_ss_after),
		ADDR(et_ss_after) + 1, ADDR(et_ss_end),
	};
	unsigned long seen[8];
	int codes[8], nseen = 0, steps, status, ret, i;
	long after_rax = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		tracee_start();
		shm->v[0] = call_magic(ADDR(et_ss_target), 0);
		_exit(0);
	}
	ret = tracer_setup(pid, 0);
	if (ret)
		return ret;

	for (steps = 0; steps < MAX_STEPS; steps++) {
		struct user_regs_struct regs;
		siginfo_t si;

		if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0))
			return fail("PTRACE_SINGLESTEP: %s", strerror(errno));
		status = wait_child(pid);
		if (status == -1 || !WIFSTOPPED(status))
			return fail("tracee: %s while stepping", status_str(status));
		if (WSTOPSIG(status) != SIGTRAP)
			return fail("stop with signal %d while stepping", WSTOPSIG(status));
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs) ||
		    ptrace(PTRACE_GETSIGINFO, pid, 0, &si))
			return fail("PTRACE_GETREGS/GETSIGINFO: %s", strerror(errno));
		if (regs.rip < ADDR(et_ss_target) || regs.rip > ADDR(et_ss_end))
			continue;
		if (nseen < 8) {
			codes[nseen] = si.si_code;
			seen[nseen++] = regs.rip;
		}
		if (regs.rip == ADDR(et_ss_after))
			after_rax = regs.rax;
		if (regs.rip == ADDR(et_ss_end))
			break;
	}
	if (ptrace(PTRACE_CONT, pid, 0, 0))
		return fail("PTRACE_CONT: %s", strerror(errno));
	status = wait_child(pid);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("tracee: %s", status_str(status));

	for (i = 0; i < 5; i++) {
		if (i >= nseen || seen[i] != want[i]) {
			char buf[256];
			int n = 0, j;

			for (j = 0; j < nseen; j++)
				n += snprintf(buf + n, sizeof(buf) - n, " +%lu",
					      seen[j] - ADDR(et_ss_target));
			if (!nseen)
				snprintf(buf, sizeof(buf), " none");
			return fail("step stops at offsets%s; expected +0 +5 +7 +8 +9", buf);
		}
	}
	/* The stop after "syscall" is the syscall exit report, not a #DB */
	if (codes[2] != TRAP_BRKPT || codes[3] != TRAP_TRACE)
		return fail("si_code %d after syscall, %d after nop", codes[2], codes[3]);
	if (after_rax != getpid() || shm->v[0] != getpid())
		return fail("getppid returned %ld in the tracee (rax at stop %ld), expected %d",
			    shm->v[0], after_rax, getpid());
	return KSFT_PASS;
}

/* ---- 5. seccomp ---- */

static int install_filter(int nr, unsigned int action, unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { ARRAY_SIZE(f), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static int seccomp_setup_error(void)
{
	if (errno == EINVAL || errno == ERR_NOSYS)
		return skip("seccomp filters not supported: %s", strerror(errno));
	return fail("installing the filter: %s", strerror(errno));
}

/* In a child: install a filter or exit with 20 (unsupported) or 21 */
static void child_filter(int nr, unsigned int action)
{
	if (install_filter(nr, action, 0))
		_exit(errno == EINVAL || errno == ERR_NOSYS ? 20 : 21);
}

static int test_seccomp_allow(void)
{
	char buf[8] = { 0 };
	pid_t pid = getpid();
	int fds[2];

	if (install_filter(__NR_getppid, SECCOMP_RET_ALLOW, 0) ||
	    install_filter(__NR_read, SECCOMP_RET_ALLOW, 0))
		return seccomp_setup_error();
	if (getppid() != runner_pid)
		return fail("getppid under RET_ALLOW returned %d", getppid());
	if (syscall(SYS_getpid) != pid)
		return fail("getpid returned %ld", syscall(SYS_getpid));
	if (pipe(fds) || write(fds[1], "entry", 5) != 5)
		return fail("pipe/write: %s", strerror(errno));
	if (raw_sys(__NR_read, fds[0], (long)buf, sizeof(buf), 0) != 5 ||
	    memcmp(buf, "entry", 5))
		return fail("read under RET_ALLOW returned \"%s\"", buf);
	return KSFT_PASS;
}

static int test_seccomp_errno(void)
{
	long r;

	if (install_filter(__NR_getppid, SECCOMP_RET_ERRNO | E2BIG, 0) ||
	    install_filter(1000, SECCOMP_RET_ERRNO | EXDEV, 0))
		return seccomp_setup_error();
	errno = 0;
	r = syscall(SYS_getppid);
	if (r != -1 || errno != E2BIG)
		return fail("getppid returned %ld errno %d, expected E2BIG", r, errno);
	r = raw_sys(__NR_getppid, 0, 0, 0, 0);
	if (r != -E2BIG)
		return fail("raw getppid returned %ld", r);
	errno = 0;
	r = syscall(1000);
	if (r != -1 || errno != EXDEV)
		return fail("syscall 1000 returned %ld errno %d, expected EXDEV", r, errno);
	if (syscall(SYS_getpid) != getpid() || getpid() <= 0)
		return fail("getpid affected by the filter");
	return KSFT_PASS;
}

static siginfo_t sys_si;
static unsigned long sys_rax, sys_rip;

static void sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	sys_si = *si;
	sys_rax = uc_reg(ctx, REG_RAX);
	sys_rip = uc_reg(ctx, REG_RIP);
	INC(sig_count);
	uc_set_reg(ctx, REG_RAX, 1234);
}

static int test_seccomp_trap(void)
{
	long r;

	if (set_handler(SIGSYS, sigsys_handler, 0))
		return fail("sigaction");
	if (install_filter(__NR_getppid, SECCOMP_RET_TRAP | 0x42, 0))
		return seccomp_setup_error();
	r = raw_sys(__NR_getppid, 0, 0, 0, 0);
	if (LOAD(sig_count) != 1)
		return fail("SIGSYS delivered %d times", LOAD(sig_count));
	if (r != 1234)
		return fail("syscall returned %ld, expected the handler's 1234", r);
	if (sys_si.si_signo != SIGSYS || sys_si.si_code != SYS_SECCOMP ||
	    sys_si.si_syscall != __NR_getppid || sys_si.si_arch != AUDIT_ARCH_X86_64 ||
	    sys_si.si_errno != 0x42)
		return fail("siginfo: signo %d code %d syscall %d arch %#x errno %d",
			    sys_si.si_signo, sys_si.si_code, sys_si.si_syscall,
			    sys_si.si_arch, sys_si.si_errno);
	if ((unsigned long)sys_si.si_call_addr != ADDR(et_raw_sys_ret) ||
	    sys_rip != ADDR(et_raw_sys_ret))
		return fail("si_call_addr %p rip %#lx, expected %#lx", sys_si.si_call_addr,
			    sys_rip, ADDR(et_raw_sys_ret));
	if (sys_rax != __NR_getppid)
		return fail("handler saw rax %ld, expected the rolled back nr", sys_rax);
	return KSFT_PASS;
}

/*
 * The killed system call is a writev() of one byte to a pipe: if it ran
 * before the kill took effect, the byte is in the pipe. *ran is set then.
 */
static int seccomp_kill_child(unsigned int action, int *ran)
{
	struct rlimit rl = { 0, 0 };
	int fds[2], status;
	char c;
	pid_t pid;

	if (pipe2(fds, O_NONBLOCK))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct iovec iov = { &c, 1 };

		c = 'x';
		close(fds[0]);
		setrlimit(RLIMIT_CORE, &rl);
		child_filter(__NR_writev, action);
		syscall(SYS_writev, fds[1], &iov, 1);
		_exit(21);
	}
	close(fds[1]);
	status = wait_child(pid);
	*ran = read(fds[0], &c, 1) == 1;
	close(fds[0]);
	return status;
}

static int test_seccomp_kill(void)
{
	int status, ran;

	status = seccomp_kill_child(SECCOMP_RET_KILL_THREAD, &ran);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 20)
		return skip("seccomp filters not supported");
	if (status == -1 || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		return fail("KILL_THREAD: %s", status_str(status));
	if (ran)
		return fail("KILL_THREAD: the killed writev() ran");
	status = seccomp_kill_child(SECCOMP_RET_KILL_PROCESS, &ran);
	if (status == -1 || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		return fail("KILL_PROCESS: %s", status_str(status));
	if (ran)
		return fail("KILL_PROCESS: the killed writev() ran");
	/*
	 * Both kills are logged by kauditd on the console: give it time so
	 * that its lines do not end up inside the next KTAP line.
	 */
	sleep_ms(200);
	return KSFT_PASS;
}

static int test_seccomp_trace(void)
{
	int status, events = 0, ret, i;
	pid_t pid;

	/* Without a tracer RET_TRACE fails the syscall with ENOSYS */
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		child_filter(__NR_getppid, SECCOMP_RET_TRACE);
		errno = 0;
		if (syscall(SYS_getppid) != -1 || errno != ERR_NOSYS)
			_exit(21);
		_exit(0);
	}
	status = wait_child(pid);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 20)
		return skip("seccomp filters not supported");
	if (status != 0)
		return fail("untraced RET_TRACE: %s (21: no ENOSYS)", status_str(status));

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		child_filter(__NR_getppid, SECCOMP_RET_TRACE | 0x77);
		tracee_start();
		for (i = 0; i < 3; i++)
			shm->v[i] = syscall(SYS_getppid);
		_exit(0);
	}
	ret = tracer_setup(pid, PTRACE_O_TRACESECCOMP);
	if (ret)
		return ret;
	for (;;) {
		struct user_regs_struct regs;
		unsigned long msg;

		if (ptrace(PTRACE_CONT, pid, 0, 0))
			return fail("PTRACE_CONT: %s", strerror(errno));
		status = wait_child(pid);
		if (status == -1 || !WIFSTOPPED(status))
			break;
		if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)))
			return fail("unexpected stop %#x", status);
		if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) ||
		    ptrace(PTRACE_GETREGS, pid, 0, &regs))
			return fail("GETEVENTMSG/GETREGS: %s", strerror(errno));
		if (msg != 0x77 || regs.orig_rax != __NR_getppid)
			return fail("event %d: msg %#lx orig_rax %lld", events, msg,
				    regs.orig_rax);
		if (events == 1) {
			regs.orig_rax = -1;
			regs.rax = 5151;
		} else if (events == 2) {
			regs.orig_rax = __NR_getpid;
		}
		if (events && ptrace(PTRACE_SETREGS, pid, 0, &regs))
			return fail("PTRACE_SETREGS: %s", strerror(errno));
		events++;
	}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("tracee: %s", status_str(status));
	if (events != 3)
		return fail("%d seccomp events, expected 3", events);
	if (shm->v[0] != getpid() || shm->v[1] != 5151 || shm->v[2] != pid)
		return fail("tracee saw %ld %ld %ld, expected %d 5151 %d", shm->v[0],
			    shm->v[1], shm->v[2], getpid(), pid);
	return KSFT_PASS;
}

static int test_seccomp_user_notif(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { ARRAY_SIZE(f), f };
	int fd, status, i;
	pid_t pid;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail("PR_SET_NO_NEW_PRIVS");
	fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
		     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return seccomp_setup_error();

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		for (i = 0; i < 3; i++) {
			errno = 0;
			shm->v[2 * i] = syscall(SYS_getppid, 11, 22);
			shm->v[2 * i + 1] = errno;
		}
		_exit(0);
	}
	for (i = 0; i < 3; i++) {
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;

		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req))
			return fail("NOTIF_RECV: %s", strerror(errno));
		if (req.pid != (unsigned int)pid || req.data.nr != __NR_getppid ||
		    req.data.arch != AUDIT_ARCH_X86_64 || req.data.args[0] != 11 ||
		    req.data.args[1] != 22)
			return fail("notification: pid %u nr %d arch %#x args %llu %llu",
				    req.pid, req.data.nr, req.data.arch,
				    req.data.args[0], req.data.args[1]);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id))
			return fail("NOTIF_ID_VALID: %s", strerror(errno));
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		if (i == 0)
			resp.val = 6789;
		else if (i == 1)
			resp.error = -EACCES;
		else
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp))
			return fail("NOTIF_SEND %d: %s", i, strerror(errno));
	}
	status = wait_child(pid);
	if (status != 0)
		return fail("target: %s", status_str(status));
	if (shm->v[0] != 6789)
		return fail("first call returned %ld, expected 6789", shm->v[0]);
	if (shm->v[2] != -1 || shm->v[3] != EACCES)
		return fail("second call returned %ld errno %ld, expected EACCES",
			    shm->v[2], shm->v[3]);
	if (shm->v[4] != getpid())
		return fail("continued call returned %ld, expected %d", shm->v[4], getpid());
	return KSFT_PASS;
}

static int test_seccomp_after_ptrace(void)
{
	int status, sig = 0, ret, in_call = 0, changed = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		child_filter(__NR_getppid, SECCOMP_RET_ERRNO | E2BIG);
		tracee_start();
		errno = 0;
		shm->v[0] = syscall(SYS_getpid);
		shm->v[1] = errno;
		_exit(0);
	}
	ret = tracer_setup(pid, PTRACE_O_TRACESYSGOOD);
	if (ret)
		return ret;
	for (;;) {
		struct user_regs_struct regs;

		ret = next_syscall_stop(pid, &sig, &status);
		if (ret < 0)
			return KSFT_FAIL;
		if (!ret)
			break;
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
			return fail("PTRACE_GETREGS: %s", strerror(errno));
		if (!in_call && regs.orig_rax == __NR_getpid && !changed) {
			regs.orig_rax = __NR_getppid;
			if (ptrace(PTRACE_SETREGS, pid, 0, &regs))
				return fail("PTRACE_SETREGS: %s", strerror(errno));
			in_call = 1;
			changed = 1;
		} else if (in_call) {
			if ((long)regs.rax != -E2BIG)
				return fail("exit stop rax %lld, expected -E2BIG", regs.rax);
			in_call = 0;
		}
	}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("tracee: %s", status_str(status));
	if (!changed)
		return fail("no getpid entry stop");
	if (shm->v[0] != -1 || shm->v[1] != E2BIG)
		return fail("tracee saw %ld errno %ld, expected -1 E2BIG", shm->v[0], shm->v[1]);
	return KSFT_PASS;
}

/* ---- 6. syscall user dispatch ---- */

static char sud_sel = SYSCALL_DISPATCH_FILTER_ALLOW;

static void sud_handler(int sig, siginfo_t *si, void *ctx)
{
	/* Allow syscalls again first, rt_sigreturn needs it */
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_ALLOW);
	sys_si = *si;
	sys_rax = uc_reg(ctx, REG_RAX);
	sys_rip = uc_reg(ctx, REG_RIP);
	INC(sig_count);
	uc_set_reg(ctx, REG_RAX, 0x5d5d);
}

static int sud_setup(void)
{
	unsigned long start = ADDR(et_sud_allowed_sys);

	if (set_handler(SIGSYS, sud_handler, 0))
		return fail("sigaction");
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_ALLOW);
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, start,
		  ADDR(et_sud_allowed_end) - start, &sud_sel)) {
		if (errno == EINVAL)
			return skip("syscall user dispatch not supported");
		return fail("PR_SET_SYSCALL_USER_DISPATCH: %s", strerror(errno));
	}
	return KSFT_PASS;
}

static int test_sud_block(void)
{
	int ret = sud_setup();
	pid_t self;
	long r;

	if (ret)
		return ret;
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_BLOCK);
	r = raw_sys(__NR_getppid, 1, 2, 3, 4);
	if (LOAD(sud_sel) != SYSCALL_DISPATCH_FILTER_ALLOW)
		return fail("handler did not run");
	if (LOAD(sig_count) != 1)
		return fail("SIGSYS delivered %d times", LOAD(sig_count));
	if (r != 0x5d5d)
		return fail("syscall returned %ld, expected the handler's 0x5d5d", r);
	if (sys_si.si_code != SYS_USER_DISPATCH || sys_si.si_syscall != __NR_getppid ||
	    sys_si.si_arch != AUDIT_ARCH_X86_64 || sys_si.si_errno != 0)
		return fail("siginfo: code %d syscall %d arch %#x errno %d", sys_si.si_code,
			    sys_si.si_syscall, sys_si.si_arch, sys_si.si_errno);
	if ((unsigned long)sys_si.si_call_addr != ADDR(et_raw_sys_ret) ||
	    sys_rip != ADDR(et_raw_sys_ret))
		return fail("si_call_addr %p rip %#lx, expected %#lx", sys_si.si_call_addr,
			    sys_rip, ADDR(et_raw_sys_ret));
	if (sys_rax != __NR_getppid)
		return fail("handler saw rax %ld, expected the rolled back nr", sys_rax);

	/* A blocked kill must not be executed: SIGKILL would end the test */
	self = getpid();
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_BLOCK);
	r = raw_sys(__NR_kill, self, SIGKILL, 0, 0);
	if (LOAD(sig_count) != 2 || r != 0x5d5d || sys_si.si_syscall != __NR_kill)
		return fail("blocked kill: count %d ret %ld syscall %d", LOAD(sig_count), r,
			    sys_si.si_syscall);
	return KSFT_PASS;
}

static int test_sud_allow(void)
{
	int ret = sud_setup();
	long r;

	if (ret)
		return ret;
	r = raw_sys(__NR_getppid, 0, 0, 0, 0);
	if (r != runner_pid || LOAD(sig_count))
		return fail("selector ALLOW: getppid %ld, %d SIGSYS", r, LOAD(sig_count));
	return KSFT_PASS;
}

static int test_sud_range(void)
{
	int ret = sud_setup();
	long r;

	if (ret)
		return ret;
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_BLOCK);
	r = sud_allowed_sys(__NR_getppid, 0, 0, 0, 0);
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_ALLOW);
	if (r != runner_pid || LOAD(sig_count))
		return fail("excluded range: getppid %ld, %d SIGSYS", r, LOAD(sig_count));
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_BLOCK);
	r = raw_sys(__NR_getppid, 0, 0, 0, 0);
	if (r != 0x5d5d || LOAD(sig_count) != 1)
		return fail("outside the range: ret %ld, %d SIGSYS", r, LOAD(sig_count));
	return KSFT_PASS;
}

static int test_sud_off(void)
{
	int ret = sud_setup();
	long r;

	if (ret)
		return ret;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0))
		return fail("PR_SYS_DISPATCH_OFF: %s", strerror(errno));
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_BLOCK);
	r = raw_sys(__NR_getppid, 0, 0, 0, 0);
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_ALLOW);
	if (r != runner_pid || LOAD(sig_count))
		return fail("after OFF: getppid %ld, %d SIGSYS", r, LOAD(sig_count));
	return KSFT_PASS;
}

static int test_sud_boundary(void)
{
	unsigned long ip = ADDR(et_raw_sys_ret);
	long r;

	if (set_handler(SIGSYS, sud_handler, 0))
		return fail("sigaction");
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_ALLOW);
	/* The syscall's ip is the last byte of [ip - 15, ip + 1): it runs */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, ip - 15, 16, &sud_sel)) {
		if (errno == EINVAL)
			return skip("syscall user dispatch not supported");
		return fail("PR_SET_SYSCALL_USER_DISPATCH: %s", strerror(errno));
	}
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_BLOCK);
	r = raw_sys(__NR_getppid, 0, 0, 0, 0);
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_ALLOW);
	if (r != runner_pid || LOAD(sig_count))
		return fail("ip at the end of the range: getppid %ld, %d SIGSYS", r,
			    LOAD(sig_count));

	/* The syscall's ip is the first byte after [ip - 16, ip): dispatched */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, ip - 16, 16, &sud_sel))
		return fail("PR_SET_SYSCALL_USER_DISPATCH: %s", strerror(errno));
	STORE(sud_sel, SYSCALL_DISPATCH_FILTER_BLOCK);
	r = raw_sys(__NR_getppid, 0, 0, 0, 0);
	if (r != 0x5d5d || LOAD(sig_count) != 1)
		return fail("ip just past the range: ret %ld, %d SIGSYS", r, LOAD(sig_count));
	return KSFT_PASS;
}

static int test_sud_bad_selector(void)
{
	int status, ret;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		struct rlimit rl = { 0, 0 };

		setrlimit(RLIMIT_CORE, &rl);
		ret = sud_setup();
		if (ret)
			_exit(ret == KSFT_SKIP ? 30 : 31);
		STORE(sud_sel, 5);
		raw_sys(__NR_getppid, 0, 0, 0, 0);
		_exit(32);
	}
	status = wait_child(pid);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 30)
		return skip("syscall user dispatch not supported");
	if (status == -1 || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		return fail("invalid selector: %s, expected SIGSYS", status_str(status));
	return KSFT_PASS;
}
#endif /* __x86_64__: single-step over syscall, seccomp, user dispatch */

/* ---- 7. rseq ---- */

static struct et_rseq *tls_rseq(void)
{
#ifdef HAVE_GLIBC_RSEQ
	unsigned long tp;

	if (__rseq_size == 0)
		return NULL;
#if defined(__x86_64__)
	asm ("movq %%fs:0, %0" : "=r" (tp));
#elif defined(__aarch64__)
	asm ("mrs %0, tpidr_el0" : "=r" (tp));
#endif
	return (struct et_rseq *)(tp + __rseq_offset);
#else
	return NULL;
#endif
}

static int rseq_error(const char *what)
{
	if (errno == ERR_NOSYS)
		return skip("rseq not supported");
	return fail("%s: %s", what, strerror(errno));
}

/*
 * v1: glibc's registration (or an own one with the original 32-byte size),
 * v2: an own registration with a larger size (the optimized ABI on 7.x).
 */
/* The registration of this thread (glibc's or our own) and its length */
static struct et_rseq *cur_rseq;
static unsigned long cur_rseq_len;

static int rseq_setup(int v2, struct et_rseq **out)
{
	struct et_rseq *rs;
	unsigned long len;

	if (!cur_rseq) {
		cur_rseq = tls_rseq();
		cur_rseq_len = 32;
	}
	if (cur_rseq && !v2 && cur_rseq_len == 32) {
		*out = cur_rseq;
		return KSFT_PASS;
	}
	if (cur_rseq) {
		if (syscall(__NR_rseq, cur_rseq, cur_rseq_len, ET_RSEQ_FLAG_UNREGISTER,
			    ET_RSEQ_SIG))
			return rseq_error("unregistering rseq");
		cur_rseq = NULL;
	}
	len = 32;
	if (v2) {
		len = getauxval(AT_RSEQ_FEATURE_SIZE);
		len = len < 64 ? 64 : (len + 31) & ~31UL;
		if (len > 4096 || getauxval(AT_RSEQ_ALIGN) > 4096)
			return skip("rseq feature size %lu too large", len);
	}
	/* A page of its own: aligned for any AT_RSEQ_ALIGN */
	rs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rs == MAP_FAILED)
		return fail("mmap");
	if (syscall(__NR_rseq, rs, len, 0, ET_RSEQ_SIG))
		return rseq_error("registering rseq");
	cur_rseq = rs;
	cur_rseq_len = len;
	*out = rs;
	return KSFT_PASS;
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

#if defined(__x86_64__)
/*
 * Pins the caller to the first CPU it may run on and returns it; -1 with the
 * test failed when it cannot.
 */
static int pin_to_first_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		fail("sched_getaffinity");
		return -1;
	}
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set); cpu++)
		;
	if (pin_to_cpu(cpu)) {
		fail("sched_setaffinity: %s", strerror(errno));
		return -1;
	}
	return cpu;
}
#endif

static int rseq_check_cpu_ids(struct et_rseq *rs, const cpu_set_t *allowed, int *n)
{
	unsigned int cpu, node;
	int c;

	for (c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, allowed))
			continue;
		if (pin_to_cpu(c))
			continue;
		if (syscall(SYS_getcpu, &cpu, &node, NULL))
			return fail("getcpu: %s", strerror(errno));
		if ((int)cpu != c)
			return fail("pinned to %d but getcpu says %u", c, cpu);
		if (LOAD(rs->cpu_id) != cpu || LOAD(rs->cpu_id_start) != cpu)
			return fail("on cpu %u rseq says cpu_id %u cpu_id_start %u", cpu,
				    LOAD(rs->cpu_id), LOAD(rs->cpu_id_start));
		(*n)++;
	}
	return KSFT_PASS;
}

static int test_rseq_cpu_id(void)
{
	struct et_rseq *rs;
	cpu_set_t allowed;
	int ret, n = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return fail("sched_getaffinity");
	ret = rseq_setup(0, &rs);
	if (ret)
		return ret;
	ret = rseq_check_cpu_ids(rs, &allowed, &n);
	if (ret)
		return ret;
	sched_setaffinity(0, sizeof(allowed), &allowed);
	ret = rseq_setup(1, &rs);
	if (ret)
		return ret;
	ret = rseq_check_cpu_ids(rs, &allowed, &n);
	if (ret)
		return ret;
	if (n < 2)
		return fail("no CPU could be checked");
	return KSFT_PASS;
}

#if defined(__x86_64__)
/*
 * The busy task of a test that shares one CPU between two tasks runs until
 * the other says stop, but for BUSY_MAX_MS at most: the other task, pinned
 * to the same CPU, gets it back only when the busy one is preempted, so a
 * kernel that never preempts a task spinning in user mode would otherwise
 * hang the test instead of failing it. The clock is read every 64K rounds.
 */
#define BUSY_MAX_MS	20000

static int busy_done(unsigned long *rounds, long long end)
{
	if (LOAD(shm->stop))
		return 1;
	return !(++*rounds & 0xffff) && now_ns() > end;
}

#define RSEQ_LOOPS	20000UL

static int test_rseq_abort_preempt(int v2)
{
	unsigned long commits = 0, aborts = 0, bad = 0, not_cleared = 0, delta;
	struct et_rseq *rs;
	long long end;
	int ret, cpu;
	pid_t pid;

	ret = rseq_setup(v2, &rs);
	if (ret)
		return ret;
	cpu = pin_to_first_cpu();
	if (cpu < 0)
		return KSFT_FAIL;

	shm->counter = 0;
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		unsigned long n = 0;

		end = now_ns() + BUSY_MAX_MS * NSEC_PER_MSEC;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (!busy_done(&n, end))
			INC(shm->counter);
		_exit(0);
	}
	end = now_ns() + 5000 * NSEC_PER_MSEC;
	while (!LOAD(shm->counter) && now_ns() < end)
		sched_yield();

	end = now_ns() + 3000 * NSEC_PER_MSEC;
	while (aborts < 20 && now_ns() < end) {
		delta = 0;
		if (rseq_run(rs, RSEQ_LOOPS, &shm->counter, &delta)) {
			aborts++;
			if (LOAD(rs->rseq_cs))
				not_cleared++;
		} else {
			commits++;
			if (delta)
				bad++;
		}
		STORE(rs->rseq_cs, 0);
	}
	STORE(shm->stop, 1);
	wait_child(pid);

	if (bad)
		return fail("%lu of %lu committed sections ran while the competitor ran",
			    bad, commits);
	if (not_cleared)
		return fail("%lu aborts left rseq_cs set", not_cleared);
	if (!aborts)
		return fail("no abort in %lu sections sharing cpu %d with a busy task",
			    commits, cpu);
	if (LOAD(rs->cpu_id) != (unsigned int)cpu)
		return fail("rseq cpu_id %u, pinned to %d", LOAD(rs->cpu_id), cpu);
	return KSFT_PASS;
}

static int test_rseq_abort_preempt_v1(void)
{
	return test_rseq_abort_preempt(0);
}

static int test_rseq_abort_preempt_v2(void)
{
	return test_rseq_abort_preempt(1);
}

static int rseq_sig_in_cs, rseq_sig_abort, rseq_sig_other;
/* Aborts seen by the test loop, and that count at the last abort frame */
static unsigned long rseq_aborts, rseq_aborts_at_frame = ~0UL;

static void rseq_sig_handler(int sig, siginfo_t *si, void *ctx)
{
	unsigned long ip = uc_reg(ctx, REG_RIP);

	if (ip >= ADDR(et_rseq_start) && ip < ADDR(et_rseq_commit_end)) {
		INC(rseq_sig_in_cs);
	} else if (ip == ADDR(et_rseq_abort)) {
		/*
		 * A second signal can arrive on the return from the first
		 * handler, before the abort handler ran: its frame holds the
		 * abort ip too but belongs to the same abort. Count one
		 * frame per abort.
		 */
		if (LOAD(rseq_aborts) != rseq_aborts_at_frame) {
			rseq_aborts_at_frame = LOAD(rseq_aborts);
			INC(rseq_sig_abort);
		}
	} else {
		INC(rseq_sig_other);
	}
}

static int test_rseq_abort_signal(int v2)
{
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	unsigned long commits = 0, not_cleared = 0, delta, ctr = 0;
	struct et_rseq *rs;
	long long end;
	int ret;

	ret = rseq_setup(v2, &rs);
	if (ret)
		return ret;
	if (set_handler(SIGPROF, rseq_sig_handler, 0))
		return fail("sigaction");
	if (setitimer(ITIMER_PROF, &it, NULL))
		return fail("setitimer");
	end = now_ns() + 3000 * NSEC_PER_MSEC;
	while (LOAD(rseq_sig_abort) < 10 && now_ns() < end) {
		if (rseq_run(rs, RSEQ_LOOPS, &ctr, &delta)) {
			INC(rseq_aborts);
			if (LOAD(rs->rseq_cs))
				not_cleared++;
		} else {
			commits++;
		}
		STORE(rs->rseq_cs, 0);
	}
	setitimer(ITIMER_PROF, &off, NULL);

	if (LOAD(rseq_sig_in_cs))
		return fail("%d signal frames point into the critical section",
			    LOAD(rseq_sig_in_cs));
	if (!LOAD(rseq_sig_abort))
		return fail("no signal frame at the abort ip (%d elsewhere, %lu commits)",
			    LOAD(rseq_sig_other), commits);
	if (LOAD(rseq_aborts) < (unsigned long)LOAD(rseq_sig_abort))
		return fail("%lu aborts for %d signals in the section",
			    LOAD(rseq_aborts), LOAD(rseq_sig_abort));
	if (not_cleared)
		return fail("%lu aborts left rseq_cs set", not_cleared);
	return KSFT_PASS;
}

static int test_rseq_abort_signal_v1(void)
{
	return test_rseq_abort_signal(0);
}

static int test_rseq_abort_signal_v2(void)
{
	return test_rseq_abort_signal(1);
}

#define ET_RSEQ_ABORTED		0x5ab0
#define RSEQ_IRQ_ROUNDS		10

static int rseq_alarm, rseq_usr1;
static unsigned long rseq_usr1_ip;

static void rseq_alarm_handler(int sig, siginfo_t *si, void *ctx)
{
	STORE(rseq_alarm, 1);
}

static void rseq_usr1_handler(int sig, siginfo_t *si, void *ctx)
{
	rseq_usr1_ip = uc_reg(ctx, REG_RIP);
	STORE(rseq_usr1, 1);
}

/*
 * rseq's user_irq event is set on every entry from user mode by an
 * interrupt or exception and must be cleared on the way back; otherwise a
 * later signal delivered on a syscall return (v2 registration) takes the
 * syscall's return address for an interrupted critical section and aborts
 * it. Each round: a SIGALRM interrupts a spin in user mode, then kill() to
 * self is made from inside a critical section.
 */
static int test_rseq_user_irq_cleared(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 1000 } };
	struct et_rseq *rs;
	long (*sys)(struct et_rseq *rs, long nr, long a0, long a1);
	long long end;
	int ret, round;
	long r;

	ret = rseq_setup(1, &rs);
	if (ret)
		return ret;
	if (set_handler(SIGALRM, rseq_alarm_handler, 0) ||
	    set_handler(SIGUSR1, rseq_usr1_handler, 0))
		return fail("sigaction");
	sys = (void *)ADDR(et_rseq_sys);
	for (round = 0; round < RSEQ_IRQ_ROUNDS; round++) {
		STORE(rseq_alarm, 0);
		STORE(rseq_usr1, 0);
		if (setitimer(ITIMER_REAL, &it, NULL))
			return fail("setitimer");
		end = now_ns() + 2000 * NSEC_PER_MSEC;
		while (!LOAD(rseq_alarm) && now_ns() < end)
			;
		if (!LOAD(rseq_alarm))
			return fail("round %d: no SIGALRM in 2 s", round);
		r = sys(rs, __NR_kill, getpid(), SIGUSR1);
		STORE(rs->rseq_cs, 0);
		if (r == ET_RSEQ_ABORTED)
			return fail("round %d: kill() aborted its section (frame %#lx)",
				    round, rseq_usr1_ip);
		if (r != 0)
			return fail("round %d: kill() returned %ld", round, r);
		if (!LOAD(rseq_usr1))
			return fail("round %d: SIGUSR1 not delivered on the syscall return", round);
		if (rseq_usr1_ip != ADDR(et_rseq_sys_ret))
			return fail("round %d: SIGUSR1 frame at %#lx, not after the syscall (%#lx)",
				    round, rseq_usr1_ip, ADDR(et_rseq_sys_ret));
	}
	return KSFT_PASS;
}

/* A function of the vDSO by name, from its dynamic symbol table, or NULL */
static void *vdso_sym(const char *name)
{
	const Elf64_Ehdr *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Shdr *sh;
	const Elf64_Phdr *ph;
	unsigned long load = 0;
	int i, j;

	if (!eh)
		return NULL;
	ph = (const void *)((const char *)eh + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			load = (unsigned long)eh + ph[i].p_offset - ph[i].p_vaddr;
			break;
		}
	}
	sh = (const void *)((const char *)eh + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym = (const void *)((const char *)eh + sh[i].sh_offset);
		const char *str;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		str = (const char *)eh + sh[sh[i].sh_link].sh_offset;
		for (j = 0; j < (int)(sh[i].sh_size / sizeof(*sym)); j++) {
			if (sym[j].st_shndx != SHN_UNDEF && !strcmp(str + sym[j].st_name, name))
				return (void *)(load + sym[j].st_value);
		}
	}
	return NULL;
}

static const uint8_t *futex_prev_ip;
static uint64_t *futex_pop;
static uint64_t futex_pop_at_cs = ~0ULL;
static int futex_steps, futex_cs_seen;

static void futex_tf_handler(int sig, siginfo_t *si, void *ctx)
{
	unsigned long ip = uc_reg(ctx, REG_RIP);
	ucontext_t *uc = ctx;

	/* The trap after "lock cmpxchgl" (f0 0f b1): the section's start */
	if (futex_prev_ip && futex_prev_ip[0] == 0xf0 && futex_prev_ip[1] == 0x0f &&
	    futex_prev_ip[2] == 0xb1 && !futex_cs_seen) {
		futex_cs_seen = 1;
		futex_pop_at_cs = LOAD(*futex_pop);
	}
	futex_prev_ip = (const uint8_t *)ip;
	if (ip == ADDR(et_tf_vdso_done) || ++futex_steps > 64)
		uc->uc_mcontext.gregs[REG_EFL] &= ~X86_EFLAGS_TF;
}

/*
 * The vDSO's robust futex unlock: "lock cmpxchgl" drops the lock (TID -> 0),
 * then the pending op pointer is cleared. A task interrupted between the
 * two with a signal pending must find the pointer cleared by the kernel
 * (futex_fixup_robust_unlock() in the exit loop, before the signal is
 * delivered), or a handler that never returns leaves the robust list
 * pointing at a lock that is not held.
 */
static int test_futex_robust_unlock_fixup(void)
{
	unsigned int (*call)(void *fn, uint32_t *lock, uint32_t tid, uint64_t *pop);
	void *fn = vdso_sym("__vdso_futex_robust_list64_try_unlock");
	uint32_t tid = gettid(), lock = tid;
	uint64_t pending = 0x1234;
	unsigned int r;

	if (!fn)
		return skip("no __vdso_futex_robust_list64_try_unlock (FUTEX_ROBUST_UNLOCK off)");
	if (set_handler(SIGTRAP, futex_tf_handler, 0))
		return fail("sigaction");
	futex_pop = &pending;
	call = (void *)ADDR(et_tf_vdso_call);
	r = call(fn, &lock, tid, &pending);
	if (futex_steps > 64)
		return fail("still stepping after 64 traps");
	if (!futex_cs_seen)
		return fail("no trap after the lock cmpxchg in %d steps", futex_steps);
	if (r != tid || lock != 0 || pending != 0)
		return fail("unlock returned %u (tid %u), lock %u, pending %#llx",
			    r, tid, lock, (unsigned long long)pending);
	if (futex_pop_at_cs != 0)
		return fail("pending op %#llx at the signal after the cmpxchg: no fixup",
			    (unsigned long long)futex_pop_at_cs);
	return KSFT_PASS;
}

#define UNWIND_RING_PAGES	16
#define UNWIND_SAMPLES		20

/*
 * Deferred user unwinding (kernel/unwind/deferred.c): a sample taken in an
 * entry from user mode asks for the user stack once per entry, under a
 * cookie of that entry; a task work emits the stack on the way out, and
 * unwind_reset_info() in exit_to_user_mode() ends the request and the
 * cookie. Without that reset every later sample until the next system call
 * returns the stale cookie and gets no callchain of its own.
 */
static int test_unwind_deferred(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.sample_period = 1000000,
		.sample_type = PERF_SAMPLE_CALLCHAIN,
		.exclude_kernel = 1,
		.exclude_hv = 1,
		.defer_callchain = 1,
		.defer_output = 1,
	};
	unsigned long records = 0, samples = 0, shared = 0, i, spins;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t head, pos, cookie, last = 0;
	struct perf_event_mmap_page *pg;
	unsigned char *data;
	long long end;
	size_t len;
	int fd;

	fd = syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0 && (errno == EINVAL || errno == EOPNOTSUPP))
		return skip("perf_event_open(defer_callchain): %s", strerror(errno));
	if (fd < 0)
		return fail("perf_event_open(defer_callchain): %s", strerror(errno));
	len = (UNWIND_RING_PAGES + 1) * page;
	pg = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pg == MAP_FAILED)
		return fail("mmap of the perf ring: %s", strerror(errno));
	/*
	 * Spin without system calls (a call's C exit path would reset the
	 * unwind state itself) until the ring holds about UNWIND_SAMPLES
	 * samples and their callchains; the clock, maybe a system call, is
	 * read only every 2^22 rounds.
	 */
	end = now_ns() + 5000 * NSEC_PER_MSEC;
	for (spins = 0;; spins++) {
		head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
		if (head >= UNWIND_SAMPLES * 80)
			break;
		if (!(spins & ((1UL << 22) - 1)) && now_ns() > end)
			break;
	}
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
	if (head > (uint64_t)UNWIND_RING_PAGES * page)
		return fail("perf ring wrapped (%llu bytes)", (unsigned long long)head);
	data = (unsigned char *)pg + page;
	for (pos = 0; pos + sizeof(struct perf_event_header) <= head;) {
		struct perf_event_header *h = (void *)(data + pos);
		const uint64_t *v = (const void *)(h + 1);

		if (!h->size)
			break;
		if (h->type == PERF_RECORD_CALLCHAIN_DEFERRED)
			records++;
		/* A sample's callchain: nr, then ..., USER_DEFERRED, cookie */
		for (i = 0; h->type == PERF_RECORD_SAMPLE && i + 1 < v[0]; i++) {
			if (v[1 + i] != PERF_CONTEXT_USER_DEFERRED)
				continue;
			cookie = v[2 + i];
			shared += samples && cookie == last;
			last = cookie;
			samples++;
			break;
		}
		pos += h->size;
	}
	munmap(pg, len);
	close(fd);
	if (samples < 5)
		return fail("only %lu samples with a deferred callchain after %lu rounds",
			    samples, spins);
	/*
	 * A sample taken while the exit work of the previous one runs (an
	 * interrupt of kernel code; perf then samples the user registers) is
	 * in the same entry and shares its cookie: under TCG 1 or 2 of 25.
	 * A stale request shares it until the next system call: all of them.
	 */
	if (shared * 2 > samples)
		return fail("%lu of %lu samples have the cookie of the sample before",
			    shared, samples);
	/* Less one: a sample in the ioctl that disables the event loses its record. */
	if (records + 1 < samples - shared)
		return fail("%lu deferred callchains for %lu cookies", records, samples - shared);
	return KSFT_PASS;
}

/* ---- 8. single-step with EFLAGS.TF ---- */

static unsigned long tf_ips[16];
static int tf_n, tf_stray;

static void tf_handler(int sig, siginfo_t *si, void *ctx)
{
	unsigned long ip = uc_reg(ctx, REG_RIP);
	ucontext_t *uc = ctx;

	if (ip >= ADDR(et_tf_first) && ip <= ADDR(et_tf_stop)) {
		if (tf_n < 16)
			tf_ips[tf_n++] = ip;
	} else {
		tf_stray++;
	}
	if (ip >= ADDR(et_tf_stop) || tf_n >= 16 || tf_stray)
		uc->uc_mcontext.gregs[REG_EFL] &= ~X86_EFLAGS_TF;
}

static int test_singlestep_tf(void)
{
	unsigned long r11 = 0, flags;
	long r;

	if (set_handler(SIGTRAP, tf_handler, 0))
		return fail("sigaction");
	r = tf_syscall(__NR_getppid, &r11);
	asm volatile ("pushfq\n\tpopq %0" : "=r" (flags));
	if (flags & X86_EFLAGS_TF)
		return fail("TF still set after the test");
	if (r != runner_pid)
		return fail("getppid returned %ld with TF set", r);
	if (!(r11 & X86_EFLAGS_TF))
		return fail("r11 %#lx after syscall lacks TF", r11);
	if (tf_stray)
		return fail("%d traps outside the stepped code", tf_stray);
	/*
	 * Traps after "movq %r8, %rax" (at the syscall instruction), after
	 * the instruction following the syscall (TF is restored by IRET, so
	 * that instruction runs before the trap) and after the nop.
	 */
	if (tf_n != 3 || tf_ips[0] != ADDR(et_tf_sys) || tf_ips[1] != ADDR(et_tf_after2) ||
	    tf_ips[2] != ADDR(et_tf_stop)) {
		char buf[256];
		int n = 0, j;

		for (j = 0; j < tf_n; j++)
			n += snprintf(buf + n, sizeof(buf) - n, " +%lu",
				      tf_ips[j] - ADDR(et_tf_first));
		if (!tf_n)
			snprintf(buf, sizeof(buf), " none");
		return fail("traps at offsets%s; expected +3 +8 +9", buf);
	}
	return KSFT_PASS;
}

/* ---- 9. audit ---- */

/*
 * One request on the audit netlink socket; waits for its ack, dropping the
 * records that arrive meanwhile. 0 on success, -1 with errno set.
 */
static int audit_request(int fd, int type, const void *data, size_t len)
{
	struct {
		struct nlmsghdr nh;
		char data[2048];
	} req;
	char buf[8192];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nh;
	ssize_t n;

	if (len > sizeof(req.data)) {
		errno = EINVAL;
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(len);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = type;
	memcpy(req.data, data, len);
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -1;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			struct nlmsgerr *err = NLMSG_DATA(nh);

			if (nh->nlmsg_type != NLMSG_ERROR || nh->nlmsg_seq != (unsigned int)type)
				continue;
			errno = -err->error;
			return err->error ? -1 : 0;
		}
	}
}

static int audit_status(int fd, int enabled, int pid)
{
	struct audit_status st = {
		.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID,
		.enabled = enabled,
		.pid = pid,
	};

	return audit_request(fd, AUDIT_SET, &st, sizeof(st));
}

/* An exit rule for getppid() on x86_64. */
static void audit_getppid_rule(struct audit_rule_data *r)
{
	memset(r, 0, sizeof(*r));
	r->flags = AUDIT_FILTER_EXIT;
	r->action = AUDIT_ALWAYS;
	r->mask[AUDIT_WORD(__NR_getppid)] = AUDIT_BIT(__NR_getppid);
	r->field_count = 1;
	r->fields[0] = AUDIT_ARCH;
	r->values[0] = AUDIT_ARCH_X86_64;
	r->fieldflags[0] = AUDIT_EQUAL;
}

/*
 * Waits up to two seconds for the SYSCALL record of a getppid() by @pid and
 * copies it to @rec; 0 when it came.
 */
static int audit_wait_record(int fd, pid_t pid, char *rec, size_t len)
{
	char buf[8192], want_nr[32], want_pid[32];
	long long end = now_ns() + 2000LL * NSEC_PER_MSEC;
	struct nlmsghdr *nh;
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;

	snprintf(want_nr, sizeof(want_nr), " syscall=%d ", __NR_getppid);
	snprintf(want_pid, sizeof(want_pid), " pid=%d ", pid);
	while (now_ns() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			size_t dlen = nh->nlmsg_len - NLMSG_HDRLEN;
			char *text = NLMSG_DATA(nh);

			if (nh->nlmsg_type != AUDIT_SYSCALL || dlen >= len)
				continue;
			memcpy(rec, text, dlen);
			rec[dlen] = '\0';
			if (strstr(rec, want_nr) && strstr(rec, want_pid))
				return 0;
		}
	}
	return -1;
}

#define XMM_SET(n)	"movq %[p], %%xmm" #n "\n\t"
#define XMM_CMP(n)	"movq %%xmm" #n ", %%rax\n\t"		\
			"xorq %[p], %%rax\n\t"			\
			"orq %%rax, %[d]\n\t"

/*
 * One round: @pattern in the low quadword of every xmm register, a spin of
 * 20000 pauses without a system call, then a check of every register.
 * Returns whether one changed. A task preempted on interrupt return gets
 * its FPU registers back on the way to user mode; if not, it finds the
 * other task's pattern.
 */
static int fpu_round(uint64_t pattern)
{
	uint64_t diff;

	asm volatile(XMM_SET(0) XMM_SET(1) XMM_SET(2) XMM_SET(3)
		     XMM_SET(4) XMM_SET(5) XMM_SET(6) XMM_SET(7)
		     XMM_SET(8) XMM_SET(9) XMM_SET(10) XMM_SET(11)
		     XMM_SET(12) XMM_SET(13) XMM_SET(14) XMM_SET(15)
		     "movl $20000, %%ecx\n"
		     "1:	pause\n\t"
		     "decl %%ecx\n\t"
		     "jnz 1b\n\t"
		     "xorq %[d], %[d]\n\t"
		     XMM_CMP(0) XMM_CMP(1) XMM_CMP(2) XMM_CMP(3)
		     XMM_CMP(4) XMM_CMP(5) XMM_CMP(6) XMM_CMP(7)
		     XMM_CMP(8) XMM_CMP(9) XMM_CMP(10) XMM_CMP(11)
		     XMM_CMP(12) XMM_CMP(13) XMM_CMP(14) XMM_CMP(15)
		     : [d] "=&r" (diff)
		     : [p] "r" (pattern)
		     : "rax", "rcx", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		       "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		       "xmm12", "xmm13", "xmm14", "xmm15");
	return diff != 0;
}

#define FPU_MS	1500

/* Two tasks spin on one CPU with their own xmm values. */
static int test_fpu_across_preemption(void)
{
	unsigned long rounds = 0, bad = 0;
	long long end;
	int cpu;
	pid_t pid;

	cpu = pin_to_first_cpu();
	if (cpu < 0)
		return KSFT_FAIL;
	STORE(shm->stop, 0);
	shm->v[0] = 0;
	shm->v[1] = 0;
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid) {
		unsigned long n = 0;

		end = now_ns() + BUSY_MAX_MS * NSEC_PER_MSEC;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (!busy_done(&n, end)) {
			shm->v[0] += fpu_round(0xbbbbbbbb22222222ULL);
			shm->v[1]++;
		}
		_exit(0);
	}
	end = now_ns() + FPU_MS * NSEC_PER_MSEC;
	while (now_ns() < end) {
		bad += fpu_round(0xaaaaaaaa11111111ULL);
		rounds++;
	}
	STORE(shm->stop, 1);
	wait_child(pid);

	if (bad || shm->v[0])
		return fail("xmm changed in %lu/%lu rounds, other task %ld/%ld, cpu %d",
			    bad, rounds, shm->v[0], shm->v[1], cpu);
	if (!shm->v[1] || !rounds)
		return fail("the two tasks did not share cpu %d (%lu and %ld rounds)",
			    cpu, rounds, shm->v[1]);
	return KSFT_PASS;
}

static int test_audit_syscall_exit(void)
{
	struct audit_rule_data rule;
	char rec[1024], want_exit[48];
	int fd, ret, status;
	pid_t pid;

	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	if (fd < 0)
		return skip("no audit netlink socket: %s", strerror(errno));
	if (audit_status(fd, 1, getpid())) {
		ret = skip("AUDIT_SET refused: %s", strerror(errno));
		close(fd);
		return ret;
	}
	audit_getppid_rule(&rule);
	if (audit_request(fd, AUDIT_ADD_RULE, &rule, sizeof(rule))) {
		ret = fail("AUDIT_ADD_RULE: %s", strerror(errno));
		goto out;
	}
	/* Forked while audit is on: the child has an audit context. */
	pid = fork();
	if (pid < 0) {
		ret = fail("fork: %s", strerror(errno));
		goto out_rule;
	}
	if (!pid)
		_exit(syscall(SYS_getppid) == getppid() ? 0 : 1);
	status = wait_child(pid);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		ret = fail("child: %s", status_str(status));
	} else if (audit_wait_record(fd, pid, rec, sizeof(rec))) {
		ret = fail("no SYSCALL record of the child's getppid()");
	} else {
		/* The record is written on syscall exit, with the result. */
		snprintf(want_exit, sizeof(want_exit), " success=yes exit=%d ", getpid());
		ret = strstr(rec, want_exit) ? KSFT_PASS :
		      fail("record without \"%s\": %.200s", want_exit + 1, rec);
	}
out_rule:
	audit_request(fd, AUDIT_DEL_RULE, &rule, sizeof(rule));
out:
	audit_status(fd, 0, 0);
	close(fd);
	/* The last config change is logged on the console: let it pass. */
	sleep_ms(200);
	return ret;
}
#endif /* __x86_64__: rseq aborts, EFLAGS.TF, xmm, audit */

/* ---- uprobes on the way out ---- */

#define UPROBE_CALLS		5
#define UPROBE_WAIT_MS		5000

/* Type number of the uprobe PMU, or -1 when the kernel has no UPROBE_EVENTS */
static int uprobe_pmu_type(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	int type = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	return type;
}

/* The file mapped at addr and addr's offset in it, from /proc/self/maps */
static int file_offset(unsigned long addr, char *path, size_t len, unsigned long *off)
{
	unsigned long start, end, pgoff;
	char line[512], file[256];
	int ret = -1;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while (ret && fgets(line, sizeof(line), f)) {
		file[0] = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %255s", &start, &end, &pgoff,
			   file) != 4 || addr < start || addr >= end || file[0] != '/')
			continue;
		snprintf(path, len, "%s", file);
		*off = addr - start + pgoff;
		ret = 0;
	}
	fclose(f);
	return ret;
}

/*
 * In the helper: a uprobe counter on et_uprobe_insn for this task only (the
 * probe's filter leaves other tasks alone), then UPROBE_CALLS calls.
 */
static int uprobe_calls(int type)
{
	struct perf_event_attr attr = {
		.type = type,
		.size = sizeof(attr),
	};
	unsigned long off;
	char path[256];
	long r, count;
	int fd, i;

	if (file_offset(ADDR(et_uprobe_insn), path, sizeof(path), &off))
		return fail("et_uprobe_insn is in no file mapping");
	attr.config1 = (uint64_t)(unsigned long)path;
	attr.config2 = off;
	fd = syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0)
		return fail("perf_event_open(uprobe %s:%#lx): %s", path, off, strerror(errno));
	for (i = 0; i < UPROBE_CALLS; i++) {
		r = call_magic(ADDR(et_uprobe_target), 0x7100 + i);
		if (r != 0x7100 + i + 1)
			return fail("probed call %d returned %#lx, not %#x", i, r, 0x7100 + i + 1);
	}
	count = read_counter(fd);
	close(fd);
	if (count != UPROBE_CALLS)
		return fail("uprobe counted %ld hits of %d calls", count, UPROBE_CALLS);
	return KSFT_PASS;
}

static int test_uprobe(void)
{
	int type = uprobe_pmu_type(), status = 0, i;
	pid_t pid;

	if (type < 0)
		return skip("no uprobe PMU (CONFIG_UPROBE_EVENTS is off)");
	pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!pid)
		_exit(uprobe_calls(type));
	for (i = 0; i < UPROBE_WAIT_MS / 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sleep_ms(100);
	}
	if (i == UPROBE_WAIT_MS / 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return fail("the probed calls did not return in %d ms (_TIF_UPROBE not handled?)",
			    UPROBE_WAIT_MS);
	}
	if (!WIFEXITED(status))
		return fail("uprobe helper ended with %s", status_str(status));
	return WEXITSTATUS(status);
}

/* ---- runner ---- */

struct entry_test {
	const char *name;
	int (*fn)(void);
};

static const struct entry_test tests[] = {
	{ "syscall_getpid_getppid", test_getpid_getppid },
	{ "syscall_enosys", test_enosys },
#if defined(__x86_64__)
	{ "syscall_insn_regs", test_syscall_insn_regs },
	{ "int80_compat", test_int80 },
#endif
	{ "signal_on_syscall_return", test_signal_syscall_return },
	{ "signal_on_irq_return", test_signal_irq_return },
	{ "signal_on_exception_return", test_signal_exception_return },
	{ "uprobe_on_exit", test_uprobe },
	{ "restart_read_sa_restart", test_restart_read_sa_restart },
	{ "restart_read_eintr", test_restart_read_eintr },
	{ "restart_nanosleep_eintr", test_restart_nanosleep_eintr },
	{ "restart_syscall_after_stop", test_restart_syscall_after_stop },
	{ "ptrace_syscall_stops", test_ptrace_stops },
	{ "ptrace_change_syscall_nr", test_ptrace_change_nr },
	{ "ptrace_change_retval", test_ptrace_retval },
	{ "ptrace_skip_syscall", test_ptrace_skip },
#if defined(__x86_64__)
	{ "ptrace_singlestep_syscall", test_ptrace_singlestep },
	{ "seccomp_allow", test_seccomp_allow },
	{ "seccomp_errno", test_seccomp_errno },
	{ "seccomp_trap", test_seccomp_trap },
	{ "seccomp_kill", test_seccomp_kill },
	{ "seccomp_trace", test_seccomp_trace },
	{ "seccomp_user_notif", test_seccomp_user_notif },
	{ "seccomp_after_ptrace", test_seccomp_after_ptrace },
	{ "sud_block_sigsys", test_sud_block },
	{ "sud_selector_allow", test_sud_allow },
	{ "sud_allowed_range", test_sud_range },
	{ "sud_off", test_sud_off },
	{ "sud_range_boundary", test_sud_boundary },
	{ "sud_bad_selector", test_sud_bad_selector },
#endif
	{ "rseq_cpu_id", test_rseq_cpu_id },
#if defined(__x86_64__)
	{ "rseq_abort_preempt_v1", test_rseq_abort_preempt_v1 },
	{ "rseq_abort_signal_v1", test_rseq_abort_signal_v1 },
	{ "rseq_abort_preempt_v2", test_rseq_abort_preempt_v2 },
	{ "rseq_abort_signal_v2", test_rseq_abort_signal_v2 },
	{ "rseq_user_irq_cleared", test_rseq_user_irq_cleared },
	{ "futex_robust_unlock_fixup", test_futex_robust_unlock_fixup },
	{ "unwind_deferred_per_entry", test_unwind_deferred },
	{ "singlestep_tf_syscall", test_singlestep_tf },
	{ "fpu_across_preemption", test_fpu_across_preemption },
	{ "audit_syscall_exit", test_audit_syscall_exit },
#endif
};

static void watchdog(int sig __maybe_unused)
{
}

static void run_test(const struct entry_test *t)
{
	struct sigaction sa;
	int status, i, timed_out = 0, stuck = 0;
	pid_t pid, r;

	memset(shm, 0, sizeof(*shm));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ksft_test_result_fail("%s (fork: %s)\n", t->name, strerror(errno));
		return;
	}
	if (!pid) {
		setpgid(0, 0);
		_exit(t->fn());
	}
	setpgid(pid, pid);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog;
	sigaction(SIGALRM, &sa, NULL);
	alarm(TEST_TIMEOUT);
	r = waitpid(pid, &status, 0);
	if (r != pid) {
		timed_out = 1;
		kill(-pid, SIGKILL);
		/*
		 * A kernel that does not deliver signals on the way back to
		 * user mode cannot deliver this one either: a child looping on
		 * an exception then never dies. Do not wait for it forever.
		 */
		for (i = 0; i < TEST_TIMEOUT * 10; i++) {
			r = waitpid(pid, &status, WNOHANG);
			if (r == pid)
				break;
			usleep(100000);
		}
		stuck = r != pid;
	}
	alarm(0);
	/* Reap helpers left behind */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;

	if (timed_out) {
		ksft_print_msg("%s: timed out after %d s%s\n", t->name, TEST_TIMEOUT,
			       stuck ? ", and SIGKILL did not end it" : "");
		ksft_test_result_fail("%s\n", t->name);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS) {
		ksft_test_result_pass("%s\n", t->name);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP) {
		ksft_test_result_skip("%s: %s\n", t->name, shm->msg);
	} else {
		if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_FAIL)
			ksft_print_msg("%s: %s\n", t->name, shm->msg);
		else
			ksft_print_msg("%s: test process ended with %s\n", t->name,
				       status_str(status));
		ksft_test_result_fail("%s\n", t->name);
	}
}

/*
 * entry_test [-t NAME]...: every test, or with -t only the named ones (in
 * the order of the table, so audit_syscall_exit stays last). An unknown
 * name fails the run before any test.
 */
int main(int argc, char **argv)
{
	unsigned int i, n = ARRAY_SIZE(tests), selected = 0;
	char want[ARRAY_SIZE(tests)] = { 0 };
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			ksft_exit_fail_msg("usage: %s [-t test]...\n", argv[0]);
		for (i = 0; i < n && strcmp(tests[i].name, optarg); i++)
			;
		if (i == n)
			ksft_exit_fail_msg("no test named %s\n", optarg);
		selected += !want[i];
		want[i] = 1;
	}

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	runner_pid = getpid();

	ksft_print_header();
	ksft_set_plan(selected ? selected : n);
	for (i = 0; i < n; i++)
		if (!selected || want[i])
			run_test(&tests[i]);
	ksft_finished();
}
