# Every command has a man page and a working -h; the man pages render
# without warnings and name every option and config key; the bash, zsh and
# fish completions load and really complete.
. tests/cli/lib.sh

has() { printf '%s\n' "$1" | grep -q -- "$2"; }

# Completions find the binary on PATH, as an installed one would be.
bindir=$SWARM_HOME/bin
mkdir -p "$bindir"
ln -s "$SWARM" "$bindir/swarm"
PATH=$bindir:$PATH
export PATH

expect list-cmds 0 "$SWARM" --list-cmds
cmds=$out
[ -n "$cmds" ] || fail list-cmds-empty
while read -r noun verb; do
	cmd_name="$noun${verb:+-$verb}"
	page=man/swarm-$noun-$verb.1
	[ -n "$verb" ] && [ -f "$page" ] || page=man/swarm-$noun.1
	if [ -f "$page" ]; then pass "man-$cmd_name"; else fail "man-$cmd_name" "no man/swarm-$cmd_name.1${verb:+ or man/swarm-$noun.1}"; continue; fi
	expect "dash-h-$cmd_name" 0 "$SWARM" $noun $verb -h
	check "dash-h-usage-$cmd_name" has "$out" "^usage: swarm $noun${verb:+ $verb}"
	# The synopsis names only options the command has (it cannot drift).
	usage_opts=$(printf '%s\n' "$out" | sed -n '/^usage:/,/^$/p' |
	    grep -o -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u)
	known=$("$SWARM" --list-opts $noun $verb | cut -f2 | sed 's/^--//')
	unknown=
	for o in $usage_opts; do
		printf '%s\n' "$known" | grep -qx -- "$o" || unknown="$unknown --$o"
	done
	check "synopsis-options-exist-$cmd_name" [ -z "$unknown" ]
	[ -z "$unknown" ] || echo "  synopsis of $noun $verb names:$unknown"
	check "dash-h-80-columns-$cmd_name" sh -c 'printf "%s\n" "$1" |
	    awk "length(\$0) > 80 { bad = 1 } END { exit bad }"' _ "$out"
	# The page names every option of the command.
	opts=$("$SWARM" --list-opts $noun $verb | cut -f2)
	missing=
	for o in $opts; do
		grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$page" || missing="$missing $o"
	done
	check "man-opts-$cmd_name" [ -z "$missing" ]
	[ -z "$missing" ] || echo "  $page lacks:$missing"
done <<EOF
$cmds
EOF

expect keys 0 "$SWARM" config list --keys
missing=
for k in $out; do
	grep -q "^\.BR $k " man/swarm-config.1 || missing="$missing $k"
done
check man-config-keys [ -z "$missing" ]
[ -z "$missing" ] || echo "  man/swarm-config.1 lacks:$missing"

if command -v man >/dev/null 2>&1; then
	for page in man/*.1; do
		warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		check "man-clean-$(basename "$page" .1)" [ -z "$warn" ]
		[ -z "$warn" ] || echo "  $warn"
	done
	check man-renders sh -c 'MANWIDTH=80 man -l man/swarm.1 2>/dev/null | grep -q "swarm config"'
else
	echo "SKIP man pages render (no man)"
fi

cp examples/config.yaml "$SWARM_HOME/config.yaml"
expect example-loads 0 "$SWARM" config list
check example-no-warnings [ -z "$err" ]
rm -f "$SWARM_HOME/config.yaml"

# bash: complete "swarm con" and a few more.
bash_complete() {
	bash -c '. completions/swarm.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _swarm; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
check bash-noun [ "$(bash_complete swarm con)" = config ]
check bash-verb has "$(bash_complete swarm config un)" '^unset$'
check bash-key has "$(bash_complete swarm config set node.li)" '^node.listen$'
check bash-opt has "$(bash_complete swarm config list --js)" '^--json$'
check bash-help-noun has "$(bash_complete swarm help ver)" '^version$'

if command -v zsh >/dev/null 2>&1; then
	check zsh-parses zsh -n completions/_swarm
	check zsh-compinit sh -c 'zsh -fc "fpath=(completions \$fpath); autoload -U compinit; compinit -D -u; print \$_comps[swarm]" | grep -qx _swarm'
	# Call it with compadd stubbed to print what it offers.
	zsh_complete() {
		zsh -fc 'compadd() { local i=${@[(i)--]}; print -rl -- "${@[i+1,-1]}"; }; _files() { print FILES; }; words=("$@"); CURRENT=$#; PREFIX=${words[-1]}; . completions/_swarm' _ "$@"
	}
	check zsh-noun has "$(zsh_complete swarm con)" '^config$'
	check zsh-key has "$(zsh_complete swarm config get '')" '^serve.api_keys$'
	check zsh-opt has "$(zsh_complete swarm config set -)" '^--add$'
else
	echo "SKIP zsh completion (no zsh)"
fi

if command -v fish >/dev/null 2>&1; then
	check fish-parses fish -n completions/swarm.fish
	fish_complete() {
		fish -c ". completions/swarm.fish; complete -C'$1'"
	}
	check fish-noun [ "$(fish_complete 'swarm con')" = config ]
	check fish-key has "$(fish_complete 'swarm config unset infer.se')" '^infer.seed$'
	check fish-opt has "$(fish_complete 'swarm config path --')" '^--data$'
else
	echo "SKIP fish completion (no fish)"
fi
# The synopses name what the commands take: infer run's discovery too, and
# node join's span as optional (its default is auto).
expect usage-infer 0 "$SWARM" infer run -h
check usage-infer-bootstrap has "$(printf '%s\n' "$out" | sed -n '1,3p')" '--bootstrap HOST:PORT'
expect usage-join 0 "$SWARM" node join -h
check usage-join-blocks-optional has "$out" '\[--blocks A:B | auto\]'
exit $cli_failed
