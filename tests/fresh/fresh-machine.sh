#!/bin/sh
# fresh-machine.sh - the README's two commands on a fresh Debian 12, as a
# newcomer runs them: in a new debootstrap --variant=minbase bookworm chroot,
# once as root (checkout in /root/postie, no sudo installed) and once as a
# normal user with sudo (alice, group sudo, NOPASSWD, checkout in
# /home/alice/postie); both homes are mode 700.  Each user gets a chroot of
# its own, so the user's ./setup has to install every package itself.
#
# Command 1 (./setup) must install, build and start postie serve: the check
# waits for serve's banner, sends a message over SMTP, reads it back with the
# curl line the banner prints (POP3), and stops serve.  Command 2 (make test)
# must pass with both halves (gcc; clang with ASan+UBSan).
#
#   tests/fresh/fresh-machine.sh [--quick] [--test WHO] [USER...]
#     USER      root and/or alice (default: both, root first)
#     --quick   command 1 only (set-up and serve), no make test
#     --test W  make test only for W (root or alice); the others get command 1
#
# Never installs anything on this machine's own root file system.  The
# debootstrap base (the same file as tests/package/check-deb.sh's) and the
# downloaded .debs are cached in $POSTIE_FRESH_CACHE (default
# /var/cache/postie-fresh).  Needs root, debootstrap, unshare and network
# access to deb.debian.org ($POSTIE_MIRROR).  The chroot shares this
# machine's network while ./setup runs (apt-get needs it): serve's default
# ports 2525 and 2110 must be free here.  make test runs in a network
# namespace of its own (loopback only), apart from other tests on this
# machine.  Exit 0: every check passed.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
cache=${POSTIE_FRESH_CACHE:-/var/cache/postie-fresh}
mirror=${POSTIE_MIRROR:-http://deb.debian.org/debian}
t0=$(date +%s)
step() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
fail() { echo "fresh-machine: FAIL: $*" >&2; exit 1; }

quick=0
test_who=""
users=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --test) shift; test_who=${1:-} ;;
    root | alice) users="$users $1" ;;
    *) echo "usage: $0 [--quick] [--test root|alice] [root] [alice]" >&2; exit 64 ;;
    esac
    shift
done
[ -n "$users" ] || users="root alice"

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mounts)"
for p in 2525 2110; do
    if ss -ltnH | awk '{print $4}' | grep -Eq "(^|[:.\]])$p\$"; then
        fail "port $p is in use on this machine (ss -ltn): postie serve listens there by default"
    fi
done

