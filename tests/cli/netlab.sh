# A network to test on: network namespaces joined by a bridge, each link
# limited in bandwidth (tc tbf) and delayed (bench/delay-relay, since the
# kernel may lack netem). Source it from a test or a benchmark, as root:
#
#	. tests/cli/netlab.sh
#	netlab_usable || { echo "SKIP ...: $netlab_why"; exit 0; }
#	netlab_init                   # the hub; cleanup on exit
#	netlab_add c 2mbit            # namespace c, 10.99.0.2, 2 Mbit/s a way
#	netlab_add n1                 # no bandwidth limit
#	netlab_run n1 swarm node join --listen 127.0.0.1:0 ... &
#	netlab_expose n1 $port 20     # -> $netlab_public, ADDR:PORT seen from
#	                              #    the other namespaces, 20 ms one way
#	netlab_run c swarm infer run --peer "$netlab_public" ...
#
# A peer listens on its namespace's loopback; netlab_expose puts a relay on
# the namespace's address in front of it that holds every byte for the
# delay, in both directions, so any connection from another namespace (the
# client, or a node forwarding to the next) has that one-way delay and the
# link's bandwidth. Only addresses inside these namespaces are used. The
# relay accepts a connection at once, so opening one costs no round trip
# here (on a real link it costs one); what is sent on it does.
#
# netlab_init chains its cleanup to the EXIT trap of tests/cli/lib.sh
# (cli_cleanup, run first, stops the processes the test tracked); every
# relay and namespace made here is removed on exit.

NETLAB_RELAY=${NETLAB_RELAY:-${BUILD:-build}/bench/delay-relay}
NETLAB_NET=10.99.0
netlab_pfx="swl$$"
netlab_n=1
netlab_names=""
netlab_relays=""
netlab_why=""

# netlab_usable: 0 when namespaces, veth, a bridge and tbf work here;
# otherwise 1 with the reason in $netlab_why.
netlab_usable() {
	if [ "$(id -u)" != 0 ]; then
		netlab_why="not root"
		return 1
	fi
	if ! command -v ip >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1
	then
		netlab_why="no ip or tc"
		return 1
	fi
	if [ ! -x "$NETLAB_RELAY" ]; then
		netlab_why="no $NETLAB_RELAY (make $NETLAB_RELAY)"
		return 1
	fi
	nu_ns="${netlab_pfx}probe"
	if ! ip netns add "$nu_ns" 2>/dev/null; then
		netlab_why="cannot make a network namespace"
		return 1
	fi
	nu_ok=1
	ip -n "$nu_ns" link add nlp0 type veth peer name nlp1 2>/dev/null ||
	    { nu_ok=0; netlab_why="cannot make a veth pair"; }
	if [ $nu_ok = 1 ] && ! ip -n "$nu_ns" link add nlbr type bridge \
	    2>/dev/null; then
		nu_ok=0
		netlab_why="cannot make a bridge"
	fi
	if [ $nu_ok = 1 ] && ! tc -n "$nu_ns" qdisc add dev nlp0 root tbf \
	    rate 8mbit burst 16kb latency 100ms 2>/dev/null; then
		nu_ok=0
		netlab_why="no tbf qdisc"
	fi
	ip netns del "$nu_ns" 2>/dev/null
	[ $nu_ok = 1 ]
}

netlab_cleanup() {
	for nc_p in $netlab_relays; do
		kill "$nc_p" 2>/dev/null
	done
	for nc_p in $netlab_relays; do
		wait "$nc_p" 2>/dev/null
	done
	netlab_relays=""
	for nc_n in $netlab_names; do
		# processes still inside would keep it alive: end them
		for nc_p in $(ip netns pids "$nc_n" 2>/dev/null); do
			kill -9 "$nc_p" 2>/dev/null
		done
		ip netns del "$nc_n" 2>/dev/null
	done
	netlab_names=""
}

