# make install with DESTDIR and PREFIX puts the binary, every man page and
# the three completions in place; make uninstall takes them away.
. tests/cli/lib.sh

if ! command -v make >/dev/null 2>&1; then
	echo "SKIP install (no make)"
	exit 0
fi
dest=$SWARM_HOME/dest
prefix=/opt/swarm
root=$dest$prefix
# A make of its own, not a job of the make running the tests.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory \
	    BUILD="${BUILD:-build}" DESTDIR="$dest" PREFIX="$prefix" "$@"
}

expect install 0 mk install
check bin [ -x "$root/bin/swarm" ]
expect installed-runs 0 "$root/bin/swarm" --version
check installed-version [ "$out" = "$("$SWARM" --version)" ]
n_src=$(ls man/*.1 | wc -l)
n_dst=$(ls "$root/share/man/man1"/swarm*.1 2>/dev/null | wc -l)
check man-pages [ "$n_src" -gt 0 -a "$n_src" -eq "$n_dst" ]
check man-config [ -f "$root/share/man/man1/swarm-config.1" ]
check bash-completion cmp -s completions/swarm.bash "$root/share/bash-completion/completions/swarm"
check zsh-completion cmp -s completions/_swarm "$root/share/zsh/vendor-completions/_swarm"
check fish-completion cmp -s completions/swarm.fish "$root/share/fish/vendor_completions.d/swarm.fish"
check nothing-outside [ "$(ls "$dest")" = opt ]

expect uninstall 0 mk uninstall
check uninstalled sh -c '[ -z "$(find "$1" -type f)" ]' _ "$dest"
exit $cli_failed
