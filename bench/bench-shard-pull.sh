#!/bin/sh
# What `swarm shard pull` costs next to plain curl, side by side on this
# machine's loopback and disk: all blocks and the head of a model pulled
# from three seeding nodes, against `curl -o` fetching the same bytes from
# one of them; and from an origin (lighttpd), against `curl -o` fetching the
# same byte ranges from it. Each pull hashes every piece (SHA-256): the
# CPU time of each pull, and of hashing the whole file once (`shard add`),
# are printed too, with the load average before and after (the machine is
# shared: the wall-clock ratios mean little under a load above its cores).
# Not part of `make test`.
#
#   sh bench/bench-shard-pull.sh [MODEL.gguf]
#
# Without MODEL it asks bench/gen-model (make bench) for the 1.1B shape in
# Q4_0. BENCH_REPS (default 3) runs of each, interleaved; the medians.
BENCH_NAME=bench-shard-pull
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || { echo "$BENCH_NAME: needs lighttpd"; exit 0; }

# secs CMD...: runs CMD, prints its wall seconds. The dirty pages of the
# run before are written out first, so that no run pays for another's; and
# twice the file's size of memory (at most half of what is available) is
# written and freed just before, so that the page cache the run fills is
# memory the host already backs (on a virtual machine that hands freed
# memory back to its host, the first touch of a page costs a fault there).
secs() {
	sync
	python3 -c "b = b'x' * $warm"
	s0=$(date +%s.%N)
	"$@" >/dev/null 2>"$tmp/cmd.err" || { cat "$tmp/cmd.err" >&2; exit 1; }
	echo "$(date +%s.%N) - $s0" | bc
}

