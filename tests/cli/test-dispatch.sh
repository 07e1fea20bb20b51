# The dispatcher: help, version, usage errors, unknown commands.
. tests/cli/lib.sh

expect version 0 "$SWARM" --version
check version-text [ "${out#swarm }" != "$out" ]
expect version-cmd 0 "$SWARM" version
expect help 0 "$SWARM" help
check help-lists-version sh -c "echo \"\$1\" | grep -q '^  version'" _ "$out"
expect no-args 2 "$SWARM"
expect unknown-noun 2 "$SWARM" vresion
check unknown-suggests sh -c "echo \"\$1\" | grep -q \"did you mean 'version'\"" _ "$err"
expect extra-arg 2 "$SWARM" version extra
check extra-arg-usage sh -c "echo \"\$1\" | grep -q '^usage: swarm version'" _ "$err"
expect bad-option 2 "$SWARM" version --nope
expect dash-h 0 "$SWARM" version -h
check dash-h-usage sh -c "echo \"\$1\" | grep -q '^usage: swarm version'" _ "$out"
expect help-one 0 "$SWARM" help version
expect help-unknown 2 "$SWARM" help nosuch
check help-unknown-says sh -c "echo \"\$1\" | grep -q \"no help for 'nosuch'\"" _ "$err"
expect noun-typo 2 "$SWARM" nod
check noun-typo-suggests sh -c "echo \"\$1\" | grep -q \"did you mean 'node'\"" _ "$err"
expect version-json 0 "$SWARM" version --json
check version-json-value sh -c 'printf "%s" "$1" | python3 -c "import json,sys; assert json.load(sys.stdin)[\"version\"]"' _ "$out"
expect help-json 0 "$SWARM" help --json node join
check help-json-options sh -c 'printf "%s" "$1" | python3 -c "import json,sys
d = json.load(sys.stdin)
assert [c[\"verb\"] for c in d] == [\"join\"], d
assert \"blocks\" in [o[\"name\"] for o in d[0][\"options\"]], d"' _ "$out"
expect list-cmds 0 "$SWARM" --list-cmds
check list-cmds-help sh -c "echo \"\$1\" | grep -qx help" _ "$out"
exit $cli_failed
