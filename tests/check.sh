#!/bin/sh
# make check: static checks with the tools this machine has. It fails on
# real problems (cppcheck findings, whitespace that breaks the house style,
# src/core reaching past libc/libm/pthread/PCRE2, src/ printing or exiting)
# and reports, without failing, what clang-format would restyle.
cd "$(dirname "$0")/.." || exit 1
status=0
files=$(find src cmd tests/unit bench -name '*.[ch]' 2>/dev/null | sort)

step() { printf '== %s\n' "$1"; }
bad() { printf '%s\n' "$1"; status=1; }

step "whitespace"
# Indentation is tabs (continuations add spaces after them); no trailing blanks.
out=$(grep -nE '[[:space:]]+$' $files)
[ -z "$out" ] || bad "trailing whitespace:
$out"
out=$(grep -nE '^ +	|^        ' $files)
[ -z "$out" ] || bad "indented with spaces, not tabs:
$out"

step "layering"
# src/core knows nothing of the network, config, terminal or the libraries
# for them (see STYLE.md): it must build and be tested alone.
out=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*/)?(net/|conf/|ui/|swarm/|ledger/|yaml\.h|curl|jansson|ncurses|readline|microhttpd|sodium)' src/core/*.[ch] 2>/dev/null)
[ -z "$out" ] || bad "src/core includes what it must not:
$out"
# Nothing in src/ prints to stdout or exits: only main() does.
out=$(grep -nE '(^|[^_[:alnum:]])(printf|puts|putchar|exit|_Exit)[[:space:]]*\(|[^_[:alnum:]]stdout[^_[:alnum:]]' src/*/*.c 2>/dev/null | grep -v '^[^:]*:[0-9]*:[[:space:]]*\*')
[ -z "$out" ] || bad "src/ prints to stdout or exits:
$out"

step "cppcheck"
if command -v cppcheck >/dev/null 2>&1; then
	# missingIncludeSystem: system headers are not given to cppcheck.
	# unusedFunction: the library's API is used by commands not yet written.
	cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	    --enable=warning,portability,performance -j 2 \
	    -Isrc -Icmd -D__GNUC__ -D_GNU_SOURCE -U__AVX512F__ -U__AVX2__ \
	    --suppress=missingIncludeSystem --suppress=unusedFunction \
	    src cmd || bad "cppcheck found problems"
else
	echo "cppcheck not installed; skipped"
fi

step "clang-format (report only)"
if command -v clang-format >/dev/null 2>&1; then
	n=0
	for f in $files; do
		c=$(clang-format --dry-run "$f" 2>&1 | grep -c 'warning:')
		if [ "$c" -gt 0 ]; then
			printf '  %-40s %d lines to restyle\n' "$f" "$c"
			n=$((n + 1))
		fi
	done
	echo "clang-format: $n of $(echo $files | wc -w) files differ (not an error)"
else
	echo "clang-format not installed; skipped"
fi

if [ "$status" -eq 0 ]; then
	echo "check: ok"
else
	echo "check: FAILED"
fi
exit $status
