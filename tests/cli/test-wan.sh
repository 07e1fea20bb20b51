# The swarm over a slow network: a prompt whose frame passes the 64 MiB cap
# goes in several steps; and, in network namespaces with delayed and
# bandwidth-limited links (tests/cli/netlab.sh, root only, else skipped),
# the client routes by measured latency (near replica, far one while the
# near one is down, back when it returns), a pushed run through three
# nodes 20 ms apart survives kill -9 of its middle node with the same text,
# nodes publish the round trips they measured to the next ones with push,
# and the client puts hidden
# states in f16 on a 2 MB/s link, about twice as fast, within the f16
# tolerance.
. tests/cli/lib.sh
BUILD=${BUILD:-build}
GEN=$BUILD/bench/gen-model
M=$MODELS/stories260K.gguf

# --- a frame over 64 MiB goes in chunks (loopback) -------------------------------
# 1100 rows of 16384 floats: 72 MB in one frame. Tiny attention (one head
# of 64) and feed-forward keep the compute to a second.
BIG=$("$GEN" -q --dir "$SWARM_HOME/models" --type Q8_0 --blocks 2 \
    --embd 16384 --ffn 64 --heads 1 --head-dim 64 --vocab 512 --ctx 2048)
check gen-wide-model [ -s "$BIG" ]
TOKS=$(python3 -c 'print(",".join(str(3 + i * 7 % 500) for i in range(1100)))')
rm -f "$SWARM_HOME/big.port"
"$SWARM" node join -m "$BIG" --blocks 0:2 --listen 127.0.0.1:0 \
    --port-file "$SWARM_HOME/big.port" --threads 1 2>"$SWARM_HOME/big.log" &
pid_big=$!
track $pid_big
wait_file "$SWARM_HOME/big.port" || fail start-big "$(cat "$SWARM_HOME/big.log")"
expect long-prompt-local 0 "$SWARM" infer run --local -m "$BIG" --tokens "$TOKS" \
    -n 4 --temp 0 --ctx-size 1200
local_text=$out
expect long-prompt-swarm 0 "$SWARM" infer run -m "$BIG" --tokens "$TOKS" \
    -n 4 --temp 0 --ctx-size 1200 -v \
    --peer 127.0.0.1:$(cat "$SWARM_HOME/big.port")
check long-prompt-same-text [ "$out" = "$local_text" ]
check long-prompt-chunked sh -c 'echo "$1" | grep -q "1100 rows over 2 steps"' \
    _ "$err"
kill $pid_big
wait $pid_big 2>/dev/null

# --- the network lab ----------------------------------------------------------------
. tests/cli/netlab.sh
if ! netlab_usable; then
	echo "SKIP network namespaces ($netlab_why)"
	exit $cli_failed
fi
netlab_init || { fail netlab-init; exit 1; }

# lab_node NS NAME MODEL BLOCKS: a node in NS on its loopback, port 7000.
lab_node() {
	rm -f "$SWARM_HOME/$2.port"
	ip netns exec "$(netlab_ns "$1")" "$SWARM" node join -m "$3" \
	    --blocks "$4" \
	    --listen 127.0.0.1:7000 --port-file "$SWARM_HOME/$2.port" \
	    --threads 1 2>>"$SWARM_HOME/$2.log" &
	pid=$!
	track $pid
	eval "pid_$2=$pid"
	wait_file "$SWARM_HOME/$2.port" || {
		fail "start-$2" "$(cat "$SWARM_HOME/$2.log")"
		return 1
	}
}

# --- routing by measured latency ---------------------------------------------------
# Two replicas of every block: one 5 ms away, one 50 ms away.
netlab_add c
netlab_add near
netlab_add far
lab_node near near "$M" 0:5
lab_node far far "$M" 0:5
netlab_expose near 7000 5 || fail expose-near
NEAR=$netlab_public
netlab_expose far 7000 50 || fail expose-far
FAR=$netlab_public

expect route-local 0 "$SWARM" infer run --local -m "$M" -n 300 --temp 0 \
    --ignore-eos
route_text=$out
: >"$SWARM_HOME/route.err"
netlab_run c "$SWARM" infer run -m "$M" -n 300 --temp 0 --ignore-eos -v \
    --peer "$FAR" --peer "$NEAR" >"$SWARM_HOME/route.out" \
    2>"$SWARM_HOME/route.err" &
pid_run=$!
track $pid_run
i=0
until grep -q "chain:" "$SWARM_HOME/route.err"; do
	i=$((i + 1))
	[ $i -gt 200 ] && break
	sleep 0.05
done
check route-near-first sh -c 'grep -m1 "chain:" "$1" | grep -q "chain: $2 "' \
    _ "$SWARM_HOME/route.err" "$NEAR"
