#!/bin/sh
# Runs each fuzz target for a while, one after the other:
#   run-fuzz.sh BUILD SECONDS NAME...
# A target starts from its seeds (tests/fuzz/corpus/NAME) and what earlier
# runs found (BUILD/corpus/NAME, where new inputs go); a crash is written to
# BUILD/crashes/. Prints each target's executions and speed; fails when any
# target crashed. FUZZ_ARGS adds libFuzzer options (e.g. -runs=10000000).
build=$1
seconds=$2
shift 2
failed=
mkdir -p "$build/crashes"
for name in "$@"; do
	mkdir -p "$build/corpus/$name"
	log="$build/fuzz-$name.log"
	# seeds: kept ones, and those the build writes (the GGUF files)
	seeds=
	for d in "tests/fuzz/corpus/$name" "$build/fuzz-seeds/$name"; do
		[ -d "$d" ] && seeds="$seeds $d"
	done
	"$build/fuzz/fuzz-$name" -max_total_time="$seconds" -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" \
	    $FUZZ_ARGS \
	    "$build/corpus/$name" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	corpus=$(ls "$build/corpus/$name" | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz-$name: ${execs:-?} runs, ${speed:-?}/s, no crash;" \
		    "$corpus inputs in $build/corpus/$name"
	else
		echo "fuzz-$name: FAILED (exit status $rc); log: $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' \
		    "$log" | head -5
		failed="$failed $name"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: crashed:$failed"
	exit 1
fi
