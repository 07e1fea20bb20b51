# fish completion for swarm(1). Like the bash one, it asks the swarm being
# completed for its commands (--list-cmds), options (--list-opts) and
# config keys (config list --keys), so it cannot drift from the binary.

function __swarm_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l bin $tokens[1]
    if not command -q -- $bin; and not test -x "$bin"
        set bin swarm
    end
    set -l cmds ($bin --list-cmds 2>/dev/null)
    set -l nouns (string replace -r ' .*' '' -- $cmds | sort -u)
    set -l noun
    set -l verb
    set -l verbs
    set -l opts
    set -l takes_arg
    set -l nargs 0
    set -l skip 0

    for w in $tokens[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if string match -q -- '-*' $w
            if test -n "$noun"; and not string match -q -- '*=*' $w; and contains -- $w $takes_arg
                set skip 1
            end
            continue
        end
        if test -z "$noun"
            set noun $w
            set verbs (string replace -r -f "^$noun " '' -- $cmds)
            if test (count $verbs) -eq 0
                __swarm_read_opts $bin $noun
            end
        else if test -z "$verb"; and test (count $verbs) -gt 0
            set verb $w
            __swarm_read_opts $bin $noun $verb
        else
            set nargs (math $nargs + 1)
        end
    end

    if test -z "$noun"
        if string match -q -- '-*' $cur
            printf '%s\n' --help --version --list-cmds --list-opts
        else
            printf '%s\n' $nouns
        end
        return
    end
    if test -z "$verb"; and test (count $verbs) -gt 0
        printf '%s\n' $verbs
        return
    end
    if test $skip = 1
        __fish_complete_path $cur
        return
    end
    if string match -q -- '-*' $cur
        printf '%s\n' $opts
        return
    end
    switch "$noun $verb $nargs"
        case 'config get 0' 'config set 0' 'config unset 0'
            $bin config list --keys 2>/dev/null
        case 'help  0'
            printf '%s\n' $nouns
        case 'help  1'
            string replace -r -f "^$tokens[-1] " '' -- $cmds
        case 'config*' 'version*'
        case '*'
            __fish_complete_path $cur
    end
end

# Sets opts and takes_arg in the caller from "-x<TAB>--name<TAB>ARG" rows.
function __swarm_read_opts --no-scope-shadowing
    set opts
    set takes_arg
    for row in ($argv[1] --list-opts $argv[2..-1] 2>/dev/null)
        set -l f (string split \t -- $row)
        test -n "$f[2]"; or continue
        set -a opts $f[2]
        test "$f[1]" != -; and set -a opts $f[1]
        if test -n "$f[3]"
            set -a takes_arg $f[2]
            test "$f[1]" != -; and set -a takes_arg $f[1]
        end
    end
end

complete -c swarm -f -a '(__swarm_complete)'
