#!/bin/sh
# SPDX-License-Identifier: MIT
# check-man.sh SANDNET MANPAGE: the man page documents every command and
# every long option the program's --help texts name (they stay the short
# form; the man page is the full one). Prints what is missing; exit 1 then.
set -eu
sandnet=$1 page=$2
[ -s "$page" ] || { echo "check-man: $page missing or empty"; exit 1; }
missing=''
helps=$("$sandnet" --help; "$sandnet" run --help; "$sandnet" attach --help; "$sandnet" serve --help;
	"$sandnet" policy --help)
# commands: the words of "sandnet --help"'s synopsis lines
for cmd in $(printf '%s\n' "$helps" | sed -n 's/^ *\(Usage:\)\{0,1\} *sandnet \([a-z][a-z]*\) .*/\2/p' | sort -u); do
	grep -q "^\\\\fB$cmd\\\\fR\|^\\\\fB$cmd " "$page" || missing="$missing command:$cmd"
done
for opt in $(printf '%s\n' "$helps" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
	grep -q -- "\\\\fB$opt\\\\fR" "$page" || missing="$missing $opt"
done
if [ -n "$missing" ]; then
	echo "check-man: $page does not document:$missing"
	exit 1
fi
echo "check-man: every command and option of --help is in $page"
