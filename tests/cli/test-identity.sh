# One identity per node: three nodes started from one SWARM_HOME have three
# peer ids, a node restarted on its address keeps its id, --identity FILE
# names the key, and a node on a port chosen at start gets a fresh one.
. tests/cli/lib.sh
M=$MODELS/stories260K.gguf

# free_port: a port free for TCP and UDP on 127.0.0.1 now.
free_port() {
	python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p); break'
}

# start NAME PORT ARGS...: a node on 127.0.0.1:PORT; its pid in pid_NAME.
start() {
	st_name=$1
	st_port=$2
	shift 2
	"$SWARM" node join -m "$M" --blocks 0:5 --threads 1 \
	    --listen "127.0.0.1:$st_port" "$@" 2>"$SWARM_HOME/$st_name.log" &
	track $!
	eval "pid_$st_name=$!"
}

# peer_id PORT: the id the node at PORT announces.
peer_id() {
	"$SWARM" node status --wait 20 --json "127.0.0.1:$1" | python3 -c \
	    'import json, sys; print(json.load(sys.stdin)["record"]["peer_id"])'
}

p1=$(free_port)
p2=$(free_port)
p3=$(free_port)
start n1 "$p1" --new-swarm
start n2 "$p2" --bootstrap "127.0.0.1:$p1"
start n3 "$p3" --bootstrap "127.0.0.1:$p1"
id1=$(peer_id "$p1")
id2=$(peer_id "$p2")
id3=$(peer_id "$p3")
check three-ids-set [ -n "$id1" -a -n "$id2" -a -n "$id3" ]
check three-ids-differ [ "$id1" != "$id2" -a "$id2" != "$id3" -a \
    "$id1" != "$id3" ]
check key-per-address [ -s "$SWARM_HOME/nodes/127.0.0.1_$p2/identity.key" ]

# n2 restarts on its address: the same id
kill "$pid_n2"
wait "$pid_n2"
start n2b "$p2" --bootstrap "127.0.0.1:$p1"
check restart-same-id [ "$(peer_id "$p2")" = "$id2" ]

# --identity FILE: the key there, whatever the address
p4=$(free_port)
start n4 "$p4" --bootstrap "127.0.0.1:$p1" --identity "$SWARM_HOME/my.key"
id4=$(peer_id "$p4")
kill "$pid_n4"
wait "$pid_n4"
p5=$(free_port)
start n5 "$p5" --bootstrap "127.0.0.1:$p1" --identity "$SWARM_HOME/my.key"
id5=$(peer_id "$p5")
check identity-file-kept [ -n "$id4" -a "$id5" = "$id4" ]
check identity-file-made [ -s "$SWARM_HOME/my.key" ]
exit $cli_failed
