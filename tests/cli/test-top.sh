# swarm top against three stories260K nodes on loopback that found each
# other through the DHT, started in the order [4,5) [0,2) [2,4). Batch
# text and JSON with plain assertions; then the board itself in a private
# tmux server: coverage, the peers with their spans, `s` reorders, `/`
# filters, a killed node turns unreachable within 2 s of the next refresh
# and leaves a gap in the bar, a resize keeps the screen whole, and `q`,
# Ctrl-C and SIGTERM all exit 0 with the terminal restored.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
TMUX_SOCK=swarm-top-test-$$
export LC_ALL=C

# start_node NAME [ARGS...]: a node of $M with its own SWARM_HOME
# (lib.sh's node_start).
start_node() {
	name=$1
	shift
	mkdir -p "$SWARM_HOME/$name"
	node_env="SWARM_HOME=$SWARM_HOME/$name"
	node_start "$name" -m "$M" --threads 1 "$@"
	sn_rc=$?
	node_env=
	return $sn_rc
}

start_node c --blocks 4:5 --new-swarm
start_node a --blocks 0:2 --bootstrap "127.0.0.1:$port_c"
start_node b --blocks 2:4 --bootstrap "127.0.0.1:$port_c"
PEERS="--peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_b --peer 127.0.0.1:$port_c"

# --- batch ----------------------------------------------------------------
expect batch 0 "$SWARM" top -b -n 2 -d 0.3 $PEERS
check batch-two-snapshots [ "$(printf '%s\n' "$out" | grep -c '^swarm public ')" -eq 2 ]
check batch-coverage sh -c 'printf "%s\n" "$1" | grep -q "^all 5 blocks served" &&
    printf "%s\n" "$1" | grep -q "^\[-*\]$"' _ "$out"
check batch-rows sh -c 'for s in 0:2 2:4 4:5; do
    printf "%s\n" "$1" | grep -q "127.0.0.1:[0-9]* *$s *online" || exit 1; done' _ "$out"
check batch-width sh -c 'printf "%s\n" "$1" | awk "length(\$0) > 100 { bad = 1 } END { exit bad }"' _ "$out"
expect batch-narrow 0 "$SWARM" top -b -n 1 -w 50 --sort uptime --filter 0:2 $PEERS
check batch-narrow-fits sh -c 'printf "%s\n" "$1" | awk "length(\$0) > 50 { bad = 1 } END { exit bad }" &&
    [ $(printf "%s\n" "$1" | grep -c "127.0.0.1:") -eq 1 ]' _ "$out"

json_check() {
	printf '%s\n' "$out" | python3 -c "import json, sys
docs = [json.loads(l) for l in sys.stdin]
$1"
}
expect json 0 "$SWARM" top --json -n 2 -d 0.3 $PEERS
check json-docs json_check '
assert len(docs) == 2, len(docs)
d = docs[-1]
assert d["peers_online"] == 3 and d["network"] == "public", d
m = d["models"][0]
assert m["n_block"] == 5 and m["complete"] and m["replicas"] == [1] * 5, m
spans = sorted((p["block_begin"], p["block_end"], p["state"]) for p in d["peers"])
assert spans == [(0, 2, "online"), (2, 4, "online"), (4, 5, "online")], spans
assert all(p["rtt_ms"] is not None and p["version"] for p in d["peers"])'
# Through the DHT: the same three peers, with their ids.
expect json-dht 0 "$SWARM" top --json -n 1 --bootstrap "127.0.0.1:$port_a"
check json-dht-peers json_check '
d = docs[0]
assert len(d["peers"]) == 3 and d["models"][0]["complete"], d
assert all(len(p["peer_id"]) == 64 for p in d["peers"]), d'
# A node's own figures: rates over 10 s and 60 s after serving tokens.
"$SWARM" infer run -m "$M" $PEERS -n 20 --temp 0 >/dev/null 2>&1
expect json-rates 0 "$SWARM" top --json -n 1 $PEERS
check json-rates-served json_check '
d = docs[0]
assert d["tokens_per_second"] > 0, d
assert all(p["tokens_per_second_60s"] > 0 for p in d["peers"]), d'
check status-document python3 - "$port_a" <<'PYEOF'
import json, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
info = json.load(urllib.request.urlopen(base + "/info"))
status = json.load(urllib.request.urlopen(base + "/status"))
assert "session_list" in info["status"] and "session_list" not in status["status"]
for k in ("tokens_per_second_10s", "tokens_per_second_60s", "queue", "errors",
          "uptime_seconds", "tokens_processed", "sessions"):
    assert k in status["status"], k
