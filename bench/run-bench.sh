#!/bin/sh
# What `make bench` runs: makes (or reuses) TinyLlama-1.1B-shaped models
# with random weights in several types, measures each with bench-model
# (pp64 and tg32 at 1 and 2 threads, like llama-bench), prints one table,
# compares it with llama.cpp's figures for the same shape on the same kind
# of machine, and writes everything to bench/results.json.
#
#   make bench                          all types, 5 repetitions
#   make bench BENCH_TYPES="Q4_0 Q8_0"  some types only
#   make bench BENCH_REPS=2             fewer repetitions
#   make bench BENCH=kernels            the kernel benchmark instead
#   make bench BENCH=all                both
#
# BENCH_THREADS (default 1,2), BENCH_MODELS (the model cache, default
# bench/models), BENCH_JSON (default bench/results.json) and BENCH_SHAPE
# (gen-model's shape options, default --shape tinyllama; the llama.cpp
# figures only hold for that one) can be set too.
#
# gen-model writes F32, F16, Q8_0, Q4_0 and Q4_K_M files itself. The other
# types (Q6_K, Q5_K_M, Q3_K_M, Q2_K, Q5_0, Q4_1, Q5_1) are made from its
# F16 file by llama.cpp's quantizer, so that they hold llama.cpp's
# per-tensor type mix: BENCH_QUANTIZE names that program (llama-quantize);
# without it those types are skipped, saying so.
BUILD=${BUILD:-build}
BIN=$BUILD/bench
TYPES=${BENCH_TYPES:-F16 Q8_0 Q4_0 Q4_K_M Q6_K Q5_K_M Q3_K_M Q2_K Q5_0 Q4_1
    Q5_1}
QUANTIZE=${BENCH_QUANTIZE:-}
REPS=${BENCH_REPS:-5}
THREADS=${BENCH_THREADS:-1,2}
MODELS=${BENCH_MODELS:-bench/models}
JSON=${BENCH_JSON:-bench/results.json}
SHAPE=${BENCH_SHAPE:---shape tinyllama}
WHAT=${1:-${BENCH:-models}}

case $WHAT in
models|kernels|all) ;;
*)	echo "run-bench.sh: unknown benchmark '$WHAT' (models, kernels, all)" >&2
	exit 2 ;;
esac

if [ "$WHAT" = kernels ] || [ "$WHAT" = all ]; then
	if [ -x "$BIN/bench-kernels" ]; then
		"$BIN/bench-kernels" || exit 1
	else
		echo "run-bench.sh: no $BIN/bench-kernels" >&2
		[ "$WHAT" = kernels ] && exit 1
	fi
	[ "$WHAT" = kernels ] && exit 0
fi

for b in gen-model bench-model; do
	if [ ! -x "$BIN/$b" ]; then
		echo "run-bench.sh: no $BIN/$b (run make bench)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

now() { date +%s.%N; }

echo "load average before: $(cat /proc/loadavg)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo

# The types gen-model writes itself.
gen_writes() {
	case $1 in
	F32|F16|Q8_0|Q4_0|Q4_K_M) return 0 ;;
	*) return 1 ;;
	esac
}

# gen-model's file of type $1: its path to stdout, the seconds it took (or
# "null" when it was cached) to $tmp/$1.gen
gen_file() {
	t0=$(now)
	"$BIN/gen-model" $SHAPE --type "$1" --dir "$MODELS" >"$tmp/$1.path" \
	    2>"$tmp/$1.log"
	rc=$?
	t1=$(now)
	cat "$tmp/$1.log" >&2
	[ "$rc" -eq 0 ] || return 1
	if grep -q '^gen-model: reusing' "$tmp/$1.log"; then
		echo null
	else
		echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }'
	fi >"$tmp/$1.gen"
}

# Models first, so generating one does not disturb measuring another.
kept=
for t in $TYPES; do
	if gen_writes "$t"; then
		gen_file "$t" || exit 1
		kept="$kept $t"
		continue
	fi
	if [ -z "$QUANTIZE" ]; then
		echo "run-bench.sh: skipping $t: gen-model does not write it;" \
		    "set BENCH_QUANTIZE to a llama-quantize to make it with" \
		    "llama.cpp's type mix" >&2
		continue
	fi
	if [ ! -f "$tmp/F16.path" ]; then
		gen_file F16 || exit 1
	fi
	f16=$(cat "$tmp/F16.path")
	out=$(dirname "$f16")/$t-from-$(basename "$f16")
	if [ -f "$out" ] && [ "$out" -nt "$f16" ]; then
		echo "run-bench.sh: reusing $out" >&2
		echo null >"$tmp/$t.gen"
	else
		t0=$(now)
		if ! "$QUANTIZE" "$f16" "$out.tmp" "$t" >"$tmp/$t.log" \
		    2>&1; then
			cat "$tmp/$t.log" >&2
			echo "run-bench.sh: $QUANTIZE could not make $t" >&2
			rm -f "$out.tmp"
			exit 1
		fi
		mv "$out.tmp" "$out"
		t1=$(now)
		echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }' \
		    >"$tmp/$t.gen"
	fi
	echo "$out" >"$tmp/$t.path"
	kept="$kept $t"
