#!/bin/bash
# make-real-logs.sh - produce the mail logs under tests/logs/real/ by running
# real software from Debian's packages on loopback only, and sending it a known
# set of messages (listed, with their expected outcomes, in real/README.md).
#
#   bash tests/logs/make-real-logs.sh [postfix|exim|dovecot ...]
#   OUT=/tmp/x bash tests/logs/make-real-logs.sh   # write the logs elsewhere
#
# Needs root (Postfix and Dovecot drop privileges themselves), the packages
# postfix, swaks, dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd, and
# for Exim the .debs exim4-daemon-light exim4-base exim4-config, which it
# fetches with "apt-get download" and unpacks into the work directory: Debian's
# exim4 conflicts with postfix as an installed package.
#
# Every server listens on 127.0.0.1/::1 and high ports only, writes its log to
# a file of its own (no syslog), and is stopped at the end.  Users alice and
# bob are created (without a home) if missing: Postfix's local(8) delivers to
# system users.  The script is re-runnable; CI does not run it, it uses the
# committed logs.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/real}
W=${WORK:-/tmp/postie-reallogs}
PF_PORT=${PF_PORT:-42525}
SINK_OK=${SINK_OK:-42526}
SINK_REJ=${SINK_REJ:-42527}
CLOSED=${CLOSED:-42529}
EXIM_PORT=${EXIM_PORT:-42625}
DC_IMAP=${DC_IMAP:-42143}
DC_POP=${DC_POP:-42110}
DC_LMTP=${DC_LMTP:-42024}

mkdir -p "$OUT" "$W"

say() { printf '== %s\n' "$*" >&2; }

ensure_user() {
    id "$1" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /usr/sbin/nologin "$1"
}

# swaks quietly; a failed transaction (a reject) is an expected outcome here.
send() {
    swaks --silent 2 --timeout 20 --helo client.example.test "$@" >/dev/null 2>&1 || true
}

wait_for_port() {
    i=0
    while ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 50 ] && { echo "port $1:$2 never opened" >&2; return 1; }
        sleep 0.2
    done
}

