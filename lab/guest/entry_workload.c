// SPDX-License-Identifier: GPL-2.0
/*
 * Guest workload for the entry lab: for N seconds, one process per CPU
 * each runs a mix that goes through every entry path the generic entry
 * code handles from user space:
 *   - syscalls whose results are checked (getppid, getpid, write to a pipe),
 *   - signals delivered on syscall return (kill to self) and on interrupt
 *     return (ITIMER_PROF fires while the process spins in user mode),
 *   - fork + exec + wait (exec of busybox true, exit status checked),
 *   - timer interrupts all along (the busy loops are interrupted).
 * Prints KTAP; exits 0 only when every check held.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t prof_hits, usr_hits;

static void on_prof(int sig) { (void)sig; prof_hits++; }
static void on_usr(int sig) { (void)sig; usr_hits++; }

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct counts {
	long syscalls, bad_syscalls, kills, execs, bad_execs, spins;
};

static void one_round(struct counts *c, pid_t parent)
{
	int p[2];
	char buf[8];
	pid_t pid;
	int st;

	for (int i = 0; i < 1000; i++) {
		c->syscalls += 2;
		if (syscall(SYS_getppid) != parent || syscall(SYS_getpid) != getpid())
			c->bad_syscalls++;
	}
	/* An invalid syscall number must give -ENOSYS. */
	errno = 0;
	if (syscall(-1L) != -1 || errno != ENOSYS)
		c->bad_syscalls++;
	if (pipe(p) == 0) {
		if (write(p[1], "entry", 5) != 5 || read(p[0], buf, 5) != 5 ||
		    memcmp(buf, "entry", 5))
			c->bad_syscalls++;
		close(p[0]);
		close(p[1]);
	}
	/* Signal delivered on the way out of kill(). */
	long before = usr_hits;
	kill(getpid(), SIGUSR1);
	c->kills++;
	if (usr_hits != before + 1)
		c->bad_syscalls++;
	/* Spin in user mode so that the profiling timer interrupts us. */
	double end = now() + 0.05;
	while (now() < end)
		c->spins++;
	pid = fork();
	if (pid == 0) {
		execl("/bin/busybox", "true", (char *)NULL);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		c->execs++;
	else
		c->bad_execs++;
}

static int worker(int id, double secs)
{
	struct counts c = { 0 };
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	pid_t parent = getppid();
	double end = now() + secs;

	signal(SIGPROF, on_prof);
	signal(SIGUSR1, on_usr);
	setitimer(ITIMER_PROF, &it, NULL);
	while (now() < end)
		one_round(&c, parent);
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_PROF, &it, NULL);
	printf("# worker %d: %ld syscalls (%ld wrong), %ld kills, %ld execs (%ld failed), %d SIGPROF on interrupt return\n",
	       id, c.syscalls, c.bad_syscalls, c.kills, c.execs, c.bad_execs, (int)prof_hits);
	fflush(stdout);
	return c.bad_syscalls == 0 && c.bad_execs == 0 && c.execs > 0 && prof_hits > 0 &&
	       usr_hits == c.kills ? 0 : 1;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int failed = 0;

	if (ncpu < 1)
		ncpu = 1;
	printf("KTAP version 1\n1..%ld\n", ncpu);
	fflush(stdout);
	for (long i = 0; i < ncpu; i++) {
		if (fork() == 0)
			_exit(worker(i, secs));
	}
	for (long i = 0; i < ncpu; i++) {
		int st;
		pid_t pid = wait(&st);
		int ok = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;

		printf("%sok %ld workload_worker\n", ok ? "" : "not ", i + 1);
		failed |= !ok;
	}
	return failed;
}
