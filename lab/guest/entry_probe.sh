#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs the rust_entry_probe sample (samples/rust/rust_entry_probe.rs) and
# checks its record, as KTAP. The expectations are the same for the C and
# the Rust entry code; only the preemption result depends on preempt=.
f=/sys/kernel/debug/rust_entry_probe/record
echo "TAP version 13"
echo "1..4"
if [ ! -e "$f" ]; then
	n=0
	for t in irq_work ipi hrtimer preempt; do
		n=$((n + 1))
		echo "not ok $n $t # no $f (CONFIG_SAMPLE_RUST_ENTRY_PROBE?)"
	done
	exit 1
fi
if ! echo 1 > "$f"; then
	echo "# writing $f failed"
	exit 1
fi
sed 's/^/# /' "$f"
rc=0
n=0
# key=value of one record line: val LINE KEY
val() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
for p in irq_work ipi hrtimer; do
	n=$((n + 1))
	l=$(grep "^$p " "$f")
	runs=$(val "$l" runs)
	if [ "$p" = ipi ] && [ "$(nproc)" -lt 2 ]; then
		echo "ok $n $p # SKIP one CPU"
		continue
	fi
	# A polling idle CPU runs IPI functions from its idle loop, without
	# an interrupt; only the ipi path may see that.
	polled=$(val "$l" polled)
	[ "$p" = ipi ] || [ "$polled" = 0 ] || polled=bad
	if [ "$runs" = 20 ] && [ "$polled" != bad ] &&
	   [ $(($(val "$l" hardirq) + polled)) = 20 ] &&
	   [ "$(val "$l" irqs_off)" = 20 ] && [ "$(val "$l" nmi)" = 0 ] &&
	   [ "$(val "$l" rcu)" = 20 ]; then
		echo "ok $n $p"
	else
		echo "not ok $n $p # want runs=hardirq+polled=irqs_off=rcu=20 nmi=0: $l"
		rc=1
	fi
done
l=$(grep "^preempt " "$f")
inv=$(val "$l" involuntary)
case "$(val "$l" model)" in
*none*|*voluntary*) want="involuntary=0"; [ "$inv" = 0 ] ;;
*) want="involuntary>0"; [ -n "$inv" ] && [ "$inv" -gt 0 ] ;;
esac
if [ $? = 0 ] && [ "$(val "$l" spinners)" = 2 ]; then
	echo "ok 4 preempt"
else
	echo "not ok 4 preempt # want spinners=2 $want: $l"
	rc=1
fi
exit $rc
