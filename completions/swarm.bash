# bash completion for swarm(1).
#
# It asks the swarm being completed for its commands (swarm --list-cmds),
# their options (swarm --list-opts NOUN VERB) and the config keys (swarm
# config list --keys), so it cannot drift from the binary.

_swarm_run()
{
	"$_swarm_bin" "$@" 2>/dev/null
}

_swarm()
{
	local cur prev cmds noun= verb= w i nargs=0 skip=0 rows row
	local -a words_noun verbs opts takes_arg
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	_swarm_bin=${COMP_WORDS[0]}
	[[ $_swarm_bin == "~/"* ]] && _swarm_bin=$HOME/${_swarm_bin#"~/"}
	type -P -- "$_swarm_bin" >/dev/null || _swarm_bin=swarm
	cmds=$(_swarm_run --list-cmds) || return 0

	# Find the noun, the verb and how many arguments follow them.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((skip)); then
			skip=0
			continue
		fi
		if [[ $w == -* ]]; then
			[[ -n $noun && $w != *=* ]] &&
			    printf '%s\n' "${takes_arg[@]}" | grep -qxF -- "$w" &&
			    skip=1
			continue
		fi
		if [[ -z $noun ]]; then
			noun=$w
			if ! grep -q "^$noun " <<<"$cmds"; then
				rows=$(_swarm_run --list-opts "$noun")
				_swarm_opts
			fi
		elif [[ -z $verb ]] && grep -q "^$noun " <<<"$cmds"; then
			verb=$w
			rows=$(_swarm_run --list-opts "$noun" "$verb")
			_swarm_opts
		else
			((nargs++))
		fi
	done

	if [[ -z $noun ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--help --version --list-cmds --list-opts' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<<"$cmds" | sort -u)" -- "$cur"))
		fi
		return 0
	fi
	if [[ -z $verb ]] && grep -q "^$noun " <<<"$cmds"; then
		COMPREPLY=($(compgen -W "$(grep "^$noun " <<<"$cmds" | cut -d' ' -f2)" -- "$cur"))
		return 0
	fi
	if ((skip)); then
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${opts[*]}" -- "$cur"))
		return 0
	fi
	case "$noun $verb $nargs" in
	"config get 0" | "config set 0" | "config unset 0")
		COMPREPLY=($(compgen -W "$(_swarm_run config list --keys)" -- "$cur"))
		;;
	"help  0")
		COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<<"$cmds" | sort -u)" -- "$cur"))
		;;
	"help  1")
		COMPREPLY=($(compgen -W "$(grep "^${COMP_WORDS[COMP_CWORD - 1]} " <<<"$cmds" | cut -d' ' -f2)" -- "$cur"))
		;;
	"config"*|"version"*)
		;;
	*)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	esac
	return 0
}

# Reads "-x<TAB>--name<TAB>ARG" rows into opts and takes_arg.
_swarm_opts()
{
	local short long arg
	opts=()
	takes_arg=()
	while IFS=$'\t' read -r short long arg; do
		[[ -n $long ]] || continue
		opts+=("$long")
		[[ $short != - ]] && opts+=("$short")
		if [[ -n $arg ]]; then
			takes_arg+=("$long")
			[[ $short != - ]] && takes_arg+=("$short")
		fi
	done <<<"$rows"
}

complete -F _swarm swarm
