// SPDX-License-Identifier: GPL-2.0
/*
 * entry_bench: what the entry code costs, in TSC ticks per operation.
 *
 * Booted under QEMU TCG with `-icount shift=0,sleep=off,align=off`, the
 * guest TSC advances with executed instructions (1 GHz, one instruction per
 * nanosecond), so one tick is about one guest instruction and the figures
 * repeat from boot to boot. `entry-lab bench` boots it and reads its lines:
 *
 *   BENCH <name> min=<ticks> reps=<R> rounds=<N> all=<v1>,<v2>,... [key=value ...]
 *   BENCH-SKIP <name> <why>
 *   BENCH-DONE <number of figures>
 *
 * Each figure is the minimum over R repetitions of N rounds (ticks per
 * round, the loop included), after one warm-up repetition that is not
 * counted. Every operation's result is checked: a wrong one ends the
 * program with exit code 1.
 *
 * `entrylab.bench=smoke` on the kernel command line (or ENTRY_BENCH=smoke)
 * runs one short repetition of each, to check that every figure comes out;
 * `entrylab.bench=trace` does the same with a getcpu() syscall before each
 * figure and at the end, which marks the figures in an instruction trace
 * (`entry-lab bench --trace`).
 * ENTRY_BENCH_HOST=1 leaves out what changes the whole machine (audit,
 * tracefs), for a try on a development host.
 *
 * Built static against the C library's headers only (no kernel tree).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/sched/types.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REPS 16

static int reps = 5;
static int warmup = 1;
/* Rounds are divided by this in smoke mode. */
static long scale = 1;
static int host;
static int figures;
/* entrylab.bench=trace: a getcpu() syscall marks the start of each figure. */
static int trace;

static void mark(void)
{
	if (trace)
		syscall(SYS_getcpu, NULL, NULL, NULL);
}

#if defined(__aarch64__)
/*
 * arm64: the virtual counter. QEMU 10's virt machine runs it at 1 GHz for
 * `-cpu max` ("arch_timer: cp15 timer running at 1000.00MHz"), so under
 * -icount shift=0 it too counts one tick per guest instruction.
 */
static inline uint64_t tsc(void)
{
	uint64_t v;

	asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}
#else
static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}
#endif

static void die(const char *what)
{
	printf("BENCH-ERROR %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static long rounds_of(long n)
{
	n /= scale;
	return n < 3 ? 3 : n;
}

/* ------------------------------------------------------------ output -- */

struct figure {
	const char *name;
	long rounds;
	int n;
	double v[MAX_REPS];
	char extra[160];
};

static void report(struct figure *f)
{
	double min = f->v[0];

	for (int i = 1; i < f->n; i++)
		if (f->v[i] < min)
			min = f->v[i];
	printf("BENCH %s min=%.2f reps=%d rounds=%ld all=", f->name, min, f->n, f->rounds);
	for (int i = 0; i < f->n; i++)
		printf("%s%.2f", i ? "," : "", f->v[i]);
	printf("%s%s\n", f->extra[0] ? " " : "", f->extra);
	fflush(stdout);
	figures++;
}

static void skip(const char *name, const char *why)
{
	printf("BENCH-SKIP %s %s\n", name, why);
	fflush(stdout);
}

/*
 * Times `rounds` calls of op() per repetition, after the warm-up ones, and
 * prints the figure.
 */
static void bench(const char *name, long n, void (*op)(void))
{
	struct figure f = { .name = name, .rounds = rounds_of(n) };

	mark();
	for (int r = -warmup; r < reps; r++) {
		uint64_t t0 = tsc();

		for (long i = 0; i < f.rounds; i++)
			op();
		uint64_t t1 = tsc();

		if (r >= 0)
			f.v[f.n++] = (double)(t1 - t0) / f.rounds;
	}
	report(&f);
}

/* --------------------------------------------------------- syscalls -- */

static pid_t parent_pid;

static void op_getppid(void)
{
	if (syscall(SYS_getppid) != parent_pid)
		die("getppid");
}

/*
 * Forks a child that runs setup() (exit status 2 when it refuses) and then
 * times getppid() under the name `name`; returns its pid.
 */
static pid_t bench_child(const char *name, long n, int (*setup)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		parent_pid = getppid();
		if (setup && setup())
			exit(2);
		bench(name, n, op_getppid);
		exit(0);
	}
	return pid;
}

/*
 * The end of a bench_child(): a figure, a setup that refused (a skip line
 * when `refused` says why), or an error that ends the program.
 */
static void reap(const char *name, int st, const char *refused)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 1) {
		printf("BENCH-ERROR %s: child status %#x\n", name, st);
		exit(1);
	}
	if (WEXITSTATUS(st) == 0)
		figures++;
	else if (refused)
		skip(name, refused);
}