# --------------------------------------------------------------------------
# Postfix: a separate instance with its own config, queue and maillog_file.
# --------------------------------------------------------------------------
postfix_run() {
    say postfix
    P=$W/postfix
    [ -f "$P/etc/main.cf" ] && postfix -c "$P/etc" stop >/dev/null 2>&1 || true
    pkill_sinks
    rm -rf "$P"; mkdir -p "$P/etc" "$P/spool" "$P/data" "$P/mail"
    chmod 1777 "$P/mail"
    chown postfix "$P/data"
    ensure_user alice; ensure_user bob

    cat >"$P/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $P/maillog
maillog_file_prefixes = $W
myhostname = mail.example.test
mydomain = example.test
myorigin = \$mydomain
mydestination = \$myhostname, example.test
inet_interfaces = 127.0.0.1, ::1
inet_protocols = all
# 127.0.0.1 plays the Internet, 127.0.0.2 the trusted network.
mynetworks = 127.0.0.2/32
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
alias_maps = hash:$P/etc/aliases
alias_database = hash:$P/etc/aliases
virtual_alias_maps = hash:$P/etc/virtual
transport_maps = hash:$P/etc/transport
header_checks = regexp:$P/etc/header_checks
mail_spool_directory = $P/mail
smtp_dns_support_level = disabled
smtputf8_enable = no
biff = no
# Short retry and life times, so that one run shows a retry and an expiry.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
maximal_queue_lifetime = 25s
bounce_queue_lifetime = 25s
EOF
    cat >"$P/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
[::1]:$PF_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
    cat >"$P/etc/aliases" <<EOF
postmaster: alice
fwd: carol@remote.test
EOF
    cat >"$P/etc/virtual" <<EOF
ghost@example.test nosuchuser@example.test
EOF
    cat >"$P/etc/transport" <<EOF
remote.test smtp:[127.0.0.1]:$SINK_OK
rejecting.test smtp:[127.0.0.1]:$SINK_REJ
deadhost.test smtp:[127.0.0.1]:$CLOSED
EOF
    cat >"$P/etc/header_checks" <<EOF
/^Subject: please hold/ HOLD held for review
/^Subject: please discard/ DISCARD discarded by policy
/^Subject: please reject/ REJECT message content rejected
/^Subject: please warn/ WARN suspicious subject
EOF
    postalias "$P/etc/aliases"
    postmap "$P/etc/virtual" "$P/etc/transport"

    start_sinks
    postfix -c "$P/etc" check || true
    postfix -c "$P/etc" start
    wait_for_port 127.0.0.1 "$PF_PORT"
    S="--server 127.0.0.1:$PF_PORT"
    IN="--local-interface 127.0.0.2"      # the trusted network

    # 1-3: from the Internet to local users: delivered (4 recipients).
    send $S --from carol@remote.test --to alice@example.test --h-Subject "hello 1"
    send $S --from carol@remote.test --to alice@example.test,bob@example.test --h-Subject "hello 2"
    big=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "line %d of a longer message body, to make it bigger\n", i }')
    send $S --from dave@remote.test --to bob@example.test --h-Subject "big one" --body "$big"
    # 4: IPv6 client, to local user: delivered.
    send --server ::1 --port $PF_PORT -6 --from erin@remote.test --to alice@example.test --h-Subject "over v6"
    # 5: relay attempt from the Internet: rejected (554 5.7.1 Relay access denied).
    send $S --from spam@spammer.test --to victim@other.test
    # 6: unknown local user: rejected at RCPT (550 5.1.1).
    send $S --from carol@remote.test --to nosuch@example.test
    # 7: one good and one unknown recipient: 1 delivered, 1 rejected.
    send $S --from carol@remote.test --to alice@example.test,nobody2@example.test --h-Subject "partly"
    # 8: a session that sends no mail.
    send $S --quit-after EHLO
    # 9: trusted relay to a peer that accepts: delivered by smtp.
    send $S $IN --from alice@example.test --to carol@remote.test --h-Subject "out 1"
    # 10: trusted relay to a peer that refuses: bounced (550 from the peer),
    #     plus a non-delivery notification to alice (delivered).
    send $S $IN --from alice@example.test --to bad@rejecting.test --h-Subject "out refused"
    # 11: virtual alias to an unknown local user: bounced by local (unknown
    #     user), plus a notification to bob (delivered).
    send $S $IN --from bob@example.test --to ghost@example.test --h-Subject "to a ghost"
    # 12: trusted relay to a closed port: deferred, retried, then expired and
    #     returned to sender (a notification to alice, delivered).
    send $S $IN --from alice@example.test --to user@deadhost.test --h-Subject "to a dead host"
    # 13-16: header_checks: hold, discard, reject, warn (then delivered).
    send $S --from carol@remote.test --to alice@example.test --h-Subject "please hold this"
    send $S --from carol@remote.test --to alice@example.test --h-Subject "please discard this"
    send $S --from carol@remote.test --to alice@example.test --h-Subject "please reject this"
    send $S --from carol@remote.test --to bob@example.test --h-Subject "please warn about this"
    # 17: alias to a remote address: forwarded by local, the new message
    #     delivered by smtp to the accepting peer.
    send $S --from carol@remote.test --to fwd@example.test --h-Subject "forward me"
    # 18: null sender from the Internet (a bounce from elsewhere): delivered.
    send $S --from '<>' --to postmaster@example.test --h-Subject "Undelivered Mail"
    # 19: local submission with sendmail: received by pickup, delivered.
    printf 'Subject: from cron\n\nlocal job output\n' |
        MAIL_CONFIG=$P/etc sendmail -f bob@example.test alice@example.test || true

    # Wait for the dead-host message to expire (25 s) and its bounce.
    i=0
    while [ $i -lt 90 ] && ! grep -q 'status=expired' "$P/maillog" 2>/dev/null; do
        sleep 1; i=$((i + 1))
    done
    sleep 3
    # The held message: delete it (postsuper's own lines).
    postsuper -c "$P/etc" -d ALL hold || true
    sleep 1
    postfix -c "$P/etc" stop
    pkill_sinks
    sleep 1
    anonymize <"$P/maillog" >"$OUT/postfix.log"
    say "postfix: $(wc -l <"$OUT/postfix.log") lines"
}

