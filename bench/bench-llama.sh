#!/bin/sh
# Our prompt (pp64) and generation (tg32) speed against llama.cpp's on the
# same model files, measured side by side: each round runs llama-bench and
# bench-model once at each thread count, the one that goes first changing
# every round (a change in the machine's speed hits both), and the table
# gives the medians and the median of the rounds' ratios. Not part of
# `make test`.
#
#   LLAMA_BENCH=/path/to/llama-bench sh bench/bench-llama.sh MODEL.gguf...
#
# Without LLAMA_BENCH (or with one that does not run) it says so and exits
# 0. BENCH_THREADS (default "1 2") and BENCH_ROUNDS (default 3) can be set;
# make bench's models (bench/models) are files to give it.
BUILD=${BUILD:-build}
THREADS=${BENCH_THREADS:-1 2}
ROUNDS=${BENCH_ROUNDS:-3}
OURS=$BUILD/bench/bench-model
SWARM=${SWARM_BIN:-$PWD/swarm}

if [ -z "$LLAMA_BENCH" ] || ! "$LLAMA_BENCH" --help >/dev/null 2>&1; then
	echo "bench-llama: no llama-bench (set LLAMA_BENCH): nothing measured"
	exit 0
fi
if [ ! -x "$OURS" ]; then
	echo "bench-llama: no $OURS (run make bench)" >&2
	exit 1
fi
if [ $# -eq 0 ]; then
	echo "usage: LLAMA_BENCH=... sh bench/bench-llama.sh MODEL.gguf..." >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# speeds FILE PROGRAM: "test t/s" lines (pp64, tg32) from the markdown
# rows both programs print; the t/s column is the one before the last
# for llama-bench and two before the last for bench-model
speeds() {
	awk -F'|' -v col="$2" '$0 ~ /(pp|tg)[0-9]+ *\|/ {
		for (i = 1; i <= NF; i++) {
			f = $i; gsub(/ /, "", f)
			if (f ~ /^(pp|tg)[0-9]+$/) test = f
		}
		v = $(NF - col); sub(/±.*/, "", v); gsub(/ /, "", v)
		print test, v
	}' "$1"
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
echo "llama-bench: $LLAMA_BENCH"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in "$@"; do
	type=$("$SWARM" shard info "$m" 2>/dev/null |
	    awk '$1 == "file" && $2 == "type" { print $3; exit }')
	[ -n "$type" ] || type=$(basename "$m")
	for t in $THREADS; do
		for r in $(seq "$ROUNDS"); do
			if [ $((r % 2)) -eq 1 ]; then order="llama ours"
			else order="ours llama"; fi
			for who in $order; do
				if [ "$who" = llama ]; then
					"$LLAMA_BENCH" -m "$m" -t "$t" -p 64 \
					    -n 32 -r 1 >"$tmp/out" 2>&1
				else
					"$OURS" -t "$t" -r 1 -p 64 -n 32 \
					    --no-header "$m" >"$tmp/out" 2>&1
				fi || {
					cat "$tmp/out" >&2
					echo "bench-llama: $who failed on $m" >&2
					exit 1
				}
				if [ "$who" = llama ]; then col=1; else col=2; fi
				speeds "$tmp/out" "$col" | while read -r test v; do
					echo "$type $t $test $r $who $v"
				done >>"$tmp/all"
			done
		done
		echo "$type, $t threads: measured (load $(cut -d' ' -f1 /proc/loadavg))"
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| type | threads | test | ours t/s | llama.cpp t/s | ours / llama.cpp | median of the rounds' ratios |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: |"
python3 - "$tmp/all" <<'EOF'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    typ, t, test, r, who, v = line.split()
    rows.setdefault((typ, int(t), test), {}).setdefault(who, {})[r] = float(v)
for (typ, t, test), d in rows.items():
    ours, llama = d.get("ours", {}), d.get("llama", {})
    if not ours or not llama:
        continue
    mo, ml = statistics.median(ours.values()), statistics.median(llama.values())
    paired = [ours[r] / llama[r] for r in ours if r in llama and llama[r] > 0]
    print("| %s | %d | %s | %.2f | %.2f | %.2fx | %.2fx |" % (
        typ, t, test, mo, ml, mo / ml, statistics.median(paired)))
EOF