/* getppid() in a child with one more kind of syscall work switched on. */
static void in_child(const char *name, long n, int (*setup)(void))
{
	pid_t pid = bench_child(name, n, setup);
	int st;

	if (waitpid(pid, &st, 0) != pid)
		st = -1;
	reap(name, st, NULL);
}

/* A seccomp filter that allows everything: SYSCALL_WORK_SECCOMP. */
static int seccomp_allow(void)
{
	struct sock_filter insn[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = insn };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		die("seccomp");
	return 0;
}

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#endif
#define SUD_ON 1		/* PR_SYS_DISPATCH_ON */
#define SUD_ALLOW 0		/* SYSCALL_DISPATCH_FILTER_ALLOW */

static volatile char sud_selector = SUD_ALLOW;

/*
 * Syscall user dispatch on, for every address, with the selector at
 * "allow": SYSCALL_WORK_SYSCALL_USER_DISPATCH, each syscall reads the
 * selector byte and runs.
 */
static int sud_allow(void)
{
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, SUD_ON, 0, 0, &sud_selector))
		die("PR_SET_SYSCALL_USER_DISPATCH");
	return 0;
}

/* The child's setup for syscall_ptrace: it stops for its tracer. */
static int traceme(void)
{
	return ptrace(PTRACE_TRACEME, 0, NULL, NULL) || raise(SIGSTOP);
}

/*
 * PTRACE_SYSCALL: the parent stops the child at the entry and at the exit
 * of each getppid() (SYSCALL_WORK_SYSCALL_TRACE) and resumes it; a round is
 * the syscall, its two stops and the tracer's work in between.
 */
static void ptrace_stops(void)
{
	const char *name = "syscall_ptrace";
	pid_t pid = bench_child(name, 2000, traceme);
	int st, sig = 0;

	if (waitpid(pid, &st, 0) != pid)
		die("ptrace: the first stop");
	if (!WIFSTOPPED(st)) {
		/* traceme() refused: the child has exited. */
		reap(name, st, "PTRACE_TRACEME refused");
		return;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD))
		die("PTRACE_SETOPTIONS");
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig))
			die("PTRACE_SYSCALL");
		if (waitpid(pid, &st, 0) != pid)
			die("waitpid");
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		/* A syscall stop (SIGTRAP | 0x80) is resumed without a signal. */
		sig = WSTOPSIG(st) == (SIGTRAP | 0x80) ? 0 : WSTOPSIG(st);
	}
	reap(name, st, "PTRACE_TRACEME refused");
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

#define TRACEFS "/sys/kernel/tracing"
#define SYS_ENTER TRACEFS "/events/raw_syscalls/sys_enter/enable"

/* The raw_syscalls:sys_enter tracepoint: SYSCALL_WORK_SYSCALL_TRACEPOINT. */
static void tracepoint(void)
{
	const char *name = "syscall_tracepoint";

	if (host) {
		skip(name, "not on a host (ENTRY_BENCH_HOST)");
		return;
	}
	if (access(SYS_ENTER, F_OK) && mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		skip(name, "cannot mount tracefs");
		return;
	}
	if (write_file(SYS_ENTER, "1")) {
		skip(name, "cannot enable " SYS_ENTER);
		return;
	}
	in_child(name, 5000, NULL);
	if (write_file(SYS_ENTER, "0"))
		die("disable sys_enter");
}

/* AUDIT_SET enabled=0/1 over the audit netlink socket; 0 on success. */
static int audit_set(int enabled)
{
	struct {
		struct nlmsghdr nh;
		struct audit_status s;
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
		char more[256];
	} ack;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	ssize_t n;

	if (fd < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.s));
	req.nh.nlmsg_type = AUDIT_SET;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.s.mask = AUDIT_STATUS_ENABLED;
	req.s.enabled = enabled;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	n = recv(fd, &ack, sizeof(ack), 0);
	close(fd);
	if (n < (ssize_t)sizeof(ack.nh) || ack.nh.nlmsg_type != NLMSG_ERROR || ack.err.error) {
		errno = n >= 0 && ack.nh.nlmsg_type == NLMSG_ERROR ? -ack.err.error : errno;
		return -1;
	}
	return 0;
}

