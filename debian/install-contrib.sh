#!/bin/sh
# install-contrib.sh CONTRIB DESTDIR - the fail2ban and logwatch files of
# contrib/ into the package, whatever is there at build time.
#   contrib/fail2ban/filter.d/*, jail.d/*  -> /etc/fail2ban/filter.d, jail.d
#   contrib/fail2ban/*  (flat)             -> jail.d when the name says
#                                             "jail", else filter.d
#   contrib/logwatch/{conf,scripts}/...    -> /etc/logwatch/... as laid out
#   contrib/logwatch/*  (flat)             -> *.conf: conf/services,
#                                             others: scripts/services
set -e
src=$1
dst=$2

put() { # file dir mode
    install -D -m "$3" "$1" "$dst$2/$(basename "$1")"
    echo "  contrib: $1 -> $2/"
}

if [ -d "$src/fail2ban" ]; then
    for f in "$src"/fail2ban/filter.d/*; do
        [ -f "$f" ] && put "$f" /etc/fail2ban/filter.d 0644
    done
    for f in "$src"/fail2ban/jail.d/*; do
        [ -f "$f" ] && put "$f" /etc/fail2ban/jail.d 0644
    done
    for f in "$src"/fail2ban/*; do
        [ -f "$f" ] || continue
        case "$(basename "$f")" in
        README*|*.md|*.txt) ;;
        *jail*) put "$f" /etc/fail2ban/jail.d 0644 ;;
        *) put "$f" /etc/fail2ban/filter.d 0644 ;;
        esac
    done
fi

if [ -d "$src/logwatch" ]; then
    (cd "$src/logwatch" && find conf scripts -type f 2>/dev/null) | while read -r rel; do
        case "$rel" in scripts/*) m=0755 ;; *) m=0644 ;; esac
        put "$src/logwatch/$rel" "/etc/logwatch/$(dirname "$rel")" $m
    done
    for f in "$src"/logwatch/*; do
        [ -f "$f" ] || continue
        case "$(basename "$f")" in
        README*|*.md|*.txt) ;;
        *.conf) put "$f" /etc/logwatch/conf/services 0644 ;;
        *) put "$f" /etc/logwatch/scripts/services 0755 ;;
        esac
    done
fi
exit 0
