# swarm config: set/get/unset/list/path, precedence, errors, --json.
. tests/cli/lib.sh

cfg=$SWARM_HOME/config.yaml
json_ok() { printf '%s' "$1" | python3 -c 'import json,sys; json.load(sys.stdin)'; }
has() { printf '%s\n' "$1" | grep -q -- "$2"; }

expect path 0 "$SWARM" config path
check path-is-home [ "$out" = "$cfg" ]
expect path-data 0 "$SWARM" config path --data
check path-data-is-home [ "$out" = "$SWARM_HOME" ]
check path-xdg sh -c 'unset SWARM_HOME; XDG_CONFIG_HOME=/x/c "$1" config path | grep -qx /x/c/swarm/config.yaml' _ "$SWARM"

expect set 0 "$SWARM" config set node.listen 127.0.0.1:7400
expect get 0 "$SWARM" config get node.listen
check get-value [ "$out" = "127.0.0.1:7400" ]
check file-holds grep -q 'listen: 127.0.0.1:7400' "$cfg"
check file-private [ "$(stat -c %a "$cfg")" = 600 ]

expect set-other 0 "$SWARM" config set serve.listen 127.0.0.1:8100
check set-keeps-node grep -q 'listen: 127.0.0.1:7400' "$cfg"
expect list 0 "$SWARM" config list
check list-file-source has "$out" '^node.listen  *127.0.0.1:7400  *file$'
check list-default-source has "$out" '^swarm.network  *public  *default$'

expect list-env 0 env SWARM_NODE_LISTEN=10.1.2.3:9 "$SWARM" config list
check list-env-source has "$out" '^node.listen  *10.1.2.3:9  *env$'
expect get-env 0 env SWARM_NODE_LISTEN=10.1.2.3:9 "$SWARM" config get node.listen
check get-env-value [ "$out" = "10.1.2.3:9" ]
expect bad-env 1 env SWARM_NODE_THREADS=lots "$SWARM" config get node.threads
check bad-env-names has "$err" SWARM_NODE_THREADS

expect unknown-key 1 "$SWARM" config set no.such.key 1
check unknown-key-msg has "$err" "unknown config key 'no.such.key'"
expect near-key 1 "$SWARM" config set node.lisen 1
check near-key-suggests has "$err" "did you mean 'node.listen'"
expect get-unknown 1 "$SWARM" config get serve.lsten
check get-unknown-suggests has "$err" "'serve.listen'"
expect bad-type 1 "$SWARM" config set node.threads many
check bad-type-msg has "$err" "invalid value 'many' for 'node.threads'"
expect bad-range 1 "$SWARM" config set infer.top_p 2
expect bad-hostport 1 "$SWARM" config set node.listen localhost
expect missing-value 2 "$SWARM" config set node.listen
check missing-value-usage has "$err" '^usage: swarm config set'
check file-unchanged grep -q 'listen: 127.0.0.1:7400' "$cfg"
expect negative 0 "$SWARM" config set infer.seed -1

expect list-set 0 "$SWARM" config set swarm.bootstrap 10.0.0.1:7400,10.0.0.2:7400
expect add 0 "$SWARM" config set --add swarm.bootstrap 10.0.0.3:7400
expect add-short 0 "$SWARM" config set -a swarm.bootstrap 10.0.0.1:7400
expect get-list 0 "$SWARM" config get swarm.bootstrap
check add-appends [ "$(printf '%s' "$out" | tr '\n' ' ')" = "10.0.0.1:7400 10.0.0.2:7400 10.0.0.3:7400" ]
expect add-scalar 1 "$SWARM" config set --add node.threads 2
expect add-bad 1 "$SWARM" config set --add swarm.bootstrap nohost

expect get-json 0 "$SWARM" config get --json swarm.bootstrap
check get-json-parses json_ok "$out"
check get-json-list sh -c 'printf "%s" "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"value\"][2] == \"10.0.0.3:7400\" and d[\"source\"] == \"file\""' _ "$out"
expect list-json 0 env SWARM_INFER_TOP_K=7 "$SWARM" config list --json
check list-json-parses json_ok "$out"
check list-json-typed sh -c 'printf "%s" "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"infer.top_k\"] == {\"value\": 7, \"source\": \"env\", \"type\": \"int\"}, d[\"infer.top_k\"]; assert d[\"node.public_addr\"][\"value\"] is None"' _ "$out"
expect list-long-json 0 "$SWARM" config list --long --json
check list-long-json-parses json_ok "$out"
expect list-keys 0 "$SWARM" config list --keys
check list-keys-all [ "$(printf '%s\n' "$out" | wc -l)" -ge 24 ]