# netlab_init: the hub namespace with its bridge.
netlab_init() {
	if command -v cli_cleanup >/dev/null 2>&1; then
		trap 'cli_cleanup; netlab_cleanup' EXIT
		trap 'exit 1' INT TERM
	else
		trap 'netlab_cleanup' EXIT
		trap 'exit 1' INT TERM
	fi
	ip netns add "${netlab_pfx}hub" || return 1
	netlab_names="${netlab_pfx}hub"
	ip -n "${netlab_pfx}hub" link add br0 type bridge &&
	ip -n "${netlab_pfx}hub" link set br0 up &&
	ip -n "${netlab_pfx}hub" link set lo up
}

# netlab_tbf NS DEV RATE: limits DEV's egress. Segmentation offload is
# turned off first: tbf drops a packet bigger than its burst, and veth
# hands it 64 KiB ones otherwise.
netlab_tbf() {
	ip -n "$1" link set dev "$2" gso_max_size 1500 gso_max_segs 1 \
	    2>/dev/null
	ip -n "$1" link set dev "$2" gro_max_size 1500 2>/dev/null
	tc -n "$1" qdisc add dev "$2" root tbf rate "$3" burst 16kb \
	    latency 2000ms
}

# netlab_add NAME [RATE]: namespace NAME on the bridge, address in
# $netlab_addr (and netlab_addr_NAME); RATE (tc units: 16mbit, 2mbps...)
# limits its link both ways.
netlab_add() {
	na_ns="${netlab_pfx}-$1"
	netlab_n=$((netlab_n + 1))
	netlab_addr="$NETLAB_NET.$netlab_n"
	ip netns add "$na_ns" || return 1
	netlab_names="$na_ns $netlab_names"
	ip -n "${netlab_pfx}hub" link add "v$netlab_n" type veth peer name eth0 \
	    netns "$na_ns" || return 1
	ip -n "${netlab_pfx}hub" link set "v$netlab_n" master br0 up &&
	ip -n "$na_ns" addr add "$netlab_addr/24" dev eth0 &&
	ip -n "$na_ns" link set eth0 up &&
	ip -n "$na_ns" link set lo up || return 1
	if [ -n "$2" ]; then
		netlab_tbf "$na_ns" eth0 "$2" &&
		netlab_tbf "${netlab_pfx}hub" "v$netlab_n" "$2" || return 1
	fi
	eval "netlab_addr_$1=$netlab_addr"
}

# netlab_run NAME CMD...: runs CMD in namespace NAME. In the background,
# $! is a shell's: to kill the command itself start it with
# `ip netns exec "$(netlab_ns NAME)" CMD... &`.
netlab_run() {
	nr_ns="${netlab_pfx}-$1"
	shift
	ip netns exec "$nr_ns" "$@"
}

# netlab_ns NAME: the namespace's full name.
netlab_ns() {
	echo "${netlab_pfx}-$1"
}

# netlab_expose NAME PORT DELAY_MS [JITTER_MS] [--udp]: a relay on NAME's
# address in front of 127.0.0.1:PORT there, holding each byte DELAY_MS
# (plus up to JITTER_MS) each way; its address in $netlab_public, its pid
# in $netlab_relay_pid.
netlab_expose() {
	ne_name=$1 ne_port=$2 ne_delay=$3 ne_jitter=${4:-0} ne_udp=$5
	eval "ne_addr=\$netlab_addr_$ne_name"
	ne_pf=$(mktemp)
	rm -f "$ne_pf"
	ip netns exec "${netlab_pfx}-$ne_name" "$NETLAB_RELAY" \
	    --listen "$ne_addr:0" \
	    --to "127.0.0.1:$ne_port" --delay-ms "$ne_delay" \
	    --jitter-ms "$ne_jitter" --port-file "$ne_pf" $ne_udp &
	netlab_relay_pid=$!
	netlab_relays="$netlab_relays $netlab_relay_pid"
	ne_i=0
	while [ ! -s "$ne_pf" ]; do
		ne_i=$((ne_i + 1))
		if [ $ne_i -gt 200 ]; then
			rm -f "$ne_pf"
			return 1
		fi
		sleep 0.05
	done
	netlab_public="$ne_addr:$(cat "$ne_pf")"
	rm -f "$ne_pf"
}

# netlab_unexpose PID: stops one relay (a peer cut off the network).
netlab_unexpose() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