work=$(mktemp -d /var/tmp/postie-fresh.XXXXXX)
mounted=""
root=""
# Every process whose root is a chroot of ours (serve left running by a
# failed check, its services): TERM, then KILL.
kill_inside() { # dir
    for sig in TERM KILL; do
        pids=""
        for p in /proc/[0-9]*; do
            r=$(readlink "$p/root" 2>/dev/null) || continue
            case "$r" in "$1" | "$1"/*) pids="$pids ${p#/proc/}" ;; esac
        done
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        kill -$sig $pids 2>/dev/null
        sleep 2
    done
}
cleanup() {
    set +e
    kill_inside "$work"
    for m in $mounted; do umount -l "$m"; done
    if ! grep -q " $work/" /proc/mounts; then rm -rf "$work"; else
        echo "fresh-machine: left $work (still mounted)" >&2; fi
}
trap cleanup EXIT INT TERM

# ---- the base system (cached) ----
mkdir -p "$cache/archives/partial"
base=$cache/bookworm-minbase.tar.gz
if [ ! -f "$base" ]; then
    step "debootstrap --variant=minbase bookworm (once; cached in $base)"
    rm -rf "$cache/base.tmp"
    debootstrap --variant=minbase bookworm "$cache/base.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        fail "debootstrap (see $cache/debootstrap.log)"
    tar -C "$cache/base.tmp" -czf "$base.part" . && mv "$base.part" "$base"
    rm -rf "$cache/base.tmp"
fi

# A new chroot for WHO in $root, with proc, sys, dev and the .deb cache.
new_root() {
    root=$work/$1
    mkdir -p "$root"
    tar -C "$root" -xzf "$base"
    # A machine's / is a mount point; a bare chroot directory is not, and
    # "unshare -m" in it (tests that make a mount namespace) fails with
    # "cannot change root filesystem propagation".  Bind it onto itself,
    # before the mounts below, which go on top.
    mount --bind "$root" "$root" && mounted="$root $mounted"
    for m in proc sys dev dev/pts; do mkdir -p "$root/$m"; done
    mount -t proc proc "$root/proc" && mounted="$root/proc $mounted"
    mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && mounted="$root/sys $mounted"
    mount --bind /dev "$root/dev" && mounted="$root/dev $mounted"
    mount --bind /dev/pts "$root/dev/pts" && mounted="$root/dev/pts $mounted"
    mount --bind "$cache/archives" "$root/var/cache/apt/archives" &&
        mounted="$root/var/cache/apt/archives $mounted"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    # debootstrap writes no /etc/hosts; every installed Debian (the
    # installer, cloud images, containers) has one naming localhost and the
    # machine, and getaddrinfo and reverse lookups read it first.
    [ -s "$root/etc/hosts" ] || printf '%s\n' "127.0.0.1	localhost" \
        "127.0.1.1	$(hostname)" "::1	localhost ip6-localhost ip6-loopback" \
        "ff02::1	ip6-allnodes" "ff02::2	ip6-allrouters" >"$root/etc/hosts"
    grep -q "$(hostname)" "$root/etc/hosts" ||
        echo "127.0.1.1	$(hostname)" >>"$root/etc/hosts"
}
umount_root() {
    kill_inside "$root"
    rest=""
    for m in $mounted; do
        case "$m" in "$root" | "$root"/*) umount -l "$m" ;; *) rest="$rest $m" ;; esac
    done
    mounted=$rest
    rm -rf "$root"
}
# Run a shell command in the chroot as WHO, in the checkout, with a clean
# login-like environment (no variables of this machine leak in).
as() { # who command
    if [ "$1" = root ]; then h=/root; else h=/home/$1; fi
    chroot "$root" /usr/sbin/runuser -u "$1" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        HOME="$h" USER="$1" LOGNAME="$1" LANG=C.UTF-8 TERM=dumb sh -c "cd $h/postie && $2"
}
copy_checkout() { # home owner
    mkdir -p "$root$1"
    chmod 700 "$root$1"
    mkdir "$root$1/postie"
    (cd "$here" && tar --exclude='./build*' --exclude=./fuzz/build --exclude=./postie-data \
        --exclude=./debian/postie -cf - .) | tar -C "$root$1/postie" -xf -
    chroot "$root" chown -R "$2:$2" "$1"
}

# ---- command 1: ./setup installs, builds, serves ----
command1() { # who
    who=$1
    log=$work/$who-setup.log
    step "$who: ./setup (log: $log)"
    ts=$(date +%s)
    as "$who" ./setup >"$log" 2>&1 &
    pid=$!
    # Install and build take minutes; the banner ends with "stop:".
    i=0
    while ! grep -q "^stop: " "$log"; do
        if ! kill -0 $pid 2>/dev/null; then
            tail -40 "$log"; fail "$who: ./setup ended before serve was up"
        fi
        i=$((i + 1))
        [ $i -lt 1800 ] || { tail -20 "$log"; fail "$who: no serve banner after 30 min"; }
        sleep 1
    done
    step "$who: serve is up after $(( $(date +%s) - ts ))s"
    sed -n '/^postie serve:/,$p' "$log"
    grep -q "^made system user" "$log" && [ "$who" != root ] &&
        fail "$who: serve as a normal user made system users"
    # SMTP: the host shares the chroot's network.
    user=$(sed -n 's/^  user    \([^,]*\),.*/\1/p' "$log")
    [ -n "$user" ] || fail "$who: serve printed no first user"
    [ "$user" != postie ] || fail "$who: the first mail user is named postie, like mail_owner"
    /usr/bin/python3 - "$user" <<'EOF' || fail "$who: SMTP to 127.0.0.1:2525"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", 2525, timeout=30) as s:
    s.sendmail("newcomer@localhost", [sys.argv[1] + "@localhost"],
               "Subject: fresh machine\r\n\r\nfirst message\r\n")
EOF
    step "$who: ok: SMTP accepted the first message"
    # POP3: the curl line serve printed, as printed.
    curl_line=$(sed -n 's/^  \(curl .*pop3:.*\)$/\1/p' "$log" | head -1)
    [ -n "$curl_line" ] || fail "$who: serve printed no curl line"
    i=0
    until as "$who" "$curl_line" >"$work/$who-pop3.out" 2>&1 &&
        grep -q "^Subject: fresh machine" "$work/$who-pop3.out"; do
        i=$((i + 1))
        [ $i -lt 50 ] || { cat "$work/$who-pop3.out"; fail "$who: $curl_line did not fetch the message"; }
        sleep 0.2
    done
    step "$who: ok: $curl_line fetched it"
    stop_line=$(sed -n 's/^stop: Ctrl-C, or //p' "$log")
    as "$who" "$stop_line" || fail "$who: $stop_line"
    wait $pid || true
    if [ "$who" = root ]; then
        grep -q "^made system user postie (mail_owner)" "$log" ||
            fail "root: serve did not say that it made mail_owner postie"
        chroot "$root" getent passwd postie >/dev/null || fail "root: serve did not make postie"
        step "root: ok: serve made its system account"
    fi
    step "$who: ok: command 1 ($(( $(date +%s) - ts ))s)"
}