sleep 1
kill -9 $pid_near
wait $pid_near 2>/dev/null
sleep 1.5
lab_node near near "$M" 0:5
wait $pid_run
check route-run-ok [ $? -eq 0 ]
check route-same-text [ "$(cat "$SWARM_HOME/route.out")" = "$route_text" ]
check route-moved-far grep -q "chain: $FAR " "$SWARM_HOME/route.err"
check route-stall-said grep -q "blocks 0:5: stalled [0-9.]* s" "$SWARM_HOME/route.err"
check route-back-near grep -q "reroute: blocks 0:5 .* through $FAR, .* through $NEAR: moving" \
    "$SWARM_HOME/route.err"
check route-ends-near grep -q "hop 0: $NEAR blocks 0:5" "$SWARM_HOME/route.err"
[ $cli_failed = 0 ] || cat "$SWARM_HOME/route.err"
kill $pid_near $pid_far
wait $pid_near $pid_far 2>/dev/null

# --- round trips between peers, measured and published -------------------------------
# Two nodes 20 ms away each, one way: after a pushed run the first one's
# /info says its round trip to the second, at least 40 ms (and not wildly
# more), and the next run prices that link with it rather than with an
# estimate from the client's own round trips.
netlab_add p1
netlab_add p2
lab_node p1 p1 "$M" 0:3
lab_node p2 p2 "$M" 3:5
netlab_expose p1 7000 20 || fail expose-p1
P1=$netlab_public
netlab_expose p2 7000 20 || fail expose-p2
P2=$netlab_public
expect rtt-local 0 "$SWARM" infer run --local -m "$M" -n 30 --temp 0
rtt_text=$out
expect rtt-push-run 0 netlab_run c "$SWARM" infer run -m "$M" -n 30 --temp 0 \
    -v --push --peer "$P1" --peer "$P2"
check rtt-push-text [ "$out" = "$rtt_text" ]
check rtt-estimated sh -c 'echo "$1" | grep -q "push links: $2 -> $3 rtt [0-9.]* ms estimated"' \
    _ "$err" "$P1" "$P2"
check rtt-published sh -c 'ip netns exec "$1" curl -s 127.0.0.1:7000/info |
    python3 -c "import json, sys