/*
 * Audit on: a task forked while audit is enabled gets SYSCALL_WORK_SYSCALL_AUDIT
 * (audit_alloc()), and with no rules each syscall builds and drops an audit
 * context. Last of all: once audit was enabled, every later fork gets the
 * work flag even after it is switched off again.
 */
static void audit(void)
{
	const char *name = "syscall_audit";

	if (host) {
		skip(name, "not on a host (ENTRY_BENCH_HOST)");
		return;
	}
	if (audit_set(1)) {
		skip(name, "AUDIT_SET enabled=1 refused");
		return;
	}
	in_child(name, 5000, NULL);
	if (audit_set(0))
		die("AUDIT_SET enabled=0");
}

/* ---------------------------------------------------------- signals -- */

/*
 * Fault sites (called as functions), the faulting instruction of each
 * (`_at`) and where their handler resumes (`_end`). x86: an undefined
 * opcode (#UD), a user read of address 0x10 (#PF), a privileged hlt (#GP).
 * arm64: an undefined instruction, a read of address 0x10 (data abort) and
 * a read of an EL1 system register from EL0 (SIGILL, as undefined).
 */
#if defined(__aarch64__)
asm(".pushsection .text\n"
    ".globl bench_ud2, bench_ud2_at, bench_ud2_end, bench_pf, bench_pf_at, bench_pf_end\n"
    ".globl bench_gp, bench_gp_at, bench_gp_end\n"
    "bench_ud2:\n"
    "bench_ud2_at: udf #0\n"
    "bench_ud2_end: ret\n"
    "bench_pf: mov x9, #0x10\n"
    "bench_pf_at: ldr w0, [x9]\n"
    "bench_pf_end: ret\n"
    "bench_gp:\n"
    "bench_gp_at: mrs x0, sctlr_el1\n"
    "bench_gp_end: ret\n"
    ".popsection\n");
#define GP_SIGNAL SIGILL
#define UC_IP(uc) ((unsigned long *)&(uc)->uc_mcontext.pc)
/* arm64 has no GENERIC_ENTRY syscall work: main() skips those figures. */
#define GENERIC_SYSCALL_WORK 0
#else
asm(".pushsection .text\n"
    ".globl bench_ud2, bench_ud2_at, bench_ud2_end, bench_pf, bench_pf_at, bench_pf_end\n"
    ".globl bench_gp, bench_gp_at, bench_gp_end\n"
    "bench_ud2:\n"
    "bench_ud2_at: ud2\n"
    "bench_ud2_end: ret\n"
    "bench_pf:\n"
    "bench_pf_at: movl 0x10, %eax\n"
    "bench_pf_end: ret\n"
    "bench_gp:\n"
    "bench_gp_at: hlt\n"
    "bench_gp_end: ret\n"
    ".popsection\n");
#define GP_SIGNAL SIGSEGV
#define UC_IP(uc) ((unsigned long *)&(uc)->uc_mcontext.gregs[REG_RIP])
#define GENERIC_SYSCALL_WORK 1
#endif
void bench_ud2(void), bench_pf(void), bench_gp(void);
extern char bench_ud2_at[], bench_pf_at[], bench_gp_at[];
extern char bench_ud2_end[], bench_pf_end[], bench_gp_end[];

static volatile sig_atomic_t usr1, skipped;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	unsigned long *ip = UC_IP(uc);
	static const struct {
		char *at;
		char *resume;
		int sig;
	} sites[] = {
		{ bench_ud2_at, bench_ud2_end, SIGILL },
		{ bench_pf_at, bench_pf_end, SIGSEGV },
		{ bench_gp_at, bench_gp_end, GP_SIGNAL },
	};

	(void)si;
	for (unsigned int i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		if (*ip == (unsigned long)sites[i].at && sig == sites[i].sig) {
			*ip = (unsigned long)sites[i].resume;
			skipped++;
			return;
		}
	}
	/* A fault we did not plan: say where, and stop. */
	dprintf(1, "BENCH-ERROR unexpected signal %d at %#lx\n", sig, (unsigned long)*ip);
	_exit(1);
}

static pid_t self;

static void op_kill(void)
{
	sig_atomic_t before = usr1;

	if (kill(getpid(), SIGUSR1) || usr1 != before + 1)
		die("kill");
}

