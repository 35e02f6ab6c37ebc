#!/bin/bash
# log_bench.sh - log lines per second and peak memory of "postie log report"
# and "postie log trace" against pflogsumm (Debian's package) and a
# collate.pl-style grouping script, on the same large Postfix log.
#
# What it does:
#   - makes a log of LINES lines (default 3 million) in a temp directory
#     under /tmp (never committed) with bench/log_gen.pl: the lines of the
#     real Postfix log tests/logs/real/postfix.log written again and again,
#     with fresh queue IDs, process IDs, times and USERS distinct addresses;
#   - runs each tool once over it under /usr/bin/time -v, pinned to one CPU
#     (taskset) when available, output to /dev/null:
#       postie log report          the whole report (text)
#       postie log report --json   the same, as JSON
#       postie log trace QID       one message's path, found in the middle
#       pflogsumm                  the Perl report postie's is compared with
#       log_collate.pl             grouping by queue ID and smtpd session
#                                  (what Postfix's collate.pl does), in Perl
#   - prints, for each, CPU seconds (user + system: the figure that does not
#     depend on what else the machine runs), wall seconds, lines per CPU
#     second and peak RSS, and the ratios of postie's figures to pflogsumm's
#     and to the collate script's;
#   - checks that the report's totals equal pflogsumm's on this log.
# What it does not: it is not a test (make test never runs it); it needs no
# root and no network.
#
# Usage:  bench/log_bench.sh                 # LINES=3000000
#         LINES=300000 bench/log_bench.sh    # smoke run, a few seconds
# Environment: LINES, USERS (5000), ROUNDS (1; the best of ROUNDS runs of
# each tool is shown), POSTIE (build/postie), KEEP (1 keeps the temp dir
# with the log), TEMPLATE (the real log the big one is made of).
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
LINES=${LINES:-3000000}
POSTIE=${POSTIE:-$REPO/build/postie}
TEMPLATE=${TEMPLATE:-$REPO/tests/logs/real/postfix.log}
export USERS=${USERS:-5000}
ROUNDS=${ROUNDS:-1}

for tool in perl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "log_bench: $tool is missing" >&2; exit 1; }
done
[ -x "$POSTIE" ] || { echo "log_bench: $POSTIE is missing: run make first" >&2; exit 1; }
HAVE_PFLOGSUMM=1
command -v pflogsumm >/dev/null || {
    echo "log_bench: pflogsumm is missing (apt-get install pflogsumm): its column stays empty" >&2
    HAVE_PFLOGSUMM=0
}

TMP=$(mktemp -d /tmp/postie-logbench.XXXXXX)
cleanup() { [ "${KEEP:-0}" = 1 ] && echo "kept $TMP" >&2 || rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# postie answers to the name it is called by (sendmail, mailq, ...): call it "postie".
if [ "$(basename "$POSTIE")" != postie ]; then
    ln -s "$(readlink -f "$POSTIE")" "$TMP/postie" && POSTIE=$TMP/postie
fi

PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"

LOG=$TMP/maillog
echo "== making a log of $LINES lines from $(basename "$TEMPLATE") ($USERS addresses)"
perl "$HERE/log_gen.pl" "$TEMPLATE" "$LINES" >"$LOG" || exit 1
BYTES=$(stat -c %s "$LOG")
echo "   $(wc -l <"$LOG") lines, $((BYTES / 1024 / 1024)) MiB in $LOG"
# A queue ID from the middle of the log, for trace.
QID=$(awk -v half=$((LINES / 2)) 'NR > half && / client=/ { sub(":", "", $6); print $6; exit }' "$LOG")
# Read the file once so that every tool finds it in the page cache.
cat "$LOG" >/dev/null

# run NAME CMD...: time it; sets SECS_<NAME> and KB_<NAME>.
run() {
    local name=$1; shift
    local tv=$TMP/time.$name
    if ! /usr/bin/time -v -o "$tv" $PIN "$@" >"$TMP/out.$name" 2>"$TMP/err.$name"; then
        # trace exits 1 when nothing matched: still a valid timing.
        if ! grep -q "Exit status: 1$" "$tv"; then
            echo "log_bench: $name failed:" >&2; tail -3 "$TMP/err.$name" >&2
        fi
    fi
    local wall cpu kb
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
                for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$tv")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$tv")
    kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
    # Keep the best of ROUNDS runs (a shared machine only ever slows a run down).
    local ps=SECS_$name
    if [ -z "${!ps:-}" ] || awk -v a="$cpu" -v b="${!ps}" 'BEGIN { exit !(a < b) }'; then
        printf -v "SECS_$name" '%s' "$cpu"
        printf -v "WALL_$name" '%s' "$wall"
        printf -v "KB_$name" '%s' "$kb"
    fi
}

