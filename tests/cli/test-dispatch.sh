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
expect help-unknown 1 "$SWARM" help nosuch
expect list-cmds 0 "$SWARM" --list-cmds
check list-cmds-help sh -c "echo \"\$1\" | grep -qx help" _ "$out"
exit $cli_failed
