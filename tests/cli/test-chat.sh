# swarm infer chat: piped turns equal to `infer run --messages` (locally,
# through two nodes, and from a `swarm serve` with --url), a turn prefills
# only its own tokens, /save and /load continue a conversation, and the
# terminal side in tmux: streaming, history, Tab, Ctrl-C and Ctrl-D.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf
T=$SWARM_HOME/t
mkdir -p "$T"

# replies_equal FILE.json N: each of the last N assistant messages equals what
# `infer run --messages` answers to the messages before it ($RUN_ARGS:
# where to run).
replies_equal() {
	python3 - "$1" "$2" "$SWARM" "$M" "$T" $RUN_ARGS <<'PYEOF'
import json, subprocess, sys
path, want, swarm, model, tmp = sys.argv[1:6]
msgs = json.load(open(path))
idx = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
assert len(idx) >= int(want), idx
for i in idx[-int(want):]:
    json.dump(msgs[:i], open(tmp + "/prefix.json", "w"))
    out = subprocess.run([swarm, "infer", "run", "-m", model, "--temp", "0",
        "-n", "40", "--messages", tmp + "/prefix.json"] + sys.argv[6:],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == msgs[i]["content"], (i, out.stdout, msgs[i]["content"])
PYEOF
}

# turn_field N F: field F (1 tokens, 2 prefilled, 3 reused, 4 context) of
# the -v line of turn N in $err.
turn_field() {
	printf '%s\n' "$err" | sed -n "s/.*turn $1: \([0-9]*\) tokens, \([0-9]*\) prefilled, \([0-9]*\) reused.*context \([0-9]*\) of.*/\\$2/p"
}

# --- piped, local: five turns ---------------------------------------------------
printf 'Hello there\n/stats\nWhat next?\nAnd then?\n/save %s\nTell me more\nThe end\n/save %s\n' \
    "$T/three.json" "$T/five.json" >"$T/in5"
expect piped-local 0 "$SWARM" infer chat -m "$M" --local --temp 0 -n 40 -v \
    --threads 1 <"$T/in5"
check piped-stats sh -c 'printf "%s\n" "$1" | grep -q "^turn 1: prompt [0-9]* tokens" &&
    printf "%s\n" "$1" | grep -q "^context: [0-9]* of 2048 positions"' _ "$out"
check piped-saved python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert [x["role"] for x in m] == ["user", "assistant"] * 5, m
assert m[4]["content"] == "And then?" and all(x["content"] for x in m)
' "$T/five.json"
RUN_ARGS="--local --threads 1"
check three-turns-equal-infer-run replies_equal "$T/three.json" 3
# turn 5 prefills only what turn 4 left out of the cache
t5=$(turn_field 5 1) k5=$(turn_field 5 2) r5=$(turn_field 5 3) c4=$(turn_field 4 4)
t1=$(turn_field 1 1) k1=$(turn_field 1 2)
check turn5-prefills-its-own sh -c '[ -n "$2" ] && [ "$3" = "$4" ] &&
    [ "$2" -eq $(($1 - $4)) ] && [ "$2" -gt 0 ] && [ $(($2 * 4)) -lt "$1" ] &&
    [ "$5" = "$6" ]' _ "$t5" "$k5" "$r5" "$c4" "$t1" "$k1"

# --- multi-line input: a trailing backslash, a """ block ------------------------------
printf 'one \\\ntwo\n"""\nthree\n\nfour\n"""\n/save %s\n' "$T/multi.json" >"$T/inm"
expect multi-line 0 "$SWARM" infer chat -m "$M" --local --temp 0 -n 3 <"$T/inm"
check multi-line-messages python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert [x["content"] for x in m if x["role"] == "user"] == ["one \ntwo",
    "three\n\nfour"], m
' "$T/multi.json"

# --- /save, then /load in a new process -------------------------------------------
printf '/load %s\nTell me more\n/save %s\n' "$T/three.json" "$T/loaded.json" >"$T/inl"
expect load-continues 0 "$SWARM" infer chat -m "$M" --local --temp 0 -n 40 \
    --threads 1 <"$T/inl"
check load-same-reply python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert len(b) == 8 and b == a[:8], (len(b), b[-1], a[7])
' "$T/five.json" "$T/loaded.json"
expect load-missing 0 sh -c 'echo "/load $1/none.json" | "$2" infer chat \
    -m "$3" --local' _ "$T" "$SWARM" "$M"
check load-missing-says sh -c 'printf "%s" "$1" | grep -q "cannot open"' _ "$err"

# --- the context: stop, or drop the oldest turns ----------------------------------------
printf 'Hello there\nWhat next?\nAnd then?\n' >"$T/in3"
expect overflow-stop 0 "$SWARM" infer chat -m "$M" --local --temp 0 -n 40 \
    -c 120 <"$T/in3"
check overflow-stop-says sh -c 'printf "%s" "$1" | grep -q "the context is full" &&
    printf "%s" "$1" | grep -q "/clear"' _ "$err"
expect overflow-drop 0 "$SWARM" infer chat -m "$M" --local --temp 0 -n 40 \
    -c 120 --overflow drop-oldest <"$T/in3"
check overflow-drop-forgets sh -c 'printf "%s" "$1" | grep -q "forgot the" &&
    ! printf "%s" "$1" | grep -q "needs"' _ "$err"
expect overflow-bad 2 "$SWARM" infer chat -m "$M" --local --overflow maybe

# start_node NAME BLOCKS: a node of $M (lib.sh's node_start).
start_node() {
	node_start "$1" -m "$M" --blocks "$2" --threads 1
}
start_node a 0:3
start_node b 3:5
PEERS="--peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_b"
printf 'Hello there\nWhat next?\nAnd then?\n/save %s\nTell me more\nThe end\n/stats\n' \
    "$T/swarm.json" >"$T/in5s"
expect piped-swarm 0 "$SWARM" infer chat -m "$M" $PEERS --temp 0 -n 40 -v \
    --threads 1 <"$T/in5s"
check swarm-same-as-local python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert b == a[:6], (b, a[:6])
' "$T/five.json" "$T/swarm.json"
RUN_ARGS=$PEERS
check swarm-equal-infer-run replies_equal "$T/swarm.json" 3
t5=$(turn_field 5 1) k5=$(turn_field 5 2) r5=$(turn_field 5 3) c4=$(turn_field 4 4)
check swarm-turn5-prefills-its-own sh -c '[ -n "$2" ] && [ "$3" = "$4" ] &&
    [ "$2" -eq $(($1 - $4)) ] && [ $(($2 * 4)) -lt "$1" ]' _ "$t5" "$k5" "$r5" "$c4"
check swarm-stats-route sh -c 'printf "%s\n" "$1" | grep -q "127.0.0.1:$2 blocks 0:3" &&
    printf "%s\n" "$1" | grep -q "127.0.0.1:$3 blocks 3:5"' _ "$out" "$port_a" "$port_b"
check swarm-one-session sh -c '! printf "%s" "$1" | grep -q "differs from the cache"' _ "$err"
# a new system message: the sessions are opened again, the same replies
printf 'Hello there\n/system Be kind.\nWhat next?\n/save %s\n' "$T/sys.json" >"$T/insys"
expect swarm-system 0 "$SWARM" infer chat -m "$M" $PEERS --temp 0 -n 40 -v \
    --threads 1 <"$T/insys"
check swarm-system-reprefills sh -c 'printf "%s" "$1" | grep -q "differs from the cache" &&
    printf "%s" "$1" | grep -q "turn 2: .* 0 reused"' _ "$err"
check swarm-system-equal-infer-run replies_equal "$T/sys.json" 1

# --- a node killed mid-reply: routed around, the conversation goes on -----------------
export SWARM_TEST_STEP_DELAY_MS=15
start_node r1 3:5
start_node r2 3:5
unset SWARM_TEST_STEP_DELAY_MS
mkfifo "$T/fifo"
"$SWARM" infer chat -m "$M" --peer 127.0.0.1:$port_a --peer 127.0.0.1:$port_r1 \
    --peer 127.0.0.1:$port_r2 --temp 0 -n 40 -v --threads 1 <"$T/fifo" \
    >"$T/fo.out" 2>"$T/fo.err" &
cpid=$!
track $cpid
exec 3>"$T/fifo"
echo 'Hello there' >&3
i=0
until grep -q "turn 1:" "$T/fo.err" || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo 'What next?' >&3
sleep 0.2
if grep -q "chain: .*127.0.0.1:$port_r1 blocks 3:5" "$T/fo.err"; then
	kill -9 $pid_r1
else
	kill -9 $pid_r2
fi
printf 'And then?\n/save %s\n' "$T/fo.json" >&3
exec 3>&-
wait $cpid
check failover-chat-exit [ $? -eq 0 ]
check failover-chat-same python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert b == a[:6], (b, a[:6])
' "$T/five.json" "$T/fo.json"
check failover-chat-routed-around grep -q "replayed" "$T/fo.err"
check failover-chat-turn2-mid-reply sh -c 'grep -n "replayed\|turn [12]:" "$1" |
    sed -n 2p | grep -q replayed' _ "$T/fo.err"

# --- --url: a swarm serve ---------------------------------------------------------
"$SWARM" serve -m "$M" --local --listen 127.0.0.1:0 --threads 1 \
    --port-file "$SWARM_HOME/serve.port" --api-key sekrit \
    2>"$SWARM_HOME/serve.log" &
track $!
wait_file "$SWARM_HOME/serve.port" || fail start-serve "$(cat "$SWARM_HOME/serve.log")"
URL=http://127.0.0.1:$(cat "$SWARM_HOME/serve.port")/v1
printf 'Hello there\nWhat next?\n/save %s\n' "$T/url.json" >"$T/inu"
expect url-chat 0 "$SWARM" infer chat --url "$URL" --api-key sekrit --temp 0 \
    -n 40 <"$T/inu"
check url-same-as-local python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert b == a[:4], (b, a[:4])
' "$T/five.json" "$T/url.json"
check url-prints-replies sh -c 'printf "%s\n" "$1" | grep -qF "$(python3 -c "
import json,sys; print(json.load(open(sys.argv[1]))[3][\"content\"].splitlines()[0])" "$2")"' _ "$out" "$T/url.json"
expect url-bad-key 1 sh -c 'echo Hello | "$1" infer chat --url "$2" --api-key nope' _ "$SWARM" "$URL"
check url-bad-key-says sh -c 'printf "%s" "$1" | grep -q "HTTP 401"' _ "$err"

# --- a real terminal (tmux) ---------------------------------------------------------
if ! command -v tmux >/dev/null; then
	fail tmux "tmux is not installed"
	exit $cli_failed
fi
SOCK=swarm-chat-$$
tmux_cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null
	cli_cleanup
}
trap tmux_cleanup EXIT INT TERM
SESS=chat
pane() { tmux -L "$SOCK" capture-pane -p -t $SESS; }
keys() { tmux -L "$SOCK" send-keys -t $SESS "$@"; }
# wait_pane PATTERN [TENTHS [GREP-FLAG]]: waits for the pane to show
# PATTERN (grep -E, or as the flag says).
wait_pane() {
	wp_i=0
	until pane | grep -q"${3:-E}" -- "$1"; do
		wp_i=$((wp_i + 1))
		[ $wp_i -gt "${2:-100}" ] && return 1
		sleep 0.1
	done
}
# the pane's last line that is not blank
last_line() { pane | sed '/^ *$/d' | tail -n 1; }
wait_prompt() {
	wp_i=0
	until [ "$(last_line)" = ">" ]; do
		wp_i=$((wp_i + 1))
		[ $wp_i -gt "${1:-100}" ] && return 1
		sleep 0.1
	done
}
FIRST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[1]["content"].splitlines()[0])' "$T/five.json")
# Each evaluation is held 30 ms, so a long reply can be stopped mid-way;
# Ctrl-C reaches the shell too, which must outlive it.
cat >"$T/run.sh" <<SHEOF
trap : INT
before=\$(stty -g)
SWARM_TEST_EVAL_DELAY_MS=30 "$SWARM" infer chat -m "$M" --local --temp 0 -n 40 --threads 1
echo "EXIT=\$?"
[ "\$before" = "\$(stty -g)" ] && echo TTY-RESTORED
sleep 60
SHEOF
tmux -L "$SOCK" new-session -d -s chat -x 100 -y 30 "SWARM_HOME=$SWARM_HOME sh $T/run.sh"
check tty-prompt wait_prompt
keys 'Hello there' Enter
check tty-streamed-reply wait_pane "$FIRST" 100 F
check tty-prompt-again wait_prompt
keys Up
check tty-up-recalls wait_pane '^> Hello there$' 30
keys C-a C-k '/cl' Tab
check tty-tab-completes wait_pane '^> /clear *$' 30
keys Enter
wait_prompt
keys '/set max-tokens 5000' Enter
wait_prompt
keys 'Tell me a long story' Enter
sleep 1
keys C-c
t0=$(date +%s)
check tty-ctrl-c-stops wait_pane 'reply stopped' 30
check tty-ctrl-c-prompt wait_prompt 30
check tty-ctrl-c-quick [ $(($(date +%s) - t0)) -lt 5 ]
keys '/set max-tokens 10' Enter
wait_prompt
keys 'What next?' Enter
check tty-next-message sh -c 'for i in $(seq 100); do
	tmux -L "$1" capture-pane -p -t chat | sed "/^ *\$/d" | tail -n 2 |
	    grep -qx ">" && tmux -L "$1" capture-pane -p -t chat |
	    grep -A1 "^> What next?$" | tail -n 1 | grep -q "[a-zA-Z]" && exit 0
	sleep 0.1
done; exit 1' _ "$SOCK"
keys C-d
check tty-ctrl-d-exits wait_pane '^EXIT=0$' 50
check tty-restored wait_pane '^TTY-RESTORED$' 10
# Ctrl-C at the prompt: drops what was typed; on an empty prompt, quits.
SESS=chat2
tmux -L "$SOCK" new-session -d -s $SESS -x 100 -y 30 "SWARM_HOME=$SWARM_HOME sh $T/run.sh"
wait_prompt
keys 'half a line'
wait_pane '^> half a line$' 30
keys C-c
check tty-ctrl-c-drops-line wait_prompt 30
check tty-ctrl-c-line-kept-running sh -c '! tmux -L "$1" capture-pane -p -t chat2 | grep -q EXIT=' _ "$SOCK"
keys C-c
check tty-ctrl-c-empty-exits wait_pane '^EXIT=0$' 50
check tty-history-file sh -c 'grep -qx "Hello there" "$(find "$1" -name chat_history)"' _ "$SWARM_HOME"
exit $cli_failed
