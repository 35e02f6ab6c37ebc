#!/bin/bash
# smtp_throughput.sh - SMTP-to-Maildir throughput, latency and idle-connection
# memory of postie and of Debian's Postfix, measured in the same run.
#
# What it does (see bench/README.md for how to read the figures):
#   - starts a private Postfix instance (own config, queue and data
#     directories under a temp dir, smtpd on 127.0.0.1:<free high port>,
#     virtual(8) Maildir delivery, fsync as shipped) and a private
#     "postie serve" instance configured the same way;
#   - for each: memory per idle SMTP connection (IDLE connections left open
#     after EHLO, RSS/PSS of the whole process tree before and after), the
#     latency of one message (connect -> 250, connect -> file in Maildir/new),
#     then N messages of SIZE bytes over S parallel sessions with Postfix's
#     smtp-source, timed from the first connection until the N-th message is
#     in Maildir/new;
#   - prints messages per second for both and the ratio postie/Postfix.
# What it does not: it is not a test (make test never runs it), it talks
# only to 127.0.0.1, and it never touches the system's Postfix (which may be
# running: different config, queue, data directory, ports and log).
#
# Usage (as root: the Postfix instance needs it):
#   bench/smtp_throughput.sh                  # N=2000 S=20
#   N=200 S=5 IDLE=50 bench/smtp_throughput.sh   # smoke run
# Environment:
#   N (2000) messages, S (20) parallel sessions, SIZE (1024) bytes each,
#   IDLE (200) idle connections, LAT_RUNS (10) latency samples,
#   TARGETS ("postfix postie"), POSTIE (build/postie; a copy is run),
#   REUSE (0: one connection per message as smtp-source does by default;
#   1: smtp-source -d, several messages per connection),
#   ROUNDS (1; each round starts fresh instances of every target in turn and
#   the report shows medians: use 3 or 5 on a busy machine),
#   TIMEOUT (300 s per phase), KEEP (0; 1 keeps the temp dir),
#   PROFILE ("strace" or "perf": profile PROFILE_TARGET, default postie,
#   during its first throughput run; output in the temp dir, then kept),
#   PT_EXTRA, PF_EXTRA ("name = value" lines separated by ';', appended to
#   postie.conf and to Postfix's main.cf: experiments only, printed in the
#   report), PF_MODE (virtual: Postfix delivers with virtual(8) to a virtual
#   mailbox; local: with local(8) and home_mailbox = Maildir/ to a system
#   user that the script adds for the run and deletes at the end).
set -u
set -o pipefail

N=${N:-2000}
S=${S:-20}
SIZE=${SIZE:-1024}
IDLE=${IDLE:-200}
LAT_RUNS=${LAT_RUNS:-10}
TARGETS=${TARGETS:-"postfix postie"}
REUSE=${REUSE:-0}
TIMEOUT=${TIMEOUT:-300}
ROUNDS=${ROUNDS:-1}
KEEP=${KEEP:-0}
PROFILE=${PROFILE:-}
PROFILE_TARGET=${PROFILE_TARGET:-postie}
PT_EXTRA=${PT_EXTRA:-}
PF_MODE=${PF_MODE:-virtual}
PF_EXTRA=${PF_EXTRA:-}

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
POSTIE=${POSTIE:-$TOP/build/postie}
PROBE="/usr/bin/python3 $HERE/smtp_probe.py"
SENDER=bench-sender@bench.test

say() { printf '%s\n' "$*" >&2; }
die() { say "smtp_throughput: $*"; exit 1; }

