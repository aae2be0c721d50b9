#!/bin/bash
# The man page and --help must agree: every long option printed by --help is
# documented in man/mvm.1 and every option the man page documents is in
# --help.  The page must also render without warnings.
set -u
MVM=${MVM:-./mvm}
cd "$(dirname "$0")/../.."
fail=0 pass=0
ok() { pass=$((pass + 1)); echo "PASS manpage: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL manpage: $1"; }

warn=$(MANWIDTH=80 man --warnings -l man/mvm.1 2>&1 >/dev/null)
[ -z "$warn" ] && ok "renders without warnings" || bad "man warnings: $warn"

help_opts=$("$MVM" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
# In roff source options are written \-\-name; render first so escapes are gone.
man_opts=$(MANWIDTH=200 man -l man/mvm.1 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' |
	sed -n '/^OPTIONS/,/^[A-Z]/p' | grep -oE -- '(^| )--[a-z][a-z-]*' | tr -d ' ' | sort -u)
[ -n "$help_opts" ] && ok "--help lists $(echo "$help_opts" | wc -l) long options" || bad "--help printed no options"
missing=$(comm -23 <(echo "$help_opts") <(echo "$man_opts"))
extra=$(comm -13 <(echo "$help_opts") <(echo "$man_opts"))
[ -z "$missing" ] && ok "every --help option is in the man page" || bad "not in man page: $missing"
[ -z "$extra" ] && ok "every man page option is in --help" || bad "not in --help: $extra"
for code in 0 1 2 3 4; do
	grep -q "^\.B $code\$" man/mvm.1 && "$MVM" --help | grep -q "$code " &&
		ok "exit status $code documented in both" || bad "exit status $code not documented in both"
done
echo "manpage: $pass passed, $fail failed"
[ "$fail" = 0 ]
