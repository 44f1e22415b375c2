// SPDX-License-Identifier: GPL-2.0
/*
 * Guest program of the entry lab's arm64 boots: makes the PMU raise
 * overflow interrupts and counts them. With pseudo-NMIs on
 * (irqchip.gicv3_pseudo_nmi=1) the arm PMU driver requests its interrupt as
 * an NMI, so every one of these is a pseudo-NMI; those that arrive while the
 * CPU runs with interrupts masked enter through irqentry_nmi_enter(), the
 * function the series implements. The program samples the CPU cycles of one
 * task that alternates user-mode spinning with syscalls and short masked
 * sections in the kernel (sched_yield, getppid), for two seconds, and
 * reads the PMU line of /proc/interrupts before and after.
 *
 * Prints KTAP and "ENTRY-LAB: NMI <name> <count>" for the lab; exits 0 when
 * the count went up.
 */
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The /proc/interrupts line of the PMU: its name ends the line. */
static const char *const pmu_names[] = { "arm-pmu", "PMI", NULL };

/* Sum of the per-CPU counts of the first line naming the PMU, or -1. */
static long long pmu_interrupts(char *which, size_t len)
{
	char line[1024];
	long long sum = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (sum < 0 && fgets(line, sizeof(line), f)) {
		for (int i = 0; pmu_names[i]; i++) {
			char *p, *end;

			if (!strstr(line, pmu_names[i]))
				continue;
			p = strchr(line, ':');
			if (!p)
				continue;
			sum = 0;
			for (p++;; p = end) {
				long long v = strtoll(p, &end, 10);

				if (end == p)
					break;
				sum += v;
			}
			snprintf(which, len, "%s", pmu_names[i]);
			break;
		}
	}
	fclose(f);
	return sum;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct perf_event_attr attr;
	char which[32] = "none";
	long long before, after;
	volatile unsigned long spin = 0;
	int fd;

	printf("KTAP version 1\n1..1\n");
	before = pmu_interrupts(which, sizeof(which));
	if (before < 0) {
		printf("# no PMU line in /proc/interrupts\n");
		printf("not ok 1 pmu_nmis_taken\n");
		return 1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_HARDWARE;
	attr.config = PERF_COUNT_HW_CPU_CYCLES;
	/* Small enough for thousands of overflows a second under TCG. */
	attr.sample_period = 200000;
	attr.disabled = 1;
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0) {
		perror("# perf_event_open");
		printf("not ok 1 pmu_nmis_taken\n");
		return 1;
	}
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	for (double end = now() + 2; now() < end;) {
		for (int i = 0; i < 20000; i++)
			spin++;
		sched_yield();
		syscall(SYS_getppid);
	}
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	close(fd);
	after = pmu_interrupts(which, sizeof(which));
	printf("ENTRY-LAB: NMI %s %lld\n", which, after - before);
	printf("# %s interrupts: %lld before, %lld after\n", which, before, after);
	if (after > before) {
		printf("ok 1 pmu_nmis_taken\n");
		return 0;
	}
	printf("not ok 1 pmu_nmis_taken\n");
	return 1;
}