# ---- command 2: make test, in a network namespace of its own ----
command2() { # who
    who=$1
    log=$work/$who-make-test.log
    step "$who: make test (log: $log)"
    ts=$(date +%s)
    if unshare --net sh -c 'ip link set lo up && "$@"' sh \
        chroot "$root" /usr/sbin/runuser -u "$who" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        HOME="$h" USER="$who" LOGNAME="$who" LANG=C.UTF-8 TERM=dumb \
        sh -c "cd $h/postie && make test" >"$log" 2>&1; then
        grep -E "passed|failed" "$log" | tail -4
        step "$who: ok: make test passed ($(( $(date +%s) - ts ))s)"
    else
        # The lines that say what failed (a unit check's own line too),
        # not the long list of passing unit files.
        grep -E "FAIL|[Ff]ailed|Error|error:|passed" "$log" | grep -v "checks, 0 failed" | tail -40
        # The chroot goes away with the work directory: keep the log.
        cp "$log" "$cache/last-$who-make-test.log"
        fail "$who: make test failed after $(( $(date +%s) - ts ))s (log kept: $cache/last-$who-make-test.log)"
    fi
}

for who in $users; do
    new_root "$who"
    if [ "$who" = root ]; then
        h=/root
        [ ! -e "$root/usr/bin/sudo" ] || fail "the base system has sudo: not a bare machine"
    else
        h=/home/$who
        # What an administrator did before handing the machine over: a
        # user in group sudo who may run anything without a password.
        chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
            sh -c "apt-get -q update && apt-get install -y -q --no-install-recommends sudo" \
            >"$work/$who-sudo.log" 2>&1 || { tail "$work/$who-sudo.log"; fail "install sudo"; }
        chroot "$root" useradd -m -s /bin/bash -G sudo "$who"
        echo "$who ALL=(ALL) NOPASSWD: ALL" >"$root/etc/sudoers.d/$who"
        chmod 440 "$root/etc/sudoers.d/$who"
    fi
    copy_checkout "$h" "$who"
    [ "$(stat -c %a "$root$h")" = 700 ] || fail "$h is not mode 700"
    command1 "$who"
    if [ $quick = 0 ] && { [ -z "$test_who" ] || [ "$test_who" = "$who" ]; }; then
        command2 "$who"
    fi
    umount_root
done
step "PASS (total $(( $(date +%s) - t0 ))s)"