echo "== running (each once, pinned to one CPU: ${PIN:-no taskset})"
for round in $(seq "$ROUNDS"); do
    run report "$POSTIE" log report "$LOG"
    run report_json "$POSTIE" log report --json "$LOG"
    run trace "$POSTIE" log trace "$QID" "$LOG"
    [ $HAVE_PFLOGSUMM = 1 ] && run pflogsumm pflogsumm "$LOG"
    run collate perl "$HERE/log_collate.pl" "$LOG"
done

row() {
    local name=$1 label=$2
    local s=SECS_$name w=WALL_$name k=KB_$name
    [ -n "${!s:-}" ] || { printf '  %-34s %10s\n' "$label" "-"; return; }
    awk -v l="$label" -v s="${!s}" -v w="${!w}" -v k="${!k}" -v n="$LINES" 'BEGIN {
        printf "  %-34s %7.2f %7.2f %12.0f %10.1f\n", l, s, w, (s > 0 ? n / s : 0), k / 1024 }'
}
ratio() {
    local a=$1 b=$2 label=$3
    local sa=SECS_$a sb=SECS_$b ka=KB_$a kb=KB_$b
    [ -n "${!sa:-}" ] && [ -n "${!sb:-}" ] || return
    awk -v l="$label" -v sa="${!sa}" -v sb="${!sb}" -v ka="${!ka}" -v kb="${!kb}" 'BEGIN {
        printf "  %-40s %6.1fx the speed, %5.2fx the memory\n", l, (sa > 0 ? sb / sa : 0), (kb > 0 ? ka / kb : 0) }'
}

echo
echo "== $LINES lines ($((BYTES / 1024 / 1024)) MiB), trace query $QID, best of $ROUNDS"
printf '  %-34s %7s %7s %12s %10s\n' "" "cpu s" "wall s" "lines/cpu s" "peak MiB"
row report "postie log report"
row report_json "postie log report --json"
row trace "postie log trace"
row pflogsumm "pflogsumm"
row collate "log_collate.pl (collate.pl-style)"
echo
ratio report pflogsumm "report vs pflogsumm:"
ratio report_json pflogsumm "report --json vs pflogsumm:"
ratio trace collate "trace vs collate.pl-style grouping:"
ratio report collate "report vs collate.pl-style grouping:"

# The totals must agree (docs/logreport.md says where the two may differ).
if [ $HAVE_PFLOGSUMM = 1 ]; then
    echo
    echo "== totals: postie log report / pflogsumm"
    for what in received delivered forwarded bounced rejected held discarded; do
        a=$(awk -v w="$what" '$2 == w { print $1; exit }' "$TMP/out.report")
        b=$(awk -v w="$what" '$2 == w { print $1; exit }' "$TMP/out.pflogsumm")
        # pflogsumm writes "123k" for large numbers: compare at its precision.
        case "$b" in
        *k) same=$(awk -v a="$a" -v b="${b%k}" 'BEGIN { print (int(a / 1024) == b || int(a / 1024 + 0.5) == b) ? "same" : "DIFFERENT" }') ;;
        *m) same=$(awk -v a="$a" -v b="${b%m}" 'BEGIN { print (int(a / 1048576) == b || int(a / 1048576 + 0.5) == b) ? "same" : "DIFFERENT" }') ;;
        *) [ "$a" = "$b" ] && same=same || same=DIFFERENT ;;
        esac
        printf '  %-10s %10s %10s   %s\n' "$what" "$a" "$b" "$same"
    done
fi
