#!/bin/sh
# Runs every unit test binary and every CLI test script, shows their output,
# and ends with one line: "N passed, N failed". A test program that crashes
# or exits non-zero without reporting a failure counts as one failure.
BUILD=${BUILD:-build}
export SWARM_BIN=${SWARM_BIN:-$PWD/swarm}
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	name=$1
	shift
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name (exit status $rc)"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
}

for t in "$BUILD"/tests/test-*; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t")"
	run_one "$(basename "$t")" "$t"
done
for t in tests/cli/test-*.sh; do
	[ -f "$t" ] || continue
	echo "== $(basename "$t")"
	run_one "$(basename "$t")" sh "$t"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