r = json.load(sys.stdin)[\"status\"][\"push\"][\"rtt\"]
t = r[sys.argv[1]]
print(\"published round trip to the next hop: %.1f ms\" % (t * 1e3), file=sys.stderr)
assert 0.040 <= t < 0.2, r" "$2"' _ "$(netlab_ns p1)" "$P2"
# The last node forwards to nobody.
check rtt-last-none sh -c 'ip netns exec "$1" curl -s 127.0.0.1:7000/info |
    python3 -c "import json, sys
assert json.load(sys.stdin)[\"status\"][\"push\"][\"rtt\"] == {}"' _ \
    "$(netlab_ns p2)"
expect rtt-push-again 0 netlab_run c "$SWARM" infer run -m "$M" -n 30 --temp 0 \
    -v --push --peer "$P1" --peer "$P2"
check rtt-again-text [ "$out" = "$rtt_text" ]
check rtt-measured sh -c 'ms=$(echo "$1" | sed -n "s/.*push links: $2 -> $3 rtt \([0-9.]*\) ms measured.*/\1/p")
    [ -n "$ms" ] && python3 -c "import sys; assert 40 <= float(sys.argv[1]) < 200" "$ms"' \
    _ "$err" "$P1" "$P2"
[ $cli_failed = 0 ] || echo "$err"
kill $pid_p1 $pid_p2
wait $pid_p1 $pid_p2 2>/dev/null

# --- failover under delay, with push -----------------------------------------------
# Three spans, 20 ms each way on every link, a spare for the middle one:
# kill -9 of the middle node in use mid-run; the text stays the --local one
# and the stall is reported.
netlab_add fa
netlab_add fb
netlab_add fb2
netlab_add fd
lab_node fa fa "$M" 0:2
lab_node fb fb "$M" 2:4
lab_node fb2 fb2 "$M" 2:4
lab_node fd fd "$M" 4:5
for n in fa fb fb2 fd; do
	netlab_expose $n 7000 20 || fail "expose-$n"
	eval "pub_$n=$netlab_public"
done
expect fo-local 0 "$SWARM" infer run --local -m "$M" -n 200 --temp 0 \
    --ignore-eos
fo_text=$out
netlab_run c "$SWARM" infer run -m "$M" -n 200 --temp 0 --ignore-eos -v \
    --push --peer "$pub_fa" --peer "$pub_fb" --peer "$pub_fb2" \
    --peer "$pub_fd" >"$SWARM_HOME/fo.out" 2>"$SWARM_HOME/fo.err" &
pid_run=$!
track $pid_run
i=0
until grep -q "chain:" "$SWARM_HOME/fo.err"; do
	i=$((i + 1))
	[ $i -gt 400 ] && break
	sleep 0.05
done
# 200 tokens at about 80 ms each: well past the first second
sleep 2
if grep -m1 "chain:" "$SWARM_HOME/fo.err" | grep -q "$pub_fb2"; then
	victim=$pid_fb2
else
	victim=$pid_fb
fi
kill -9 $victim
wait $victim 2>/dev/null
wait $pid_run
check fo-run-ok [ $? -eq 0 ]
check fo-same-text [ "$(cat "$SWARM_HOME/fo.out")" = "$fo_text" ]
check fo-pushed grep -q "^push: on, [1-9][0-9]* steps pushed" "$SWARM_HOME/fo.err"
check fo-stall-said grep -q "^push: on, .* [1-9][0-9]* stalled" "$SWARM_HOME/fo.err"
check fo-failover grep -q "^failovers: [1-9]" "$SWARM_HOME/fo.err"
[ $cli_failed = 0 ] || cat "$SWARM_HOME/fo.err"
kill $pid_fa $pid_fb $pid_fb2 $pid_fd 2>/dev/null
wait $pid_fa $pid_fb $pid_fb2 $pid_fd 2>/dev/null

# --- f16 on a slow link ------------------------------------------------------------
# 2 MB/s each way; a model whose rows (16384 floats, 64 KB) are most of a
# step's time: two blocks with one small head and a small feed-forward.
# F32 weights: with quantized ones the activations are quantized too, and
# random weights turn f16's rounding into a jump of a quantum now and then.
WIDE=$("$GEN" -q --dir "$SWARM_HOME/models" --type F32 --blocks 2 \
    --embd 16384 --ffn 64 --heads 1 --head-dim 64 --vocab 512 --ctx 256)
netlab_add slowc 16mbit
netlab_add slown 16mbit
lab_node slown slow "$WIDE" 0:2
netlab_expose slown 7000 1 || fail expose-slow
SLOW=$netlab_public
PROMPT=$(python3 -c 'print(",".join(str(3 + i * 11 % 500) for i in range(16)))')
wire_run() {
	wr_name=$1
	shift
	netlab_run slowc "$SWARM" infer run -m "$WIDE" --peer "$SLOW" \
	    --tokens "$PROMPT" -n 40 --temp 0 --ignore-eos -v \
	    --dump-logits "$SWARM_HOME/$wr_name.f32" "$@"
}
expect wire-f32 0 wire_run f32 --wire-dtype f32
f32_err=$err
expect wire-auto 0 wire_run auto
auto_err=$err
check wire-auto-says-f16 sh -c 'echo "$1" | grep -q "link .* MB/s: hidden states in f16" &&
    echo "$1" | grep -q "hop 0: .*, f16, link"' _ "$auto_err"
check wire-f32-stays sh -c 'echo "$1" | grep -q "hop 0: .*, f32, link" &&
    ! echo "$1" | grep -q "hidden states in f16"' _ "$f32_err"
rate() { echo "$1" | sed -n 's/^generation: .* s, \([0-9.]*\) tokens\/s$/\1/p'; }
echo "f32: $(rate "$f32_err") tokens/s, auto (f16): $(rate "$auto_err") tokens/s"
# Without the compute (the same tokens with --local: a slow build, such as
# the sanitizers', computes for longer), the time a token spends on the
# wire about halves.
expect wire-local 0 "$SWARM" infer run --local -m "$WIDE" --tokens "$PROMPT" \
    -n 40 --temp 0 --ignore-eos -v
check wire-auto-faster python3 -c 'import sys; a, b, l = map(float, sys.argv[1:])
wire32, wire16 = 1 / a - 1 / l, 1 / b - 1 / l
assert wire32 > 0 and wire32 >= 1.5 * wire16, (a, b, l)' \
    "$(rate "$f32_err")" "$(rate "$auto_err")" "$(rate "$err")"
# The logits agree, row by row while the text does, within f16's tolerance
# on the wire (client.c's CLIENT_VERIFY_TOLERANCE, 2% of a row's rms).
check wire-auto-tolerance python3 - "$SWARM_HOME/f32.f32" "$SWARM_HOME/auto.f32" <<'PYEOF'
import struct, sys, math
def rows(p):
    b = open(p, "rb").read()
    v = struct.unpack("<%df" % (len(b) // 4), b)
    return [v[i:i + 512] for i in range(0, len(v), 512)]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
n = 0
for x, y in zip(a, b):
    rms = math.sqrt(sum(t * t for t in x) / len(x)) + 1e-6
    d = max(abs(p - q) for p, q in zip(x, y)) / rms
    assert d <= 0.02, (n, d)
    n += 1
    if x.index(max(x)) != y.index(max(y)):
        break
assert n >= 20, n
print("f16 tolerance: %d rows of logits compared" % n, file=sys.stderr)
PYEOF
exit $cli_failed