expect unset 0 "$SWARM" config unset node.listen
check unset-gone sh -c '! grep -q "127.0.0.1:7400" "$1"' _ "$cfg"
check unset-keeps grep -q 'listen: 127.0.0.1:8100' "$cfg"
expect get-default 0 "$SWARM" config get --json node.listen
check get-default-source has "$out" '"source": "default"'
expect unset-unknown 1 "$SWARM" config unset nope.nope

# A YAML syntax error: file:line:col, exit 1, and the file left alone.
printf 'node:\n  listen: [1\n' >"$cfg"
cp "$cfg" "$SWARM_HOME/before"
expect syntax-error 1 "$SWARM" config get node.listen
check syntax-error-where has "$err" 'config.yaml:3:1: '
expect syntax-error-set 1 "$SWARM" config set node.threads 2
check syntax-error-kept cmp -s "$cfg" "$SWARM_HOME/before"

# A bad value: other commands refuse it, set can repair it.
printf 'node:\n  threads: lots\n  lisen: 1\n' >"$cfg"
expect bad-value 1 "$SWARM" config list
check bad-value-where has "$err" 'config.yaml:2:12: '
expect repair 0 "$SWARM" config set node.threads 2
check repair-warns has "$err" "unknown config key 'node.lisen'"
expect unset-unknown-in-file 0 "$SWARM" config unset node.lisen
expect repaired 0 "$SWARM" config list
check repaired-quiet [ -z "$err" ]
check no-temp-left sh -c '! ls -a "$1" | grep -q tmp' _ "$SWARM_HOME"

expect no-verb 2 "$SWARM" config
check no-verb-msg has "$err" "'config' needs a verb"
check no-verb-lists has "$err" '^usage: swarm config <get|list|path|set|unset>'
expect bad-verb 2 "$SWARM" config sett
check bad-verb-suggests has "$err" "did you mean 'config set'"
expect help-config 0 "$SWARM" help config
check help-config-verbs has "$out" '^  swarm config unset '
expect float-json 0 "$SWARM" config get --json infer.temperature
check float-json-short has "$out" '"value": 0.8,'

# --- concurrent edits: twenty different keys set at once, ten times --------
# (each `config set` reads, changes and rewrites the file: without a lock,
# most of the twenty were lost while every set exited 0)
conc_keys="node.listen=127.0.0.1:7411 node.public_addr=127.0.0.1:7412
node.blocks=0:1 node.num_blocks=3 node.threads=2 node.repack=false
node.max_sessions=5 node.max_context=64 node.model=x.gguf
swarm.bootstrap=127.0.0.1:9 swarm.network=conc infer.threads=1
infer.repack=false infer.max_tokens=7 infer.temperature=0.5 infer.top_k=3
infer.top_p=0.5 infer.min_p=0.1 infer.seed=9 serve.listen=127.0.0.1:8111"
conc_bad=0
for run in 1 2 3 4 5 6 7 8 9 10; do
	rm -f "$SWARM_HOME/config.yaml"
	conc_pids=""
	for kv in $conc_keys; do
		"$SWARM" config set "${kv%%=*}" "${kv#*=}" 2>/dev/null &
		conc_pids="$conc_pids $!"
	done
	for p in $conc_pids; do
		wait "$p" || conc_bad=$((conc_bad + 1))
	done
	kept=$("$SWARM" config list 2>/dev/null | grep -c ' file$')
	[ "$kept" -eq 20 ] || conc_bad=$((conc_bad + 1))
done
check config-set-concurrent-keeps-all [ "$conc_bad" -eq 0 ]
rm -f "$SWARM_HOME/config.yaml"

# --- the last key unset leaves an empty file, not "{}" ----------------------
expect last-set 0 "$SWARM" config set infer.seed 3
expect last-unset 0 "$SWARM" config unset infer.seed
check last-unset-empty [ ! -s "$SWARM_HOME/config.yaml" ]
expect last-unset-loads 0 "$SWARM" config list
# --- a long value keeps the source column aligned ---------------------------
expect long-value 0 "$SWARM" config set node.model \
    /a/very/long/path/to/some/models/that/go/on/and/on/and/on/model.gguf
expect long-list 0 "$SWARM" config list
check long-value-aligned sh -c 'printf "%s\n" "$1" | awk "{ print index(\$0, \$NF) }" |
    sort -u | wc -l | grep -qx 1' _ "$out"
rm -f "$SWARM_HOME/config.yaml"
exit $cli_failed