assert status["record"]["block_begin"] == 0 and status["status"]["tokens_processed"] > 0
PYEOF
# This machine's node and gateway (node.listen, serve.listen) get panes.
rm -f "$SWARM_HOME/serve.port"
"$SWARM" serve -m "$M" $PEERS --listen 127.0.0.1:0 \
    --port-file "$SWARM_HOME/serve.port" 2>"$SWARM_HOME/serve.log" &
track $!
wait_file "$SWARM_HOME/serve.port" || fail start-serve "$(cat "$SWARM_HOME/serve.log")"
port_s=$(cat "$SWARM_HOME/serve.port")
curl -s "127.0.0.1:$port_s/v1/completions" -H 'Content-Type: application/json' \
    -d '{"prompt": "Once", "max_tokens": 5}' >/dev/null
"$SWARM" config set node.listen "127.0.0.1:$port_a" >/dev/null
"$SWARM" config set serve.listen "127.0.0.1:$port_s" >/dev/null
expect json-local 0 "$SWARM" top --json -n 1 $PEERS
check json-local-panes json_check "
d = docs[0]
assert d['local_node']['addr'] == '127.0.0.1:$port_a', d
g = d['gateway']
assert g['addr'] == '127.0.0.1:$port_s' and g['requests'] >= 1 and g['errors'] == 0, g"
expect batch-local 0 "$SWARM" top -b -n 1 $PEERS
check batch-local-panes sh -c 'printf "%s\n" "$1" | grep -q "^this node 127.0.0.1:$2  0 sessions" &&
    printf "%s\n" "$1" | grep -q "^this gateway 127.0.0.1:$3  0 generating"' _ "$out" "$port_a" "$port_s"
"$SWARM" config unset node.listen >/dev/null
"$SWARM" config unset serve.listen >/dev/null

expect other-network 1 "$SWARM" top -b -n 1 --network elsewhere \
    --bootstrap "127.0.0.1:$port_a"
check other-network-says sh -c 'printf "%s\n" "$1" | grep -q "does not answer"' _ "$err"
expect no-swarm 2 "$SWARM" top -b -n 1
expect bad-sort 2 "$SWARM" top -b -n 1 --sort nosuch $PEERS
expect not-a-tty 1 "$SWARM" top $PEERS </dev/null
check not-a-tty-says sh -c 'printf "%s\n" "$1" | grep -q "not a terminal"' _ "$err"

# --- the board, in tmux ---------------------------------------------------
tm() { tmux -L "$TMUX_SOCK" "$@"; }
top_cleanup() {
	tm kill-server 2>/dev/null
	cli_cleanup
}
trap top_cleanup EXIT INT TERM

# The pane runs top, then shows its exit status and the tty's modes.
export SWARM
cat >"$SWARM_HOME/run-top.sh" <<'SH'
# As an interactive shell would, outlive the Ctrl-C that stops top.
trap true INT
tag=$1
shift
sh -c 'echo $$ >"$0"; exec "$@"' "$SWARM_HOME/top-$tag.pid" "$SWARM" top "$@"
echo "EXIT=$?"
stty -a | tr ' ;' '\n\n' | grep -x -e '-*icanon' -e '-*echo' | tr '\n' ' '
echo
exec sleep 600
SH
# board TAG ARGS...: a session named TAG running top ARGS, 100x30.
board() {
	tag=$1
	shift
	tm -f /dev/null new-session -d -s "$tag" -x 100 -y 30 \
	    "sh $SWARM_HOME/run-top.sh $tag $*"
}
# wait_screen TAG SECONDS CMD...: captures the pane into $scr every 0.1 s
# until CMD (given "$scr") succeeds; 1 when time runs out.
wait_screen() {
	ws_tag=$1
	ws_n=$(($2 * 10))
	shift 2
	while [ $ws_n -gt 0 ]; do
		scr=$(tm capture-pane -p -t "$ws_tag" 2>/dev/null)
		"$@" "$scr" && return 0
		sleep 0.1
		ws_n=$((ws_n - 1))
	done
	return 1
}
has() { printf '%s\n' "$2" | grep -q -- "$1"; }
# The spans of the table's rows, in order.
spans() { printf '%s\n' "$1" | grep '127\.0\.0\.1:' | awk '{ print $3 }' | tr '\n' ' '; }
spans_are() { [ "$(spans "$2")" = "$1" ]; }
# A whole screen of W columns and H lines: header first, footer last.
whole() {
	[ "$(printf '%s\n' "$3" | wc -l)" -eq "$2" ] &&
	    printf '%s\n' "$3" | awk -v w="$1" 'length($0) > w { bad = 1 } END { exit bad }' &&
	    printf '%s\n' "$3" | head -1 | grep -q '^swarm public' &&
	    printf '%s\n' "$3" | tail -1 | grep -q '^q quit'
}
restored() {
	has 'EXIT=0' "$1" && has '^icanon echo' "$1" && ! has 'q quit' "$1"
}
row_unreachable() { printf '%s\n' "$1" | grep -q ' 2:4 *unreachable'; }

