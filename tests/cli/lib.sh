# Shared helpers for the CLI tests: a private SWARM_HOME per script, PASS/FAIL
# lines the runner counts, and cleanup of everything a script starts.
# Source it first: `. tests/cli/lib.sh`.
SWARM=${SWARM_BIN:-$PWD/swarm}
SWARM_HOME=$(mktemp -d)
export SWARM_HOME
export NO_COLOR=1
unset XDG_CONFIG_HOME XDG_DATA_HOME
MODELS=${SWARM_TEST_MODELS:-$PWD/../shared/models}
cli_pids=""
cli_failed=0

cli_cleanup() {
	for p in $cli_pids; do
		kill "$p" 2>/dev/null
	done
	for p in $cli_pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$SWARM_HOME"
}
trap cli_cleanup EXIT INT TERM

# Remember a background process so it is stopped when the script ends.
track() {
	cli_pids="$cli_pids $1"
}

# wait_file FILE: waits up to 10 s for FILE to be written (a port file).
wait_file() {
	wf_i=0
	while [ ! -s "$1" ]; do
		wf_i=$((wf_i + 1))
		[ $wf_i -gt 200 ] && return 1
		sleep 0.05
	done
	return 0
}

# node_start NAME ARGS...: `swarm node join ARGS` on a free loopback port,
# waited for; its pid in $pid and $pid_NAME, its port in $port and
# $port_NAME, its log in $SWARM_HOME/NAME.log. $node_env, when set, holds
# VAR=VALUE words for its environment. Returns 1 (a FAIL line said why) when
# it does not start.
node_start() {
	ns_name=$1
	shift
	rm -f "$SWARM_HOME/$ns_name.port"
	# shellcheck disable=SC2086 # node_env is a list of words
	env $node_env "$SWARM" node join --listen 127.0.0.1:0 \
	    --port-file "$SWARM_HOME/$ns_name.port" "$@" \
	    2>"$SWARM_HOME/$ns_name.log" &
	pid=$!
	track $pid
	eval "pid_$ns_name=$pid"
	wait_file "$SWARM_HOME/$ns_name.port" || {
		fail "start-$ns_name" "$(cat "$SWARM_HOME/$ns_name.log")"
		return 1
	}
	port=$(cat "$SWARM_HOME/$ns_name.port")
	eval "port_$ns_name=$port"
}

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; cli_failed=1; }

# expect NAME WANT_STATUS CMD...: runs CMD, stdout in $out, stderr in $err.
expect() {
	name=$1
	want=$2
	shift 2
	out=$("$@" 2>"$SWARM_HOME/.err")
	status=$?
	err=$(cat "$SWARM_HOME/.err")
	if [ "$status" -eq "$want" ]; then
		pass "$name"
		return 0
	fi
	fail "$name" "exit $status, want $want; stderr: $err"
	return 1
}

# check NAME CONDITION...: passes when the shell condition holds.
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