#define FAULT_OP(fn, site)                       \
	static void fn(void)                     \
	{                                        \
		sig_atomic_t before = skipped;   \
		site();                          \
		if (skipped != before + 1)       \
			die(#site " did not fault"); \
	}
FAULT_OP(op_ud, bench_ud2)
FAULT_OP(op_pf, bench_pf)
FAULT_OP(op_gp, bench_gp)

/* ----------------------------------------------------- reschedule -- */

static int ping[2], pong[2];

static void op_pingpong(void)
{
	char c = 'p';

	if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1 || c != 'q')
		die("ping-pong");
}

/* nonvoluntary_ctxt_switches of a task, from /proc. */
static long nivcsw(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * A pipe ping-pong between this process and a child on the one CPU: each
 * write wakes the other side. The child asks for a short slice (0.1 ms,
 * sched_setattr() of SCHED_OTHER with sched_runtime), so that EEVDF lets
 * its wakeup preempt this process (PREEMPT_SHORT): under preempt=lazy that
 * sets TIF_NEED_RESCHED_LAZY, which only the exit to user mode acts on, so
 * the write() returns through exit_to_user_mode_loop() and schedule(). The
 * figure says how many preemptions (nonvoluntary switches) each round had.
 */
static void pingpong(void)
{
	struct figure f = { .name = "resched_pipe", .rounds = rounds_of(2000) };
	long before_p, before_c;
	pid_t pid;
	char c;

	if (pipe(ping) || pipe(pong))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct sched_attr attr = { .size = sizeof(attr), .sched_policy = 0, .sched_runtime = 100000 };

		close(ping[1]);
		close(pong[0]);
		if (syscall(SYS_sched_setattr, 0, &attr, 0))
			_exit(3);
		while (read(ping[0], &c, 1) == 1) {
			c = 'q';
			if (write(pong[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	before_p = nivcsw(self);
	before_c = nivcsw(pid);
	mark();
	for (int r = -warmup; r < reps; r++) {
		uint64_t t0 = tsc();

		for (long i = 0; i < f.rounds; i++)
			op_pingpong();
		uint64_t t1 = tsc();

		if (r >= 0)
			f.v[f.n++] = (double)(t1 - t0) / f.rounds;
	}
	snprintf(f.extra, sizeof(f.extra), "preemptions_per_round=%.2f",
		 (double)(nivcsw(self) - before_p + nivcsw(pid) - before_c) / (f.rounds * (reps + warmup)));
	close(ping[1]);
	waitpid(pid, NULL, 0);
	close(pong[0]);
	report(&f);
}

/* ------------------------------------------------------- interrupts -- */

/*
 * The kernel region must be long enough that the expiry, half of it after
 * the timerfd_settime() that arms it, comes after the return from that
 * call: on the arm64 kernels (lockdep on) that return alone outlasts half
 * of a 64 KiB read, and the interrupt landed before the region every time.
 */
#ifdef __aarch64__
static char zbuf[1 << 20];
#else
static char zbuf[64 << 10];
#endif
static int zero_fd, tfd;
static volatile long spin_n = 20000;

static void region_user(void)
{
	for (long i = 0; i < spin_n; i++)
		asm volatile("" ::: "memory");
}

static void region_kernel(void)
{
	if (read(zero_fd, zbuf, sizeof(zbuf)) != sizeof(zbuf))
		die("read /dev/zero");
}

static uint64_t timed(void (*region)(void))
{
	uint64_t t0 = tsc();

	region();
	return tsc() - t0;
}

static void arm(long ns)
{
	struct itimerspec it = { .it_value = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 } };

	if (timerfd_settime(tfd, 0, &it, NULL))
		die("timerfd_settime");
}

/*
 * The cost of one timer interrupt landing in a region that runs in user
 * mode (a spin loop) or kernel mode (read() of /dev/zero): the region's
 * shortest time with a timerfd expiring halfway through it, minus its
 * shortest time without. Besides the entry and exit this holds the APIC
 * timer handler: hrtimer_interrupt() with the timerfd expiry (no waiter).
 * The expiry moves over SWEEP consecutive nanoseconds (= instructions)
 * within each repetition, several iterations of the region's loop, so
 * every repetition has the same landing points. A repetition's value is
 * the time most of its rounds took with the interrupt (the mode), minus
 * the region's minimum without: a round that a tick also lands in costs
 * more, and now and then (about one repetition in ten, rust only) one
 * round costs 2 ticks less, which a minimum would pick up in one boot and
 * not the next.
 */
#define SWEEP 64

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The most frequent of n values (the smallest of equally frequent ones). */
static uint64_t mode(uint64_t *v, long n)
{
	uint64_t best = v[0];
	long best_n = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (long i = 0, j; i < n; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		if (j - i > best_n) {
			best_n = j - i;
			best = v[i];
		}
	}
	return best;
}
static void irq(const char *name, void (*region)(void))
{
	struct figure f = { .name = name, .rounds = trace ? SWEEP : rounds_of(SWEEP) };
	uint64_t base = UINT64_MAX, with_min = UINT64_MAX, without_min = UINT64_MAX;
	long hits = 0, misses = 0;
	uint64_t exp;

	for (int i = 0; i < 5; i++) {
		uint64_t t = timed(region);

		if (t < base)
			base = t;
	}
	mark();
	for (int r = -warmup; r < reps; r++) {
		uint64_t w, wo = UINT64_MAX, with[SWEEP];
		long n = 0;

		for (long i = 0; i < f.rounds; i++) {
			uint64_t t = timed(region);

			if (t < wo)
				wo = t;
			arm(base / 2 + i % SWEEP);
			t = timed(region);
			if (read(tfd, &exp, sizeof(exp)) == sizeof(exp)) {
				hits++;
				with[n++ % SWEEP] = t;
			} else {
				misses++;
				arm(0);
			}
		}
		if (n == 0) {
			skip(name, "the timer never expired inside the region");
			return;
		}
		w = mode(with, n < SWEEP ? n : SWEEP);
		if (r >= 0) {
			f.v[f.n++] = (double)w - (double)wo;
			if (w < with_min)
				with_min = w;
			if (wo < without_min)
				without_min = wo;
		}
	}
	if (with_min <= without_min) {
		/* The expiry came only after the region: nothing was measured. */
		skip(name, "the timer interrupt never landed inside the region");
		return;
	}
	snprintf(f.extra, sizeof(f.extra), "region=%llu with_irq_mode=%llu hits=%ld misses=%ld",
		 (unsigned long long)without_min, (unsigned long long)with_min, hits, misses);
	report(&f);
}

/* -------------------------------------------------------------- nmi -- */

/*
 * Self-NMIs through the local APIC, raised and timed in the kernel by the
 * lab's module (lab/guest/entry_bench_nmi/, built against the booted
 * kernel and put in the initramfs as /tests/entry_bench_nmi.ko): a user
 * program cannot raise an NMI on one TCG CPU. Writing N to its debugfs file
 * runs N rounds; reading it gives "<ticks> <rounds>".
 */
static void nmi(void)
{
	static const char ko[] = "/tests/entry_bench_nmi.ko";
	static const char ctl[] = "/sys/kernel/debug/entry_bench_nmi";
	struct figure f = { .name = "nmi", .rounds = rounds_of(2000) };
	char buf[64];
	int mfd, fd;

	mfd = open(ko, O_RDONLY | O_CLOEXEC);
	if (mfd < 0) {
		skip("nmi", "no /tests/entry_bench_nmi.ko in the initramfs");
		return;
	}
	if (syscall(SYS_finit_module, mfd, "", 0) && errno != EEXIST)
		die("finit_module entry_bench_nmi.ko");
	close(mfd);
	fd = open(ctl, O_RDWR);
	if (fd < 0)
		die(ctl);
	mark();
	for (int r = -warmup; r < reps; r++) {
		unsigned long long ticks;
		long rounds;
		int n = snprintf(buf, sizeof(buf), "%ld\n", f.rounds);

		if (pwrite(fd, buf, n, 0) != n)
			die("write entry_bench_nmi");
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			die("read entry_bench_nmi");
		buf[n] = 0;
		if (sscanf(buf, "%llu %ld", &ticks, &rounds) != 2 || rounds != f.rounds) {
			printf("BENCH-ERROR nmi: unexpected \"%s\"\n", buf);
			return;
		}
		if (r >= 0)
			f.v[f.n++] = (double)ticks / rounds;
	}
	close(fd);
	report(&f);
}

/* -------------------------------------------------------------- main -- */

static void read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (fd >= 0)
		close(fd);
}

#define CURRENT_CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/current_clocksource"
/* The clocksource that counts with the instructions (see tsc()). */
#if defined(__aarch64__)
#define BENCH_CLOCKSOURCE "arch_sys_counter"
#else
#define BENCH_CLOCKSOURCE "tsc"
#endif

/*
 * Right after boot the kernel runs on tsc-early in low-resolution mode:
 * hrtimers then expire only on the 4 ms tick, and the clocksource changes
 * under the measurements when the refined TSC calibration (one second in)
 * and the clocksource watchdog are done. Wait (in guest time: with
 * -icount sleep=off an idle guest costs no host time) until the clock has
 * 1 ns resolution (high-resolution mode) on BENCH_CLOCKSOURCE.
 */
static void settle(char *cs, size_t size)
{
	struct timespec res = { 0, 0 };

	for (int i = 0; i < 300; i++) {
		read_line(CURRENT_CLOCKSOURCE, cs, size);
		if (!clock_getres(CLOCK_MONOTONIC, &res) && res.tv_sec == 0 && res.tv_nsec == 1 &&
		    (host || !strcmp(cs, BENCH_CLOCKSOURCE)))
			return;
		usleep(100000);
	}
	printf("BENCH-ERROR settle: clocksource %s, resolution %ld ns after 30 s\n", cs, res.tv_nsec);
	exit(1);
}

/* entrylab.bench=MODE on the kernel command line, or ENTRY_BENCH=MODE. */

static int mode_requested(const char *mode)
{
	char buf[4096] = "", want[64];
	const char *e = getenv("ENTRY_BENCH");
	int fd;

	if (e && !strcmp(e, mode))
		return 1;
	snprintf(want, sizeof(want), "entrylab.bench=%s", mode);
	fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = 0;
		close(fd);
	}
	return strstr(buf, want) != NULL;
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };
	struct sigaction su = { .sa_handler = on_usr1 };
	char cs[64], preempt[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	host = getenv("ENTRY_BENCH_HOST") != NULL;
	trace = mode_requested("trace");
	if (trace || mode_requested("smoke")) {
		/* A trace divides its counts by the rounds: more of them. */
		scale = trace ? 10 : 100;
		reps = 1;
		warmup = 0;
	}
	self = getpid();
	parent_pid = getppid();
	settle(cs, sizeof(cs));
	read_line("/sys/kernel/debug/sched/preempt", preempt, sizeof(preempt));
	/* "full (lazy) ": the model in parentheses is the one in force. */
	if (strchr(preempt, '(') && strchr(preempt, ')')) {
		*strchr(preempt, ')') = 0;
		memmove(preempt, strchr(preempt, '(') + 1, strlen(strchr(preempt, '(')));
	}
	printf("BENCH-START mode=%s reps=%d warmup=%d clocksource=%s preempt=%s\n",
	       trace ? "trace" : scale > 1 ? "smoke" : "full",
	       reps, warmup, cs, preempt[0] ? preempt : "?");
	if (sigaction(SIGILL, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGUSR1, &su, NULL))
		die("sigaction");

	bench("syscall", 20000, op_getppid);
	bench("signal_kill", 2000, op_kill);
	bench("exc_ud", 2000, op_ud);
	bench("exc_pf", 2000, op_pf);
	bench("exc_gp", 2000, op_gp);
	pingpong();

	zero_fd = open("/dev/zero", O_RDONLY);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (zero_fd < 0 || tfd < 0)
		die("open /dev/zero or timerfd");
	memset(zbuf, 1, sizeof(zbuf));
	irq("irq_user", region_user);
	irq("irq_kernel", region_kernel);
	nmi();

	if (!GENERIC_SYSCALL_WORK) {
		/*
		 * arm64's syscall work is its own C code in both kernels (it
		 * has no GENERIC_ENTRY), and it has no syscall user dispatch.
		 */
		skip("syscall_seccomp", "arm64: the syscall work is not the generic entry code");
		skip("syscall_tracepoint", "arm64: the syscall work is not the generic entry code");
		skip("syscall_sud", "arm64: no syscall user dispatch");
		skip("syscall_ptrace", "arm64: the syscall work is not the generic entry code");
		skip("syscall_audit", "arm64: the syscall work is not the generic entry code");
	} else {
		in_child("syscall_seccomp", 20000, seccomp_allow);
		tracepoint();
		in_child("syscall_sud", 20000, sud_allow);
		ptrace_stops();
		/* Last: see audit(). */
		audit();
	}
	mark();
	printf("BENCH-DONE %d\n", figures);
	return 0;
}
