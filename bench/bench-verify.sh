#!/bin/sh
# What verification costs: a model split in three spans, each served by two
# nodes on this machine, and the same greedy run through them with
# client.verify_rate 0 (off), 0.02 and 0.1, interleaved. Prints each rate's
# median generation tokens/s, its ratio to the run without verification, and
# the steps checked. Not part of `make test`.
#
#   sh bench/bench-verify.sh [MODEL.gguf]
#
# Without MODEL it asks bench/gen-model (make bench) for the 1.1B shape in
# Q4_0. BENCH_TOKENS (default 64) and BENCH_REPS (default 3) can be set.
BENCH_NAME=bench-verify
. "$(dirname "$0")/lib.sh"

peers=
i=0
for span in 0:$b1 0:$b1 $b1:$b2 $b1:$b2 $b2:$n_layer $b2:$n_layer; do
	i=$((i + 1))
	"$SWARM" node join -m "$M" --blocks "$span" --listen 127.0.0.1:0 \
	    --port-file "$tmp/n$i.port" --threads 1 2>"$tmp/n$i.log" &
	pids="$pids $!"
	j=0
	while [ ! -s "$tmp/n$i.port" ] && [ $j -lt 600 ]; do
		sleep 0.1
		j=$((j + 1))
	done
	[ -s "$tmp/n$i.port" ] || { echo "bench-verify: node $i did not start" >&2; exit 1; }
	peers="$peers --peer 127.0.0.1:$(cat "$tmp/n$i.port")"
done

echo "bench-verify: $(basename "$M"), $n_layer blocks as 3 spans x 2 nodes," \
    "$TOKENS tokens, $REPS runs per rate"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
    "$(grep -q avx512_vnni /proc/cpuinfo && echo AVX-512 VNNI || echo AVX2)"
for r in $(seq 1 "$REPS"); do
	for rate in 0 0.02 0.1; do
		SWARM_CLIENT_VERIFY_RATE=$rate "$SWARM" infer run -m "$M" \
		    $peers -n "$TOKENS" --temp 0 --ignore-eos -v "Once upon a time" \
		    >/dev/null 2>"$tmp/run.err" || {
			echo "bench-verify: run failed:" >&2
			cat "$tmp/run.err" >&2
			exit 1
		}
		tps=$(sed -n 's/^generation: .* \([0-9.]*\) tokens\/s$/\1/p' "$tmp/run.err")
		chk=$(sed -n 's/^verified: \([0-9]*\) steps, \([0-9]*\) mismatches$/\1 \2/p' \
		    "$tmp/run.err")
		echo "$rate $tps ${chk:-0 0}" >>"$tmp/results"
	done
done
awk '
function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ n[$1]++; v[$1, n[$1]] = $2; chk[$1] += $3; bad[$1] += $4 }
END {
	printf "%-12s %12s %10s %16s %11s\n", "verify_rate", "tokens/s", "vs off",
	    "steps checked", "mismatches"
	split("0 0.02 0.1", rates, " ")
	for (k = 1; k <= 3; k++) {
		r = rates[k]
		for (i = 1; i <= n[r]; i++) a[i] = v[r, i]
		m[r] = median(a, n[r])
		printf "%-12s %12.2f %9.2fx %16.1f %11d\n", r, m[r],
		    (m["0"] > 0 ? m[r] / m["0"] : 0), chk[r] / n[r], bad[r]
	}
}' "$tmp/results"