# --------------------------------------------------------------------------
# Exim 4 from Debian's .debs, unpacked (not installed), with its own config.
# --------------------------------------------------------------------------
exim_run() {
    say exim
    E=$W/exim
    X=$E/root/usr/sbin/exim4
    if [ -f "$E/exim.pid" ]; then kill "$(cat "$E/exim.pid")" 2>/dev/null || true; fi
    pkill_sinks
    rm -rf "$E/spool" "$E/log" "$E/mail" "$E/exim.conf"
    mkdir -p "$E/debs" "$E/spool" "$E/log" "$E/mail"
    if [ ! -x "$X" ]; then
        (cd "$E/debs" && apt-get download exim4-daemon-light exim4-base exim4-config)
        for d in "$E"/debs/*.deb; do dpkg-deb -x "$d" "$E/root"; done
    fi
    # The binary looks its user up by name at start (the package's postinst
    # would have made it).
    id Debian-exim >/dev/null 2>&1 ||
        useradd --system -M -d /nonexistent -s /usr/sbin/nologin -U Debian-exim
    ensure_user alice; ensure_user bob
    chown -R Debian-exim:Debian-exim "$E/spool" "$E/log"
    chmod 1777 "$E/mail"
    printf 'postmaster: alice\nfwd: carol@remote.test\n' >"$E/aliases"

    cat >"$E/exim.conf" <<EXIMCONF
primary_hostname = mx.example.test
qualify_domain = example.test
exim_path = $X
keep_environment =
tls_advertise_hosts =
domainlist local_domains = example.test
hostlist relay_from_hosts = 127.0.0.2
local_interfaces = <; 127.0.0.1.$EXIM_PORT ; ::1.$EXIM_PORT
spool_directory = $E/spool
log_file_path = $E/log/%slog
pid_file_path = $E/exim.pid
log_selector = +smtp_connection +received_recipients +delivery_size +subject
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
never_users = root
message_size_limit = 1M
timeout_frozen_after = 1m
ignore_bounce_errors_after = 1m

begin acl
acl_rcpt:
  accept  hosts = :
  deny    domains = !+local_domains
          !hosts = +relay_from_hosts
          message = relay not permitted
  require verify = recipient
  accept

acl_data:
  deny    condition = \${if match{\$h_subject:}{please reject}}
          message = message content rejected
  accept

begin routers
to_remote_ok:
  driver = manualroute
  domains = remote.test
  route_list = * 127.0.0.1
  transport = smtp_ok
  self = send
to_remote_refusing:
  driver = manualroute
  domains = rejecting.test
  route_list = * 127.0.0.1
  transport = smtp_refusing
  self = send
to_remote_dead:
  driver = manualroute
  domains = deadhost.test
  route_list = * 127.0.0.1
  transport = smtp_dead
  self = send
aliases:
  driver = redirect
  domains = +local_domains
  data = \${lookup{\$local_part}lsearch{$E/aliases}}
ghost:
  driver = accept
  domains = +local_domains
  local_parts = ghost
  transport = failing_pipe
users:
  driver = accept
  domains = +local_domains
  local_parts = alice : bob
  transport = mailbox

begin transports
smtp_ok:
  driver = smtp
  port = $SINK_OK
  allow_localhost
smtp_refusing:
  driver = smtp
  port = $SINK_REJ
  allow_localhost
smtp_dead:
  driver = smtp
  port = $CLOSED
  allow_localhost
mailbox:
  driver = appendfile
  file = $E/mail/\$local_part_data
  # Exim run with -C by root gives up root (unless the file is in its
  # compiled-in trusted list), so deliver as its own user.
  user = Debian-exim
  mode = 0600
  return_path_add
  delivery_date_add
  envelope_to_add
failing_pipe:
  driver = pipe
  command = /bin/false
  user = Debian-exim

begin retry
*  *  F,20s,5s

begin rewrite
EXIMCONF

    start_sinks
    "$X" -C "$E/exim.conf" -bd -q5s
    wait_for_port 127.0.0.1 "$EXIM_PORT"
    S="--server 127.0.0.1:$EXIM_PORT"
    IN="--local-interface 127.0.0.2"

    # 1-3: from the Internet to local users: delivered (4 recipients).
    send $S --from carol@remote.test --to alice@example.test --h-Subject "hello 1"
    send $S --from carol@remote.test --to alice@example.test,bob@example.test --h-Subject "hello 2"
    big=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "line %d of a longer message body, to make it bigger\n", i }')
    send $S --from dave@remote.test --to bob@example.test --h-Subject "big one" --body "$big"
    # 4: IPv6 client: delivered.
    send --server ::1 --port $EXIM_PORT -6 --from erin@remote.test --to alice@example.test --h-Subject "over v6"
    # 5: relay attempt: rejected.  6: unknown local user: rejected.
    send $S --from spam@spammer.test --to victim@other.test
    send $S --from carol@remote.test --to nosuch@example.test
    # 7: one good, one unknown recipient: 1 delivered, 1 rejected.
    send $S --from carol@remote.test --to alice@example.test,nobody2@example.test --h-Subject "partly"
    # 8: content rejected at DATA.
    send $S --from carol@remote.test --to alice@example.test --h-Subject "please reject this"
    # 9: trusted relay to an accepting peer: delivered.
    send $S $IN --from alice@example.test --to carol@remote.test --h-Subject "out 1"
    # 10: to a refusing peer: bounced, notification to alice delivered.
    send $S $IN --from alice@example.test --to bad@rejecting.test --h-Subject "out refused"
    # 11: local pipe fails: bounced, notification to bob delivered.
    send $S $IN --from bob@example.test --to ghost@example.test --h-Subject "to a ghost"
    # 12: to a closed port: deferred, retried, then bounced after the retry
    #     time-out; notification to alice delivered.
    send $S $IN --from alice@example.test --to user@deadhost.test --h-Subject "to a dead host"
    # 13: alias to a remote address: delivered to the accepting peer.
    send $S --from carol@remote.test --to fwd@example.test --h-Subject "forward me"
    # 14: null sender: delivered to postmaster (alice).
    send $S --from '<>' --to postmaster@example.test --h-Subject "Undelivered Mail"
    # 15: local submission on the command line (P=local): delivered.
    printf 'To: alice@example.test\nSubject: from cron\n\nlocal job output\n' |
        "$X" -C "$E/exim.conf" -odi -f bob@example.test alice@example.test || true

    i=0
    while [ $i -lt 90 ] && ! grep -q 'retry timeout exceeded' "$E/log/mainlog" 2>/dev/null; do
        sleep 1; i=$((i + 1))
    done
    sleep 6
    kill "$(cat "$E/exim.pid")"
    pkill_sinks
    sleep 1
    anonymize <"$E/log/mainlog" >"$OUT/exim-mainlog"
    if [ -s "$E/log/rejectlog" ]; then anonymize <"$E/log/rejectlog" >"$OUT/exim-rejectlog"; fi
    say "exim: $(wc -l <"$OUT/exim-mainlog") lines"
}

# --------------------------------------------------------------------------
# Dovecot: IMAP, POP3 and LMTP on loopback, logging to a file.
# --------------------------------------------------------------------------
dovecot_run() {
    say dovecot
    D=$W/dovecot
    [ -f "$D/dovecot.conf" ] && doveadm -c "$D/dovecot.conf" stop >/dev/null 2>&1 || true
    sleep 1
    rm -rf "$D"; mkdir -p "$D/run" "$D/state" "$D/mail"
    ensure_user alice; ensure_user bob
    chmod 1777 "$D/mail"
    {
        echo "alice:{PLAIN}alice-secret:$(id -u alice):$(id -g alice)::$D/mail/alice"
        echo "bob:{PLAIN}bob-secret:$(id -u bob):$(id -g bob)::$D/mail/bob"
    } >"$D/users"
    cat >"$D/dovecot.conf" <<DOVECONF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
info_log_path = $D/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1, ::1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN $D/users
}
userdb {
  driver = passwd-file
  args = $D/users
}
service imap-login {
  inet_listener imap {
    port = $DC_IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $DC_POP
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DC_LMTP
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}
${DC_EXTRA_CONF:-}
DOVECONF
    dovecot -c "$D/dovecot.conf"
    wait_for_port 127.0.0.1 "$DC_IMAP"
    wait_for_port 127.0.0.1 "$DC_LMTP"
    DC_IMAP=$DC_IMAP DC_POP=$DC_POP DC_LMTP=$DC_LMTP /usr/bin/python3 "$HERE/dovecot-clients.py"
    sleep 1
    doveadm -c "$D/dovecot.conf" stop || true
    sleep 1
    anonymize <"$D/dovecot.log" >"$OUT/${DC_LOG:-dovecot.log}"
    say "dovecot: $(wc -l <"$OUT/${DC_LOG:-dovecot.log}") lines"
}

start_sinks() {
    # Two peers: one that accepts everything, one that refuses every RCPT.
    smtp-sink -u postfix 127.0.0.1:$SINK_OK 50 &
    echo $! >"$W/sink-ok.pid"
    smtp-sink -u postfix -f rcpt 127.0.0.1:$SINK_REJ 50 &
    echo $! >"$W/sink-rej.pid"
}

pkill_sinks() {
    for f in "$W/sink-ok.pid" "$W/sink-rej.pid"; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
}

# The host name of the machine that ran this is of no use in test data.
anonymize() {
    h=$(hostname)
    sed -E -e "s/ $h / mail /" -e "s/@$h([^A-Za-z0-9.-]|\$)/@client.example.test\1/g"
}

[ $# -eq 0 ] && set -- postfix exim dovecot
for what in "$@"; do
    case "$what" in
    postfix) postfix_run ;;
    exim) exim_run ;;
    dovecot) dovecot_run ;;
    # The same clients with auth_verbose = yes: the auth process logs each
    # failure too (issue 13: a report must not count them twice).
    dovecot-verbose) DC_EXTRA_CONF="auth_verbose = yes" DC_LOG=dovecot-auth-verbose.log dovecot_run ;;
    *) echo "usage: $0 [postfix|exim|dovecot|dovecot-verbose ...]" >&2; exit 2 ;;
    esac
done