median() {
	tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# The whole file hashed once: its id, and the CPU seconds of hashing.
mkdir -p "$tmp/p1"
/usr/bin/time -f "%U %S" -o "$tmp/add.time" env SWARM_HOME="$tmp/p1" \
    "$SWARM" shard add "$M" >"$tmp/id" || exit 1
ID=$(cat "$tmp/id")
hash_cpu=$(awk '{ print $1 + $2 }' "$tmp/add.time")
size=$(stat -L -c %s "$M")
# the memory written and freed before each run: twice the file, at most
# half of what is available
warm=$(awk -v s="$size" '/^MemAvailable:/ { a = $2 * 1024 / 2;
    printf "%d\n", (2 * s < a ? 2 * s : a) }' /proc/meminfo)

# Three seeding nodes, each serving one block and holding the whole file.
peers=
for i in 1 2 3; do
	[ $i = 1 ] || { mkdir -p "$tmp/p$i"; cp -a "$tmp/p1/shards" "$tmp/p$i/"; }
	SWARM_HOME=$tmp/p$i "$SWARM" node join -m "$ID" --blocks 0:1 \
	    --listen 127.0.0.1:0 --port-file "$tmp/n$i.port" --threads 1 \
	    2>"$tmp/n$i.log" &
	pids="$pids $!"
	j=0
	while [ ! -s "$tmp/n$i.port" ] && [ $j -lt 600 ]; do
		sleep 0.1
		j=$((j + 1))
	done
	[ -s "$tmp/n$i.port" ] || { echo "$BENCH_NAME: node $i did not start" >&2; exit 1; }
	peers="$peers --peer 127.0.0.1:$(cat "$tmp/n$i.port")"
done
p1=127.0.0.1:$(cat "$tmp/n1.port")

# The origin.
mkdir -p "$tmp/www"
ln "$M" "$tmp/www/m.gguf" 2>/dev/null || cp "$M" "$tmp/www/m.gguf"
lport=$(free_port)
printf 'server.document-root = "%s"\nserver.port = %s\nserver.bind = "127.0.0.1"\nserver.errorlog = "%s"\n' \
    "$tmp/www" "$lport" "$tmp/lighttpd.err" >"$tmp/lighttpd.conf"
lighttpd -D -f "$tmp/lighttpd.conf" &
pids="$pids $!"
sleep 0.5
origin=http://127.0.0.1:$lport/m.gguf

# curl over the same ranges as the seeders serve them (64 MiB at most per
# request), one connection kept alive, into one file on the same disk.
chunk=$((64 << 20))
curl_args=
off=0
while [ $off -lt "$size" ]; do
	end=$((off + chunk - 1))
	[ $end -ge "$size" ] && end=$((size - 1))
	curl_args="$curl_args --next -s -r $off-$end -o $tmp/c.$off http://$p1/shards/$ID/data"
	off=$((off + chunk))
done

echo "$BENCH_NAME: $(basename "$M"), $size bytes, $REPS runs each"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "before: $(uptime | sed 's/.*load/load/')"
t_peers= t_curlp= t_origin= t_curlo= cpu_pull= cpu_origin=

# One timing of each kind; the outputs of the one before are removed first
# (an ext4 mounted with discard trims them on the next commit).
run_peers() {
	rm -rf "$tmp/h" "$tmp"/c.* "$tmp/o.gguf"
	mkdir -p "$tmp/h"
	t_peers="$t_peers $(secs env SWARM_HOME="$tmp/h" /usr/bin/time -f "%U %S" \
	    -o "$tmp/pull.time" "$SWARM" shard pull "$ID" --blocks all --head $peers)"
	cpu_pull="$cpu_pull $(awk '{ print $1 + $2 }' "$tmp/pull.time")"
}
run_curlp() {
	rm -rf "$tmp/h" "$tmp"/c.* "$tmp/o.gguf"
	t_curlp="$t_curlp $(secs curl $curl_args)"
}
run_origin() {
	rm -rf "$tmp/h" "$tmp"/c.* "$tmp/o.gguf"
	mkdir -p "$tmp/h"
	t_origin="$t_origin $(secs env SWARM_HOME="$tmp/h" /usr/bin/time -f \
	    "%U %S" -o "$tmp/origin.time" "$SWARM" shard pull "$origin" \
	    --blocks all --head)"
	cpu_origin="$cpu_origin $(awk '{ print $1 + $2 }' "$tmp/origin.time")"
}
run_curlo() {
	rm -rf "$tmp/h" "$tmp"/c.* "$tmp/o.gguf"
	t_curlo="$t_curlo $(secs curl -s -o "$tmp/o.gguf" "$origin")"
}
# Interleaved, and the order turned round every other round, so that
# neither side always follows the other's writes.
for r in $(seq 1 "$REPS"); do
	if [ $((r % 2)) = 1 ]; then
		run_peers; run_curlp; run_origin; run_curlo
	else
		run_curlo; run_origin; run_curlp; run_peers
	fi
done
rm -rf "$tmp/h" "$tmp"/c.* "$tmp/o.gguf"
# every run, in seconds, then the medians
runs() { printf '%-22s' "$1:"; shift; for v in "$@"; do printf ' %.2f' "$v"; done; echo; }
runs "peers, swarm" $t_peers
runs "peers, curl" $t_curlp
runs "origin, swarm" $t_origin
runs "origin, curl" $t_curlo
mp=$(echo "$t_peers" | median); mc=$(echo "$t_curlp" | median)
mo=$(echo "$t_origin" | median); mco=$(echo "$t_curlo" | median)
mib=$(echo "$size / 1048576" | bc -l)
printf 'from 3 peers:   swarm %.2f s (%.0f MiB/s, %.2f s CPU)   curl -o from 1 peer %.2f s (%.0f MiB/s)   ratio %.2f\n' \
    "$mp" "$(echo "$mib / $mp" | bc -l)" "$(echo "$cpu_pull" | median)" \
    "$mc" "$(echo "$mib / $mc" | bc -l)" "$(echo "$mc / $mp" | bc -l)"
printf 'from origin:    swarm %.2f s (%.0f MiB/s, %.2f s CPU)   curl -o %.2f s (%.0f MiB/s)   ratio %.2f\n' \
    "$mo" "$(echo "$mib / $mo" | bc -l)" "$(echo "$cpu_origin" | median)" "$mco" "$(echo "$mib / $mco" | bc -l)" \
    "$(echo "$mco / $mo" | bc -l)"
printf 'hashing the whole file once (shard add): %.2f s CPU (%.0f MiB/s)\n' \
    "$hash_cpu" "$(echo "$mib / $hash_cpu" | bc -l)"
echo "after: $(uptime | sed 's/.*load/load/')"
