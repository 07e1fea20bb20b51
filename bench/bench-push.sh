#!/bin/sh
# Push against the client driving every hop, over links with a one-way
# delay: three nodes on this machine, each behind a TCP proxy on loopback
# that holds every chunk DELAY ms in each direction (the nodes announce the
# proxies' addresses, so node-to-node forwards cross them too). Prints ms
# per generated token with push on and off, interleaved, and what the trips
# alone would cost: (hops + 1) x DELAY with push, 2 x hops x DELAY without.
# A stand-in for a real network lab; not part of `make test`.
#
#   sh bench/bench-push.sh [MODEL.gguf]
#
# BENCH_DELAYS (ms, default "0 5 20"), BENCH_TOKENS (default 32),
# BENCH_REPS (default 2) and BENCH_THREADS (default 1) can be set.
THREADS=${BENCH_THREADS:-1}
BENCH_NAME=bench-push
. "$(dirname "$0")/lib.sh"
DELAYS=${BENCH_DELAYS:-0 5 20}
[ "$TOKENS" = 64 ] && [ -z "$BENCH_TOKENS" ] && TOKENS=32
[ "$REPS" = 3 ] && [ -z "$BENCH_REPS" ] && REPS=2

cat >"$tmp/delay.py" <<'EOF'
import asyncio, sys, time
# delay.py TARGET_PORT_FILE DELAY_MS PORT_FILE: listens on a free port
# (written to PORT_FILE) and relays to the port in TARGET_PORT_FILE, read
# at each connection, so the node may start after its proxy.
tfile, d, pfile = sys.argv[1], float(sys.argv[2]) / 1e3, sys.argv[3]

async def pipe(r, w):
    q = asyncio.Queue()
    async def send():
        while True:
            t, data = await q.get()
            if not data:
                w.close()
                return
            if t + d > time.monotonic():
                await asyncio.sleep(t + d - time.monotonic())
            w.write(data)
            await w.drain()
    s = asyncio.ensure_future(send())
    while True:
        data = await r.read(1 << 16)
        q.put_nowait((time.monotonic(), data))
        if not data:
            break
    await s

async def handle(r, w):
    try:
        tport = int(open(tfile).read())
        tr, tw = await asyncio.open_connection("127.0.0.1", tport)
    except (OSError, ValueError):
        w.close()
        return
    await asyncio.gather(pipe(r, tw), pipe(tr, w), return_exceptions=True)

async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    open(pfile + ".tmp", "w").write("%d\n" % srv.sockets[0].getsockname()[1])
    __import__("os").rename(pfile + ".tmp", pfile)
    await srv.serve_forever()
asyncio.run(main())
EOF

# wait_port FILE
wait_port() {
	n=0
	while [ ! -s "$1" ]; do
		n=$((n + 1))
		[ $n -gt 1200 ] && { echo "$BENCH_NAME: $1 not written" >&2; exit 1; }
		sleep 0.05
	done
}

echo "model: $M ($n_layer blocks), $THREADS threads a node, $TOKENS tokens, best of $REPS"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
for d in $DELAYS; do
	i=0 peers= dpids=
	for span in 0:$b1 $b1:$b2 $b2:$n_layer; do
		i=$((i + 1))
		# the proxy first, on a free port, then the node announcing it
		python3 "$tmp/delay.py" "$tmp/n$d$i" "$d" "$tmp/x$d$i" &
		dpids="$dpids $!"
		wait_port "$tmp/x$d$i"
		port=$(cat "$tmp/x$d$i")
		"$SWARM" node join -m "$M" --blocks "$span" --listen 127.0.0.1:0 \
		    --public-addr 127.0.0.1:$port --port-file "$tmp/n$d$i" \
		    -t "$THREADS" 2>"$tmp/node$d$i.log" &
		dpids="$dpids $!"
		wait_port "$tmp/n$d$i"
		peers="$peers --peer 127.0.0.1:$port"
	done
	pids="$pids $dpids"
	for r in $(seq "$REPS"); do
		for mode in push no-push; do
			"$SWARM" infer run -m "$M" $peers -t "$THREADS" \
			    -n "$TOKENS" --temp 0 --ignore-eos -v --$mode \
			    "Once upon a time" >"$tmp/out-$mode" \
			    2>"$tmp/err-$mode" || {
				cat "$tmp/err-$mode" >&2
				exit 1
			}
			sed -n 's/^generation: \([0-9]*\) tokens in \([0-9.]*\) s.*/\1 \2/p' \
			    "$tmp/err-$mode" | awk '{ printf "%.2f\n",
				1e3 * $2 / ($1 > 1 ? $1 - 1 : 1) }' \
			    >>"$tmp/ms-$d-$mode"
		done
		cmp -s "$tmp/out-push" "$tmp/out-no-push" ||
		    echo "delay $d ms: push and no-push texts differ" >&2
	done
	push=$(sort -g "$tmp/ms-$d-push" | head -1)
	nopush=$(sort -g "$tmp/ms-$d-no-push" | head -1)
	awk -v d="$d" -v p="$push" -v n="$nopush" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		printf "delay %2d ms: push %.1f ms/token (trips %d), no-push %.1f ms/token (trips %d), saved %.1f ms (load %s)\n",
		    d, p, 4 * d, n, 6 * d, n - p, l }'
	for p in $dpids; do kill "$p" 2>/dev/null; done
	for p in $dpids; do wait "$p" 2>/dev/null; done
done
