#!/bin/sh
# Runs every tests/e2e/test-*.sh and ends with "N passed, N failed", as
# tests/run-tests.sh does for the unit and CLI tests.
export SWARM_BIN=${SWARM_BIN:-$PWD/swarm}
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in tests/e2e/test-*.sh; do
	[ -f "$t" ] || continue
	echo "== $(basename "$t")"
	sh "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $(basename "$t") (exit status $rc)"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