done
TYPES=$kept
if [ -z "$TYPES" ]; then
	echo "run-bench.sh: no type left to measure" >&2
	exit 1
fi

# CPU time the hypervisor gave to others while we ran (/proc/stat "steal"),
# a sign of a busy host that the load average inside the machine misses.
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t }' /proc/stat; }
ticks0=$(cpu_ticks)
header=
for t in $TYPES; do
	"$BIN/bench-model" -r "$REPS" -t "$THREADS" $header \
	    --json "$tmp/$t.json" "$(cat "$tmp/$t.path")" || exit 1
	header=--no-header
done
echo
echo "load average after: $(cat /proc/loadavg)"
echo "$ticks0 $(cpu_ticks)" | awk '{ d = $4 - $2; if (d > 0) printf "cpu steal during the runs: %.1f%% of cpu time\n", 100 * ($3 - $1) / d }'

# llama.cpp on the same shape and kind of machine (t/s):
# type, tg32 at 2 threads, pp64 at 2 threads, tg32 at 1 thread.
cat >"$tmp/ref" <<'EOF'
F16 15.6 91 12.7
Q8_0 22.7 100 14.4
Q4_0 47.6 112 28.5
Q4_K_M 38.3 65 26.0
EOF

# The reference figures hold for TinyLlama's shape only.
[ "$SHAPE" = "--shape tinyllama" ] || : >"$tmp/ref"

if ! command -v python3 >/dev/null 2>&1; then
	echo "run-bench.sh: python3 not found; results not combined" >&2
	exit 0
fi
python3 - "$tmp" "$JSON" "$(cat /proc/loadavg)" $TYPES <<'EOF'
import json, sys, os
tmp, out, load, types = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
ref = {}
for line in open(os.path.join(tmp, "ref")):
    t, tg2, pp2, tg1 = line.split()
    ref[t] = {("tg", 2): float(tg2), ("pp", 2): float(pp2),
              ("tg", 1): float(tg1)}
models = []
for t in types:
    d = json.load(open(os.path.join(tmp, t + ".json")))
    d["gen_seconds"] = json.loads(open(os.path.join(tmp, t + ".gen")).read())
    d["llama_cpp"] = []
    for run in d["runs"]:
        for test in ("pp", "tg"):
            r = ref.get(t, {}).get((test, run["threads"]))
            if r is None:
                continue
            ours = run[test]["median"]
            d["llama_cpp"].append({"threads": run["threads"], "test": test,
                                   "tps": r, "ratio": ours / r,
                                   "ratio_best": run[test]["max"] / r})
    models.append(d)
json.dump({"load_after": load, "models": models}, open(out, "w"), indent=2)

print()
# "read": the same weights read once with nothing done to them, the
# bandwidth limit of generation on this machine (see bench-model.c)
print("| type | size | peak RSS | weights read/token | made in | threads | tg GB/s | read GB/s | tg / limit |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for d in models:
    g = d["gen_seconds"]
    for run in d["runs"]:
        rd = run["read_gbps"]["median"]
        print("| %s | %.1f MiB | %.1f MiB | %.1f MiB | %s | %d | %.2f | %.2f | %.0f%% |" % (
            d["type"], d["file_bytes"] / 2**20, d["peak_rss_bytes"] / 2**20,
            d["bytes_per_token"] / 2**20,
            "cached" if g is None else "%.1f s" % g, run["threads"],
            run["tg_gbps"], rd, 100 * run["tg_gbps"] / rd))
if not ref:
    print()
    print("results written to", out)
    sys.exit(0)
print()
print("compared with llama.cpp (same shape, same kind of machine):")
print()
print("(median and best run; the best shows what a busy machine hides)")
print()
print("| type | threads | test | ours t/s | best | llama.cpp t/s | ours / llama.cpp | best / llama.cpp |")
print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
for d in models:
    n = {"pp": d["n_prompt"], "tg": d["n_gen"]}
    for c in d["llama_cpp"]:
        print("| %s | %d | %s%d | %.2f | %.2f | %.1f | %.2f | %.2f |" % (
            d["type"], c["threads"], c["test"], n[c["test"]],
            c["tps"] * c["ratio"], c["tps"] * c["ratio_best"], c["tps"],
            c["ratio"], c["ratio_best"]))
print()
print("results written to", out)
EOF
