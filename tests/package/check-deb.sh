#!/bin/sh
# check-deb.sh - build postie's .deb from this tree and check it in a clean
# Debian 12 chroot: install (with mailutils), start without systemd, mail(1)
# to root lands in /var/mail/root, sendmail by a normal user goes through the
# setgid postdrop, status, stop, a message queued while stopped survives
# "apt-get remove" and "apt-get purge" and is delivered after reinstalling.
#
# Never installs anything on this machine's own root file system.  The
# debootstrap base is cached in $POSTIE_FRESH_CACHE (default
# /var/cache/postie-fresh); downloaded .debs are cached there too.  Needs
# root, debootstrap, dpkg-buildpackage (debhelper) and network access to
# deb.debian.org.  Exit 0: every check passed.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
cache=${POSTIE_FRESH_CACHE:-/var/cache/postie-fresh}
mirror=${POSTIE_MIRROR:-http://deb.debian.org/debian}
t0=$(date +%s)
step() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mounts)"
# The chroot shares this machine's network: the system configuration binds
# 127.0.0.1:25 and [::1]:25.
if ss -ltnH | awk '{print $4}' | grep -Eq '(^|[:.\]])25$'; then
    fail "port 25 is in use on this machine (ss -ltn): the packaged configuration listens there"
fi

work=$(mktemp -d /var/tmp/postie-deb.XXXXXX)
root=$work/root
mounted=""
cleanup() {
    set +e
    if [ -x "$root/usr/sbin/postie" ]; then
        chroot "$root" /usr/sbin/postie status >/dev/null 2>&1 &&
            chroot "$root" /usr/sbin/postie stop >/dev/null 2>&1
    fi
    for m in $mounted; do umount -l "$m"; done
    # Remove only when nothing is mounted below any more.
    if ! grep -q " $work/" /proc/mounts; then rm -rf "$work"; else
        echo "check-deb: left $work (still mounted)" >&2; fi
}
trap cleanup EXIT INT TERM

# ---- 1. build the .deb from a copy of the tree ----
step "build: dpkg-buildpackage -us -uc -b (log: $work/build.log)"
mkdir -p "$work/src"
(cd "$here" && tar --exclude=./.git --exclude='./build*' --exclude=./fuzz/build \
    --exclude=./postie-data --exclude=./debian/postie -cf - .) | tar -C "$work/src" -xf -
(cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log"; fail "dpkg-buildpackage"; }
deb=$(ls "$work"/postie_*.deb)
step "built $(basename "$deb")"

# ---- 2. a fresh bookworm (cached) ----
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
mkdir -p "$root"
tar -C "$root" -xzf "$base"
for m in proc sys dev dev/pts; do mkdir -p "$root/$m"; done
mount -t proc proc "$root/proc" && mounted="$root/proc $mounted"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && mounted="$root/sys $mounted"
mount --bind /dev "$root/dev" && mounted="$root/dev $mounted"
mount --bind /dev/pts "$root/dev/pts" && mounted="$root/dev/pts $mounted"
mount --bind "$cache/archives" "$root/var/cache/apt/archives" &&
    mounted="$root/var/cache/apt/archives $mounted"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
inroot() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
# The mailbox: mail(1)'s default and the packaged configuration's
# (home_mailbox empty, mail_spool_directory = /var/mail).
mbox=$root/var/mail/root
wait_mail() { # pattern what
    i=0
    while [ $i -lt 100 ]; do
        grep -q "$1" "$mbox" 2>/dev/null && { step "ok: $2"; return 0; }
        sleep 0.2; i=$((i + 1))
    done
    echo "--- log:"; tail -30 "$root/var/log/postie.log" 2>/dev/null
    fail "$2: \"$1\" not in /var/mail/root after 20s"
}

# ---- 3. install with its dependencies ----
step "apt-get install ./$(basename "$deb") mailutils"
inroot apt-get -q update >"$work/apt.log" 2>&1 || { tail "$work/apt.log"; fail "apt-get update"; }
inroot apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" mailutils \
    >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; fail "apt-get install"; }
grep -E "postie: (the mail system is running|not started)" "$work/apt.log" || true
inroot dpkg -s mailutils >/dev/null || fail "mailutils not installed"
# stat inside: names are the chroot's users and groups.
[ "$(inroot stat -c %U:%G:%a /usr/sbin/postdrop)" = root:postdrop:2755 ] ||
    fail "postdrop is $(inroot stat -c %U:%G:%a /usr/sbin/postdrop), want root:postdrop 2755"
[ "$(readlink "$root/usr/sbin/sendmail")" = postie ] || fail "/usr/sbin/sendmail is not postie"
step "ok: installed (postdrop setgid, sendmail link)"
# The fail2ban and logwatch files of contrib/ (docs/admin-log-tools.md).
for rel in $(cd "$here/contrib" && find fail2ban logwatch -type f ! -name '*.md' 2>/dev/null); do
    [ -f "$root/etc/$rel" ] || fail "the package lacks /etc/$rel"
done
step "ok: fail2ban and logwatch files installed"

# ---- 4. running without systemd ----
inroot postie status >/dev/null 2>&1 || inroot postie start || fail "postie start"
inroot postie status || fail "postie status after start"
echo hi | inroot mail -s "test from mail" root || fail "mail(1) exited $?"
wait_mail "^Subject: test from mail" "mail -s test root delivered to /var/mail/root"
echo "from nobody" | inroot su -s /bin/sh nobody -c "/usr/sbin/sendmail -i root" ||
    fail "sendmail as nobody (setgid postdrop)"
printf 'Subject: user one\n\nx\n' | inroot su -s /bin/sh nobody -c "/usr/sbin/sendmail -i root"
wait_mail "^Subject: user one" "sendmail by a normal user (postdrop) delivered"
# A restart of a root master must keep maildrop/ usable by postdrop.
inroot postie stop || fail "postie stop"
inroot postie start >/dev/null || fail "postie start (again)"
printf 'Subject: user two\n\nx\n' | inroot su -s /bin/sh nobody -c "/usr/sbin/sendmail -i root" ||
    fail "sendmail as nobody after a restart (maildrop: $(inroot stat -c %U:%G:%a /var/spool/postie/maildrop))"
wait_mail "^Subject: user two" "sendmail by a normal user after a restart delivered"
inroot postie status >/dev/null || fail "postie status"
inroot postie stop || fail "postie stop"
inroot postie status >/dev/null 2>&1 && fail "postie status says running after stop"
step "ok: start, status, stop"

# ---- 5. queued while stopped, kept over remove and purge ----
printf 'Subject: queued while stopped\n\nkept\n' | inroot sendmail -i root || fail "sendmail while stopped"
n=$(ls "$root/var/spool/postie/maildrop" | wc -l)
[ "$n" -eq 1 ] || fail "maildrop holds $n files, want 1"
qf=$(ls "$root/var/spool/postie/maildrop")
step "ok: queued while stopped: maildrop/$qf"
inroot apt-get remove -y -q postie >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt-get remove"; }
[ -f "$root/var/spool/postie/maildrop/$qf" ] || fail "remove lost maildrop/$qf"
[ -f "$root/etc/postie/postie.conf" ] || fail "remove deleted /etc/postie/postie.conf"
step "ok: apt-get remove kept the queue and /etc/postie"
inroot apt-get purge -y -q postie >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "apt-get purge"; }
[ -f "$root/var/spool/postie/maildrop/$qf" ] || fail "purge lost maildrop/$qf"
[ ! -e "$root/etc/postie" ] || fail "purge kept /etc/postie"
grep -q "queued message" "$work/purge.log" || fail "purge did not say that it kept the queue"
grep "postie:" "$work/purge.log"
step "ok: apt-get purge removed /etc/postie, kept the non-empty queue"

# ---- 6. reinstall delivers it ----
inroot apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >"$work/reinstall.log" 2>&1 ||
    { tail -30 "$work/reinstall.log"; fail "reinstall"; }
wait_mail "^Subject: queued while stopped" "reinstall delivered the message queued before remove"
# An upgrade (here: the same version again) while running: prerm stops,
# postinst starts again.
inroot apt-get install -y -q --reinstall "/tmp/$(basename "$deb")" >>"$work/reinstall.log" 2>&1 ||
    { tail -30 "$work/reinstall.log"; fail "apt-get install --reinstall"; }
inroot postie status >/dev/null || fail "not running after apt-get install --reinstall"
[ -f "$root/etc/logrotate.d/postie" ] || fail "no /etc/logrotate.d/postie"
step "ok: reinstall while running: running again"
inroot postie stop >/dev/null || fail "postie stop (end)"
step "PASS (total $(( $(date +%s) - t0 ))s)"