# ---------------------------------------------------------------- setup
need_tools() {
    local missing=()
    command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || missing+=(postfix)
    [ -x /usr/sbin/postfix ] || missing+=(postfix)
    [ -x /usr/bin/python3 ] || missing+=(python3)
    command -v timeout >/dev/null || missing+=(coreutils)
    command -v ps >/dev/null || missing+=(procps)
    [ "$PROFILE" = strace ] && ! command -v strace >/dev/null && missing+=(strace)
    [ "$PROFILE" = perf ] && ! command -v perf >/dev/null && missing+=(linux-perf)
    [ ${#missing[@]} -eq 0 ] && return 0
    # Unique names.
    local pkgs
    pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing: $pkgs"
        # "No configuration": the package must not start a system Postfix.
        echo "postfix postfix/main_mailer_type select No configuration" |
            debconf-set-selections 2>/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >&2 ||
            die "apt-get install $pkgs failed"
    else
        die "missing: $pkgs (Debian packages; install them with apt-get as root)"
    fi
}

[ "$(id -u)" = 0 ] || die "run as root: the private Postfix instance needs it (sudo $0)"
need_tools
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

WORK=
PF_DIR=
PF_CONF=
PF_MASTER_PID=
PF_STARTED=
PF_USER=
PT_DIR=
PT_PID=
PROFILE_PID=
BG=
WATCH=

# Every process this script started, stopped even on failure or ^C.
kill_tree() {  # pid signal: the pid and all its descendants
    local p=$1 sig=$2 kids
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null)
    kill "-$sig" "$p" 2>/dev/null
    for k in $kids; do kill_tree "$k" "$sig"; done
}

tree_pids() {  # pid: it and its descendants
    echo "$1"
    for k in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$k"; done
}

stop_tree() {  # pid how...: stop a server gracefully, then kill what is left
    local root=$1 pids
    shift
    pids=$(tree_pids "$root")   # before: children outlive a dead parent
    "$@" >/dev/null 2>&1
    for _ in $(seq 50); do kill -0 "$root" 2>/dev/null || break; sleep 0.1; done
    for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    kill_tree "$root" KILL
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for p in $BG $WATCH; do kill_tree "$p" TERM; done
    if [ -n "$PROFILE_PID" ]; then kill -INT "$PROFILE_PID" 2>/dev/null; wait "$PROFILE_PID" 2>/dev/null; fi
    [ -n "$PT_PID" ] && pt_stop
    [ -n "$PF_STARTED" ] && pf_stop
    [ -n "$PF_USER" ] && userdel "$PF_USER" 2>/dev/null
    [ -n "$WORK" ] || exit $rc
    if [ "$KEEP" = 1 ] || [ -n "$PROFILE" ] || [ $rc -ne 0 ]; then
        say "kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

WORK=$(mktemp -d /tmp/postie-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$WORK"
RESULTS=$WORK/results
: >"$RESULTS"
# A copy of the binary: a rebuild in the tree during the run changes nothing.
PTV= PT_BUILT=
case " $TARGETS " in
*" postie "*)
    [ -x "$POSTIE" ] || die "no $POSTIE: build it first (make -j2)"
    mkdir -p "$WORK/bin" && cp -p "$POSTIE" "$WORK/bin/postie" || die "cannot copy $POSTIE"
    PT_BUILT=$(date -u -r "$POSTIE" '+%H:%M UTC')
    POSTIE=$WORK/bin/postie
    PTV=$(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null)
    [ -n "$(cd "$TOP" && git status --porcelain -- src 2>/dev/null)" ] && PTV="$PTV+"
    ;;
esac


# ---------------------------------------------------------------- Postfix
# Free high ports on loopback (none is 25, none is the system's).

pf_setup() {
    local vuid vgid
    vuid=$(id -u nobody) vgid=$(getent group nogroup | cut -d: -f3)
    : "${vgid:=$vuid}"
    mkdir -p "$PF_CONF" "$PF_DIR/spool" "$PF_DIR/data" "$PF_DIR/mail/bench"
    chown postfix "$PF_DIR/data"
    chown -R "$vuid:$vgid" "$PF_DIR/mail"
    local maxproc=$((IDLE + S + 10))
    [ $maxproc -lt 100 ] && maxproc=100
    cat >"$PF_CONF/main.cf" <<EOF
# Private Postfix instance of postie's bench/smtp_throughput.sh.
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
syslog_name = postfix-bench
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = bench.localdomain
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination = localhost$( [ "$PF_MODE" = local ] && echo ", bench.test")
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
EOF
    if [ "$PF_MODE" = local ]; then
        cat >>"$PF_CONF/main.cf" <<EOF
# PF_MODE=local: mail for bench.test goes to the temporary system user
# $PF_USER through local(8), home_mailbox = Maildir/.
home_mailbox = Maildir/
EOF
    else
        cat >>"$PF_CONF/main.cf" <<EOF
# Mail for bench.test goes to one Maildir through virtual(8), as the one
# virtual user nobody; the fsyncs are Postfix's defaults (queue file before
# 250, Maildir file before link to new/).
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $PF_DIR/mail
virtual_mailbox_maps = texthash:$PF_CONF/vmailbox
virtual_uid_maps = static:$vuid
virtual_gid_maps = static:$vgid
EOF
    fi
    [ -z "$PF_EXTRA" ] || tr ';' '\n' <<<"$PF_EXTRA" >>"$PF_CONF/main.cf"
    echo "bench@bench.test bench/Maildir/" >"$PF_CONF/vmailbox"
    # master.cf: the services a Maildir flow uses; nothing chrooted; smtpd
    # on the bench port with room for the idle connections.
    cat >"$PF_CONF/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - $maxproc smtpd
pickup    unix  n - n 60  1 pickup
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -   - trivial-rewrite
bounce    unix  - - n -   0 bounce
defer     unix  - - n -   0 bounce
trace     unix  - - n -   0 bounce
verify    unix  - - n -   1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -   - proxymap
smtp      unix  - - n -   - smtp
relay     unix  - - n -   - smtp
showq     unix  n - n -   - showq
error     unix  - - n -   - error
retry     unix  - - n -   - error
discard   unix  - - n -   - discard
local     unix  - n n -   - local
virtual   unix  - n n -   - virtual
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
    postfix -c "$PF_CONF" check >"$PF_DIR/check.out" 2>&1 ||
        { cat "$PF_DIR/check.out" >&2; die "postfix check failed"; }
    [ -s "$PF_DIR/check.out" ] && { say "postfix check says:"; cat "$PF_DIR/check.out" >&2; }
    return 0
}

pf_user_add() {  # PF_MODE=local: a system user for this run only
    [ -n "$PF_USER" ] && return 0
    local u=pfbench$$
    mkdir -p "$WORK/pfhome"
    useradd -r -M -N -g nogroup -d "$WORK/pfhome/$u" -s /usr/sbin/nologin "$u" ||
        die "useradd $u failed"
    PF_USER=$u
}

pf_start() {
    # A fresh instance per round, on a fresh free port.
    PF_DIR=$WORK/postfix.$ROUND PF_CONF=$WORK/postfix.$ROUND/etc
    read -r PF_PORT <<<"$($PROBE ports 1)" || die "no free port"
    if [ "$PF_MODE" = local ]; then
        pf_user_add
        mkdir -p "$PF_DIR/home"
        usermod -d "$PF_DIR/home" "$PF_USER" || die "usermod $PF_USER failed"
        chown "$PF_USER" "$PF_DIR/home"
    fi
    pf_setup
    PF_STARTED=1
    postfix -c "$PF_CONF" start >"$PF_DIR/start.out" 2>&1 ||
        { cat "$PF_DIR/start.out" >&2; die "postfix start failed"; }
    for _ in $(seq 100); do
        [ -s "$PF_DIR/spool/pid/master.pid" ] && break
        sleep 0.1
    done
    PF_MASTER_PID=$(tr -d ' ' <"$PF_DIR/spool/pid/master.pid" 2>/dev/null)
    [ -n "$PF_MASTER_PID" ] || die "postfix master did not start (see $PF_DIR/maillog)"
    wait_port "$PF_PORT" || die "postfix smtpd does not answer on 127.0.0.1:$PF_PORT"
    # The agent makes the Maildir at the first delivery; the watcher needs
    # new/ to exist, so make it as the mailbox owner.
    local m=$PF_DIR/mail/bench/Maildir owner=nobody rcpt=bench@bench.test
    if [ "$PF_MODE" = local ]; then
        m=$PF_DIR/home/Maildir owner=$PF_USER rcpt=$PF_USER@bench.test
    fi
    mkdir -p "$m/new" "$m/cur" "$m/tmp"
    chown -R "$owner" "$m"
    T_MAILDIR=$m T_PORT=$PF_PORT T_ROOT=$PF_MASTER_PID T_RCPT=$rcpt T_LOG=$PF_DIR/maillog
}

pf_stop() {
    if [ -n "$PF_MASTER_PID" ]; then
        stop_tree "$PF_MASTER_PID" postfix -c "$PF_CONF" stop
    else
        postfix -c "$PF_CONF" stop >/dev/null 2>&1
    fi
    PF_MASTER_PID= PF_STARTED=
}

wait_port() {  # port: until the greeting comes
    for _ in $(seq 100); do
        if /usr/bin/python3 - "$1" <<'EOF' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
ok = s.recv(512).startswith(b"220")
s.sendall(b"QUIT\r\n"); s.close()
sys.exit(0 if ok else 1)
EOF
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- postie
pt_start() {
    local owner=postie
    id postie >/dev/null 2>&1 || owner=nobody
    PT_DIR=$WORK/postie.$ROUND
    read -r PT_PORT <<<"$($PROBE ports 1)" || die "no free port"
    mkdir -p "$PT_DIR"
    # The same set-up as the Postfix side: loopback, one high port, one
    # virtual user with a Maildir, fsync as built (postie has no switch to
    # turn it off).  Everything not named here is postie's default.
    cat >"$PT_DIR/postie.conf" <<EOF
# Private postie instance of bench/smtp_throughput.sh.
myhostname = bench.localdomain
mydestination = localhost, bench.test
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_listen = 127.0.0.1:$PT_PORT
submission_listen =
pop3d_listen =
imapd_listen =
home_mailbox = Maildir/
mail_owner = $owner
EOF
    [ -z "$PT_EXTRA" ] || tr ';' '\n' <<<"$PT_EXTRA" >>"$PT_DIR/postie.conf"
    "$POSTIE" serve --dir "$PT_DIR" >"$PT_DIR.serve.out" 2>&1 &
    PT_PID=$!
    wait_port "$PT_PORT" ||
        { cat "$PT_DIR.serve.out" >&2; die "postie smtpd does not answer on 127.0.0.1:$PT_PORT"; }
    echo bench-password | "$POSTIE" -c "$PT_DIR" user add bench --password-stdin >&2 ||
        die "postie user add failed"
    # The watcher needs new/ before the first delivery: make it as the owner
    # of the mail store (mail_owner for virtual users).
    local base m
    base=$("$POSTIE" -c "$PT_DIR" config virtual_mailbox_base 2>/dev/null |
        sed -n 's/^virtual_mailbox_base *= *//p')
    case "$base" in /*) ;; "") base=$PT_DIR/mail ;; *) base=$PT_DIR/$base ;; esac
    m=$base/bench/Maildir
    mkdir -p "$m/new" "$m/cur" "$m/tmp"
    chown -R "$(stat -c %u:%g "$base")" "$base/bench"
    T_MAILDIR=$m T_PORT=$PT_PORT T_ROOT=$PT_PID T_RCPT=bench@bench.test T_LOG=$PT_DIR/maillog
}

pt_stop() {
    stop_tree "$PT_PID" kill -TERM "$PT_PID"
    PT_PID=
}

# ---------------------------------------------------------------- measure
result() { echo "$1 $2 $3" >>"$RESULTS"; }   # target key value
get() {  # target key: the median over the rounds (the last value if not a number)
    awk -v t="$1" -v k="$2" '$1==t && $2==k {v[n++]=$3}
        END {
            if (n == 0) exit
            if (v[0] !~ /^[0-9.]+$/) { print v[n-1]; exit }
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
            if (n % 2) print v[int(n/2)]; else printf "%.*f\n", (v[0] ~ /\./ ? length(v[0]) - index(v[0], ".") : 0), (v[n/2-1] + v[n/2]) / 2
        }' "$RESULTS"
}
every() {  # target key: all rounds' values
    awk -v t="$1" -v k="$2" '$1==t && $2==k {printf "%s%s", (n++ ? " " : ""), $3} END {print ""}' "$RESULTS"
}
kv() { sed -n "s/^$2=//p" <<<"$1"; }

# Long commands run in the background and are waited for, so that a signal
# reaches the trap at once; the trap stops them (BG, WATCH).
bg_run() {  # outfile cmd...: its exit status
    local out=$1 rc
    shift
    "$@" >"$out" &
    BG=$!
    wait "$BG"
    rc=$?
    BG=
    return $rc
}

measure() {  # target
    local t=$1 out=$WORK/probe.$t.$ROUND
    say "== $t: $IDLE idle connections"
    bg_run "$out" timeout "$TIMEOUT" $PROBE idle 127.0.0.1 "$T_PORT" "$IDLE" "$T_ROOT" ||
        die "$t: idle-connection probe failed"
    for k in rss_per_conn_kib pss_per_conn_kib; do
        result "$t" $k "$(kv "$(cat "$out")" $k)"
    done
    result "$t" procs "$(kv "$(cat "$out")" procs_before)->$(kv "$(cat "$out")" procs_after)"
    say "$(tr '\n' ' ' <"$out")"

    say "== $t: latency of one message ($LAT_RUNS runs)"
    bg_run "$out" timeout "$TIMEOUT" $PROBE latency 127.0.0.1 "$T_PORT" "$SENDER" "$T_RCPT" \
        "$T_MAILDIR" "$LAT_RUNS" "$SIZE" || die "$t: latency probe failed"
    for k in accept_median_ms mailbox_median_ms mailbox_min_ms mailbox_max_ms; do
        result "$t" $k "$(kv "$(cat "$out")" $k)"
    done
    say "$(tr '\n' ' ' <"$out")"

    say "== $t: $N messages of $SIZE bytes over $S sessions"
    local flags=() wout=$WORK/wait.$t.$ROUND t0 t1 tlast
    [ "$REUSE" = 1 ] && flags+=(-d)
    $PROBE wait "$T_MAILDIR" "$N" "$TIMEOUT" >"$wout" &
    WATCH=$!
    for _ in $(seq 100); do grep -q '^ready' "$wout" && break; sleep 0.05; done
    grep -q '^ready' "$wout" || die "$t: maildir watcher did not start"
    [ "$t" = "$PROFILE_TARGET" ] && [ "$ROUND" = 1 ] && profile_start "$t"
    local c0 c1
    c0=$(kv "$($PROBE cpu "$T_ROOT")" cpu_s)
    t0=$(date +%s.%N)
    bg_run "$WORK/smtp-source.$t.$ROUND.out" timeout "$TIMEOUT" smtp-source -s "$S" -m "$N" \
        -l "$SIZE" "${flags[@]}" -M bench.test -f "$SENDER" -t "$T_RCPT" "127.0.0.1:$T_PORT" ||
        { cat "$WORK/smtp-source.$t.$ROUND.out" >&2; die "$t: smtp-source failed"; }
    t1=$(date +%s.%N)
    wait "$WATCH" && c1=$(kv "$($PROBE cpu "$T_ROOT")" cpu_s) || die "$t: only $(kv "$(cat "$wout")" arrived) of $N messages arrived in ${TIMEOUT}s"
    WATCH=
    [ "$t" = "$PROFILE_TARGET" ] && profile_stop
    tlast=$(kv "$(cat "$wout")" last)
    local rate
    rate=$(awk -v n="$N" -v a="$t0" -v b="$tlast" 'BEGIN {printf "%.1f", n / (b - a)}')
    result "$t" rate "$rate"
    # Where the time went, from the delivery lines' delays=a/b/c/d (both
    # servers write Postfix's format): b = waiting in the queue manager,
    # d = the delivery itself.  Averages over every delivery of this round.
    result "$t" delay_b_ms "$(log_delays "$T_LOG" 3)"
    result "$t" delay_d_ms "$(log_delays "$T_LOG" 5)"
    result "$t" cpu_ms "$(awk -v n="$N" -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", (b - a) * 1000 / n}')"
    result "$t" elapsed_s "$(awk -v a="$t0" -v b="$tlast" 'BEGIN {printf "%.2f", b - a}')"
    result "$t" accepted_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
    say "$t: $rate msg/s (smtp-source done after $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s, last in Maildir after $(awk -v a="$t0" -v b="$tlast" 'BEGIN {printf "%.2f", b - a}') s)"
}

log_delays() {  # log field: mean of delays= field (2=a 3=b 4=c 5=d), in ms
    grep -o 'delays=[0-9./]*' "$1" 2>/dev/null |
        awk -F'[=/]' -v f="$2" '{s += $f; n++} END {if (n) printf "%.1f", s * 1000 / n}'
}

profile_start() {  # target
    local pids
    pids=$(tree_pids "$T_ROOT" | paste -sd,)
    case "$PROFILE" in
    strace) strace -c -f -o "$WORK/strace-$1.txt" -p "$pids" 2>/dev/null &
            PROFILE_PID=$!; sleep 0.5 ;;
    perf) perf record -g -o "$WORK/perf-$1.data" -p "$pids" >/dev/null 2>&1 &
          PROFILE_PID=$!; sleep 0.5 ;;
    esac
}

profile_stop() {
    [ -n "$PROFILE_PID" ] || return 0
    kill -INT "$PROFILE_PID" 2>/dev/null
    wait "$PROFILE_PID" 2>/dev/null
    PROFILE_PID=
    say "profile in $WORK ($PROFILE)"
}


# ---------------------------------------------------------------- run
FSYNC=$($PROBE fsync "$WORK") || die "fsync probe failed"
for ROUND in $(seq "$ROUNDS"); do
    for t in $TARGETS; do
        say "==== round $ROUND of $ROUNDS: $t"
        case $t in
        postfix) pf_start; measure postfix; pf_stop ;;
        postie) pt_start; measure postie; pt_stop ;;
        *) die "unknown target $t" ;;
        esac
    done
done

# ---------------------------------------------------------------- report
pfv=$(dpkg-query -W -f='${Version}' postfix 2>/dev/null)
ptv=$PTV
echo
echo "SMTP -> Maildir, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r)"
echo "N=$N messages of $SIZE bytes, S=$S sessions, $( [ "$REUSE" = 1 ] && echo 'several messages per connection' || echo 'one connection per message'), IDLE=$IDLE, latency runs=$LAT_RUNS, rounds=$ROUNDS (medians)"
echo "disk: write 1 KiB + fsync $(kv "$FSYNC" file_fsync_ms) ms, fsync of a directory $(kv "$FSYNC" dir_fsync_ms) ms"
[ -z "$PT_EXTRA" ] || echo "postie.conf extra: $PT_EXTRA"
[ -z "$PF_EXTRA" ] || echo "Postfix main.cf extra: $PF_EXTRA"
echo "Postfix delivers with: $PF_MODE(8)"
[ -z "$PTV" ] || echo "postie: tree at $PTV ('+': uncommitted changes in src/), binary built $PT_BUILT"
printf '%-42s %16s %16s\n' "" "postfix" "postie"
printf '%-42s %16s %16s\n' "" "$pfv" "$ptv"
row() {  # label key
    printf '%-42s %16s %16s\n' "$1" "$(get postfix "$2")" "$(get postie "$2")"
}
row "throughput (msg/s)" rate
row "  first connect -> last in Maildir (s)" elapsed_s
row "  first connect -> smtp-source done (s)" accepted_s
row "  server CPU per message (ms)" cpu_ms
row "  mean wait in queue manager (ms)" delay_b_ms
row "  mean delivery time (ms)" delay_d_ms
row "latency, connect -> 250 (ms, median)" accept_median_ms
row "latency, connect -> Maildir (ms, median)" mailbox_median_ms
row "  min" mailbox_min_ms
row "  max" mailbox_max_ms
row "idle connection, RSS (KiB/conn)" rss_per_conn_kib
row "idle connection, PSS (KiB/conn)" pss_per_conn_kib
row "  processes before -> after" procs
pf=$(get postfix rate) pt=$(get postie rate)
if [ -n "$pf" ] && [ -n "$pt" ]; then
    echo "ratio postie/postfix throughput: $(awk -v a="$pt" -v b="$pf" 'BEGIN {printf "%.2f", a / b}')"
fi
if [ "$ROUNDS" -gt 1 ]; then
    for t in $TARGETS; do echo "$t msg/s by round: $(every "$t" rate)"; done
fi
exit 0