board t1 --bootstrap "127.0.0.1:$port_a"
wait_screen t1 10 has 'peers 3/3 online'
check board-coverage-all-served sh -c 'printf "%s\n" "$1" | grep -q "^all 5 blocks served" &&
    printf "%s\n" "$1" | grep -q "^\[-*\]$"' _ "$scr"
check board-three-peers spans_are "0:2 2:4 4:5 " "$scr"
check board-ascii sh -c '! printf "%s\n" "$1" | LC_ALL=C grep -q "[^ -~]"' _ "$scr"
# From SPAN, the sixth `s` sorts by UPTIME: the first started comes first.
tm send-keys -t t1 s
wait_screen t1 3 has 'sort: STATE'
check board-s-cycles has 'STATE\*' "$scr"
tm send-keys -t t1 s s s s s
wait_screen t1 3 spans_are "4:5 0:2 2:4 "
check board-s-reorders spans_are "4:5 0:2 2:4 " "$scr"
tm send-keys -t t1 / 2 : 4 Enter
wait_screen t1 3 spans_are "2:4 "
check board-filter-one spans_are "2:4 " "$scr"
check board-filter-shown has 'filter: 2:4' "$scr"
tm send-keys -t t1 / Escape
wait_screen t1 3 spans_are "4:5 0:2 2:4 "
check board-filter-cleared spans_are "4:5 0:2 2:4 " "$scr"
# The selection stayed on the peer the filter showed.
tm send-keys -t t1 Enter
wait_screen t1 3 has '^span  *2:4 of 5 blocks'
check board-detail sh -c 'printf "%s\n" "$1" | grep -q "^peer detail" &&
    printf "%s\n" "$1" | grep -q "^address  *127.0.0.1:$2" &&
    printf "%s\n" "$1" | grep -q "^rate  .*tokens/s over 10 s" &&
    printf "%s\n" "$1" | grep -q "^steps  *[0-9]* from clients, [0-9]* pushed by peers, [0-9]* forwarded ([0-9]* failed); [0-9]* came on channels, [0-9]* open"' _ "$scr" "$port_b"
tm send-keys -t t1 Escape '?'
wait_screen t1 3 has '^keys'
check board-help has 's  *sort by the next column' "$scr"
tm send-keys -t t1 x
wait_screen t1 3 spans_are "4:5 0:2 2:4 "
check board-back spans_are "4:5 0:2 2:4 " "$scr"

# Killed: unreachable within 2 s of the next refresh (1 s apart).
t0=$(date +%s.%N)
kill -9 "$pid_b"
wait_screen t1 5 row_unreachable
t1=$(date +%s.%N)
check board-killed-unreachable row_unreachable "$scr"
check board-killed-in-time python3 -c "import sys; sys.exit(not $t1 - $t0 < 3.0)"
echo "  unreachable after $(python3 -c "print('%.2f' % ($t1 - $t0))") s"
check board-gap sh -c 'printf "%s\n" "$1" | grep -q "^gaps: blocks 2:4" &&
    printf "%s\n" "$1" | grep -q "^\[-*x*-*\]$" && printf "%s\n" "$1" | grep -q "^\[.*x.*\]$"' _ "$scr"
check board-peers-online has 'peers 2/3 online' "$scr"

tm resize-window -t t1 -x 60 -y 20
wait_screen t1 3 whole 60 20
check board-resize-small whole 60 20 "$scr"
tm resize-window -t t1 -x 100 -y 30
wait_screen t1 3 whole 100 30
check board-resize-back whole 100 30 "$scr"
check board-resize-rows spans_are "4:5 0:2 2:4 " "$scr"
tm send-keys -t t1 q
wait_screen t1 5 restored
check board-q-exits-0-restored restored "$scr"

# Ctrl-C and SIGTERM leave the same way.
board t2 $PEERS
wait_screen t2 10 has 'peers 2/3 online'
tm send-keys -t t2 C-c
wait_screen t2 5 restored
check board-ctrl-c-restored restored "$scr"
board t3 $PEERS
wait_screen t3 10 has 'peers 2/3 online'
kill -TERM "$(cat "$SWARM_HOME/top-t3.pid")"
wait_screen t3 5 restored
check board-sigterm-restored restored "$scr"
exit $cli_failed
