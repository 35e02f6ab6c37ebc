/*
 * logexplain - turn a parsed log line into words.
 *
 * Three tables drive it:
 *   - the enhanced status codes of RFC 3463 (class.subject.detail), with the
 *     later additions of RFC 4954, RFC 7372 and RFC 7505;
 *   - the four parts of Postfix's delays=a/b/c/d (postconf(5),
 *     "delays" in the delivery status record);
 *   - failure patterns: a phrase found in the reason text (what the remote
 *     server or the local agent said) gives the likely cause and what to
 *     check.  The phrases are the ones Postfix, Exim, Sendmail, qmail, DMA
 *     and Dovecot actually write; the causes and remedies are postie's own
 *     summary of common operator experience (seeds 000, 002, 003, 004).
 * The first matching pattern wins, so specific phrases come before general
 * ones.  Matching is a case-insensitive substring search: the reason texts
 * are short, and a table scan per failure line is cheap next to the I/O.
 *
 * What it does not do: decide a message's overall fate (logtrace does).
 */
#include "logtool/logexplain.h"

#include <stdio.h>
#include <strings.h>

/* ---- DSN codes (RFC 3463) -------------------------------------------------- */

static const char *const logexplain_subjects[8] = {
    "other or undefined",
    "addressing",
    "mailbox",
    "mail system",
    "network and routing",
    "mail delivery protocol",
    "message content or media",
    "security or policy",
};

typedef struct logexplain_detail {
    int subject, detail;
    const char *text;
} logexplain_detail;

/* clang-format off */
static const logexplain_detail logexplain_details[] = {
    {0, 0, "no more specific information"},
    {1, 0, "something is wrong with an address"},
    {1, 1, "the destination mailbox does not exist there (user unknown)"},
    {1, 2, "the destination domain or host does not exist or cannot take mail"},
    {1, 3, "the destination address is not valid syntax"},
    {1, 4, "the destination address is ambiguous"},
    {1, 5, "the destination address is valid (success detail)"},
    {1, 6, "the mailbox has moved and no forwarding address is known"},
    {1, 7, "the sender address is not valid syntax"},
    {1, 8, "the sender's domain is not valid or cannot receive replies"},
    {1, 10, "the recipient domain publishes a null MX: it takes no mail"},
    {2, 0, "something is wrong with the mailbox"},
    {2, 1, "the mailbox is disabled and does not accept messages"},
    {2, 2, "the mailbox is full (over quota)"},
    {2, 3, "the message is larger than this mailbox accepts"},
    {2, 4, "a mailing list expansion failed"},
    {3, 0, "the receiving mail system has a problem"},
    {3, 1, "the receiving mail system is out of storage"},
    {3, 2, "the receiving system is not accepting network mail now"},
    {3, 3, "the receiving system lacks a feature the message needs"},
    {3, 4, "the message is larger than the system accepts"},
    {3, 5, "the receiving system is configured wrongly"},
    {4, 0, "a network or routing problem"},
    {4, 1, "no answer from the host: connection refused or timed out"},
    {4, 2, "the connection was dropped during the transaction"},
    {4, 3, "a directory (DNS) lookup failed"},
    {4, 4, "no route: the domain has no usable MX, A or AAAA record"},
    {4, 5, "the mail system is congested"},
    {4, 6, "a routing loop was detected (the mail came back to this host)"},
    {4, 7, "the message stayed in the queue too long and expired"},
    {5, 0, "an SMTP protocol problem"},
    {5, 1, "a command was not recognised"},
    {5, 2, "a command had a syntax error"},
    {5, 3, "too many recipients in one transaction"},
    {5, 4, "a command argument was not valid"},
    {5, 5, "the protocol version is wrong"},
    {5, 6, "an authentication exchange line was too long"},
    {6, 0, "a problem with the content"},
    {6, 1, "the content type is not supported"},
    {6, 2, "a conversion was needed but is not allowed"},
    {6, 3, "a conversion was needed but is not possible"},
    {6, 4, "a conversion lost information"},
    {6, 5, "a conversion failed"},
    {7, 0, "refused by security or policy"},
    {7, 1, "delivery not authorised: refused by the receiver's policy (relay denied, blocklist, spam)"},
    {7, 2, "expanding this mailing list is not allowed"},
    {7, 3, "a needed security conversion is not possible"},
    {7, 4, "the security features are not supported"},
    {7, 5, "a cryptographic operation failed"},
    {7, 6, "the cryptographic algorithm is not supported"},
    {7, 7, "the message integrity check failed"},
    {7, 8, "the authentication credentials are wrong"},
    {7, 9, "the authentication mechanism is too weak"},
    {7, 10, "encryption (TLS) is needed"},
    {7, 11, "encryption is required for this authentication mechanism"},
    {7, 12, "a password transition is needed"},
    {7, 13, "the user account is disabled"},
    {7, 14, "a trust relationship is required"},
    {7, 15, "the priority level is too low"},
    {7, 16, "the message is too big for its priority"},
    {7, 17, "the mailbox owner has changed"},
    {7, 18, "the domain owner has changed"},
    {7, 19, "the required recipient verification cannot be done"},
    {7, 20, "no passing DKIM signature"},
    {7, 21, "no acceptable DKIM signature"},
    {7, 22, "no valid DKIM signature that matches the author"},
    {7, 23, "SPF validation failed: the sending host is not allowed for the sender's domain"},
    {7, 24, "SPF validation could not be done (DNS error)"},
    {7, 25, "the sending host's reverse DNS does not validate"},
    {7, 26, "several authentication checks (SPF, DKIM, DMARC) failed"},
    {7, 27, "the sender's domain publishes a null MX, so replies could not be delivered"},
};
/* clang-format on */

const char *logexplain_dsn_class(logstr dsn)
{
    if (dsn.p == NULL || dsn.n < 1)
        return "";
    switch (dsn.p[0]) {
    case '2': return "success";
    case '4': return "temporary failure (to be retried later)";
    case '5': return "permanent failure (not retried)";
    default: return "";
    }
}

int logexplain_dsn(logstr dsn, buf *out)
{
    /* class "." subject "." detail, each 1-3 digits */
    int part[3] = {0, 0, 0}, k = 0, digits = 0;
    for (size_t i = 0; i < dsn.n; i++) {
        char c = dsn.p[i];
        if (c >= '0' && c <= '9') {
            if (++digits > 3)
                return -1;
            part[k] = part[k] * 10 + (c - '0');
        } else if (c == '.' && digits > 0 && k < 2) {
            k++;
            digits = 0;
        } else
            return -1;
    }
    if (k != 2 || digits == 0 || (part[0] != 2 && part[0] != 4 && part[0] != 5))
        return -1;
    buf_printf(out, "%.*s: %s", (int)dsn.n, dsn.p, logexplain_dsn_class(dsn));
    if (part[0] == 2)
        return 0;
    if (part[1] <= 7)
        buf_printf(out, "; %s", logexplain_subjects[part[1]]);
    for (size_t i = 0; i < sizeof(logexplain_details) / sizeof(logexplain_details[0]); i++)
        if (logexplain_details[i].subject == part[1] &&
            logexplain_details[i].detail == part[2]) {
            buf_printf(out, ": %s", logexplain_details[i].text);
            break;
        }
    return 0;
}

const char *logexplain_status(enum logline_status s)
{
    switch (s) {
    case LOGS_SENT:
        return "delivered: the next hop (mailbox, program or server) took responsibility";
    case LOGS_DEFERRED:
        return "temporary failure: the message stays in the queue and is retried with back-off";
    case LOGS_BOUNCED:
        return "permanent failure: the recipient is given up and a bounce goes to the sender";
    case LOGS_EXPIRED:
        return "expired: retried too long (maximal_queue_lifetime) and returned to the sender";
    case LOGS_DELIVERABLE:
        return "address verification only: this address would be delivered";
    case LOGS_UNDELIVERABLE:
        return "address verification only: this address would bounce";
    case LOGS_SOFTBOUNCE:
        return "soft_bounce is on: a permanent failure was turned into a retry";
    case LOGS_DISCARDED:
        return "discarded on purpose: reported as delivered, but thrown away";
    default:
        return "";
    }
}

/* ---- delays=a/b/c/d -------------------------------------------------------- */

static const char *const logexplain_parts[4] = {
    "before the queue manager (receiving the message, cleanup, and any time "
    "waiting in the incoming or deferred queue)",
    "in the queue manager (waiting for a delivery agent: concurrency limits, "
    "a busy destination)",
    "connection setup (DNS lookup, TCP connect, greeting, EHLO, TLS)",
    "transmission (sending the message, or writing the mailbox)",
};

static const char *const logexplain_part_advice[4] = {
    "a slow client or content filter, or retries: the message waited in the "
    "deferred queue before this attempt",
    "the destination is throttled or the delivery agents are all busy; look "
    "at default_destination_concurrency_limit and earlier deferrals to the "
    "same destination",
    "slow DNS or an unreachable or slow-to-greet server; check the resolver "
    "and the network path to the next hop",
    "a slow or far receiver, a large message, or a slow disk for local "
    "delivery",
};

const char *logexplain_delay_part(int i)
{
    return i >= 0 && i < 4 ? logexplain_parts[i] : "";
}

int logexplain_delays(const logline *ll, buf *out)
{
    if (ll->delays[0] < 0)
        return -1;
    double sum = 0;
    int big = 0;
    for (int i = 0; i < 4; i++) {
        double v = ll->delays[i] < 0 ? 0 : ll->delays[i];
        sum += v;
        if (v > ll->delays[big])
            big = i;
    }
    double total = ll->delay >= 0 ? ll->delay : sum;
    buf_printf(out, "delay %.2gs in all:", total);
    static const char *const shortname[4] = {"a=before queue manager",
                                             "b=queue manager",
                                             "c=connection setup",
                                             "d=transmission"};
    for (int i = 0; i < 4; i++) {
        double v = ll->delays[i] < 0 ? 0 : ll->delays[i];
        buf_printf(out, "%s %s %.2gs", i ? "," : "", shortname[i], v);
        if (sum > 0)
            buf_printf(out, " (%.0f%%)", 100.0 * v / sum);
    }
    if (total < 1.0)
        buf_puts(out, "; all fast (under a second)");
    else
        buf_printf(out, "; most of the time was %s, which points to %s",
                   logexplain_parts[big], logexplain_part_advice[big]);
    return big;
}

/* ---- causes ------------------------------------------------------------------ */

/* clang-format off */
static const logexplain_cause logexplain_causes[] = {
    {"alias database unavailable",
     "the compiled alias database is missing or unreadable",
     "rebuild it (postie newaliases, or postalias /etc/aliases for Postfix) and reload"},
    {"aliases.db",
     "the compiled alias database is missing or unreadable",
     "rebuild it (postie newaliases, or postalias /etc/aliases for Postfix) and reload"},
    {"loops back to myself",
     "this host is the MX for the domain but does not list it as local",
     "add the domain to mydestination (or the virtual/relay domains), or fix the MX record"},
    {"mail forwarding loop",
     "the message came back to a host it already passed through",
     "look for aliases, .forward files or relays that point at each other"},
    {"too many hops",
     "the message passed too many relays (Received headers): a loop",
     "look for aliases, .forward files or relays that point at each other"},
    {"Host or domain name not found",
     "the recipient's domain or its mail host could not be found in DNS",
     "check /etc/resolv.conf, then dig DOMAIN MX and dig MAILHOST A / AAAA; a typo in the domain is common"},
    {"Name service error",
     "the DNS lookup failed (server unreachable or answered with an error)",
     "check /etc/resolv.conf and that the resolver answers: dig DOMAIN MX"},
    {"no MX host",
     "the domain publishes no usable mail server",
     "dig DOMAIN MX; the recipient's domain must fix its DNS, or the address has a typo"},
    {"null MX",
     "the domain says it takes no mail (null MX)",
     "the address cannot receive mail; ask the sender for another one"},
    {"Connection refused",
     "the receiving server is not listening on the SMTP port, or a firewall rejects the connection",
     "check that the server runs and listens (ss -tlnp | grep :25), inet_interfaces, and firewall rules; delivery will be retried"},
    {"Connection timed out",
     "the receiving host did not answer: down, or the traffic is dropped on the way",
     "check the network path and firewalls (outgoing port 25 is often blocked by providers); delivery will be retried"},
    {"connect timed out",
     "the receiving host did not answer: down, or the traffic is dropped on the way",
     "check the network path and firewalls; delivery will be retried"},
    {"No route to host",
     "there is no network route to the receiving host",
     "check routing (ip route) and the interface addresses; for IPv6 check that the host really has IPv6 connectivity"},
    {"Network is unreachable",
     "this host has no route to that network (often IPv6 without connectivity)",
     "check ip route; set inet_protocols to the protocols that work"},
    {"delivery temporarily suspended",
     "an earlier attempt to this destination failed, so the queue manager paused it",
     "look at the earlier deferral to the same destination for the real cause"},
    {"conversation with",
     "the remote server stopped answering during the SMTP conversation",
     "a slow or overloaded receiver, or a network problem; delivery will be retried"},
    {"lost connection",
     "the connection was closed in the middle of the transaction",
     "a network problem, a crashed or overloaded peer, or a client that gave up; check the other side's logs"},
    {"Relay access denied",
     "the client tried to send to a domain this server is not responsible for, without being allowed to relay",
     "put the client's network in mynetworks, or have the client authenticate on the submission port (587)"},
    {"relay not permitted",
     "the client tried to send to a domain this server is not responsible for, without being allowed to relay",
     "allow the client's network to relay, or have it authenticate"},
    {"Relaying denied",
     "the client tried to send to a domain this server is not responsible for, without being allowed to relay",
     "allow the client's network to relay, or have it authenticate"},
    {"authentication failed",
     "wrong user name or password, or the server could not reach its authentication service",
     "test the credentials (doveadm auth test USER), and check the auth socket path and permissions"},
    {"auth failed",
     "wrong user name or password",
     "test the credentials (doveadm auth test USER); repeated failures from one address are often password guessing"},
    {"Password mismatch",
     "wrong password",
     "test the credentials (doveadm auth test USER PASSWORD) or reset the password"},
    {"Authentication required",
     "the server requires login before it accepts mail",
     "configure the client to authenticate (SMTP AUTH on port 587)"},
    {"no shared cipher",
     "TLS failed: the two sides have no cipher in common",
     "check the TLS settings and certificate on both ends; an outdated client is common"},
    {"TLS is required",
     "the receiver requires encryption but TLS was not used",
     "configure a certificate and enable STARTTLS (smtp_tls_security_level / smtpd_tls_cert_file)"},
    {"Must issue a STARTTLS command first",
     "the receiver requires encryption but TLS was not used",
     "enable TLS for this destination"},
    {"certificate verification failed",
     "the remote certificate could not be verified",
     "check the certificate chain and names, and the CA bundle; or lower the TLS policy for this destination"},
    {"Quota exceeded",
     "the recipient's mailbox is over its quota",
     "the user must delete mail, or raise the quota"},
    {"over quota",
     "the recipient's mailbox is over its quota",
     "the user must delete mail, or raise the quota"},
    {"mailbox full",
     "the recipient's mailbox is full",
     "the user must delete mail, or raise the quota; for mbox make sure /var/mail has room"},
    {"mailbox is full",
     "the recipient's mailbox is full",
     "the user must delete mail, or raise the quota"},
    {"Disk quota exceeded",
     "the mailbox owner's disk quota is used up",
     "free space or raise the user's quota"},
    {"No space left on device",
     "a file system is full (queue or mailbox)",
     "free disk space (df -h); the queue needs room to accept mail"},
    {"insufficient system storage",
     "the receiving system is short of disk space",
     "free disk space on the receiving system (df -h)"},
    {"Insufficient system storage",
     "the receiving system is short of disk space",
     "free disk space on the receiving system (df -h)"},
    {"queue file write error",
     "the queue file could not be written (disk full, or a crashed cleanup)",
     "check free space and the logs of cleanup around that time"},
    {"Permission denied",
     "the delivery agent may not write the mailbox or read a file it needs",
     "check owner and mode of the mailbox, the Maildir (700) and its parents, and of /var/mail"},
    /* Before the recipient phrases: a greylisting policy service (postgrey,
     * Postfix's check_policy_service) answers through smtpd as
     * "450 4.2.0 <r>: Recipient address rejected: Greylisted, see ..." -
     * the recipient is fine, the first attempt is only delayed. */
    {"greylist",
     "greylisting: the receiver delays the first attempt from an unknown sender (the recipient is fine)",
     "nothing to do: a real server retries after a few minutes and is accepted; "
     "whitelist the sender or client in the greylisting service if the delay hurts"},
    /* Exim: the host failed earlier and its retry time has not come; Exim
     * does not even try it on this queue run (Exim spec, "Retry
     * configuration"). */
    {"retry time not reached",
     "an earlier delivery attempt to this host failed; Exim waits for the host's retry time "
     "and does not try it on this queue run",
     "find the first failure for this host (the earlier == or ** line); exinext HOST shows "
     "the next retry time; exim -M ID forces an attempt once the host is back"},
    /* Dovecot's LMTP/LDA answer to any storage error other than quota:
     * a temporary failure (451), retried by the MTA. */
    {"Internal error occurred",
     "the mailbox server (Dovecot) failed to store the message: a temporary error, retried",
     "read Dovecot's own log at the same time for the real error (permissions of the "
     "Maildir, a full disk, a broken index)"},
    /* Postfix qmgr's congestion warning (qmgr_clog_warn_time): "mail for
     * DEST is using up N of M active queue entries", then lines of advice. */
    {"active queue entries",
     "queue congestion: mail for one destination fills much of the active queue, because "
     "deliveries to it are slow or failing",
     "look at that destination's deferrals (postie log report, qshape deferred); raise its "
     "concurrency (transport_destination_concurrency_limit) or fix the slow host; the "
     "warning lines after it say which limit"},
    {"qmgr_clog_warn_time",
     "the end of the queue manager's congestion warning (the lines before it belong to it)",
     "read the 'is using up N of M active queue entries' line before it"},
    {"this may slow down other mail deliveries",
     "part of the queue manager's congestion warning",
     "read the 'is using up N of M active queue entries' line before it"},
    {"you may need to ",
     "advice that belongs to the queue manager's congestion warning just before it",
     "read the 'is using up N of M active queue entries' line before it"},
    {"so that Postfix ",
     "advice that belongs to the queue manager's congestion warning just before it",
     "read the 'is using up N of M active queue entries' line before it"},
    {"avoid flushing the whole queue",
     "advice that belongs to the queue manager's congestion warning just before it",
     "flush one message or destination, not the whole queue (postqueue -i ID, -s SITE)"},
    {"lots of deferred mail, that is bad for performance",
     "advice that belongs to the queue manager's congestion warning just before it",
     "flush one message or destination, not the whole queue (postqueue -i ID, -s SITE)"},
    {"does not resolve to address",
     "the client's reverse DNS name does not resolve back to its address (forward-confirmed "
     "reverse DNS fails): the client is logged as unknown",
     "nothing for you if the client is not yours; for your own client, fix its PTR and A "
     "records so that they match"},
    {"User unknown",
     "the recipient does not exist on the receiving system and no alias maps it",
     "check the address for typos; if it is local, create the user or add an alias and rebuild the aliases"},
    {"unknown user",
     "the recipient does not exist on the receiving system and no alias maps it",
     "check the address for typos; if it is local, create the user or add an alias and rebuild the aliases"},
    {"user unknown",
     "the recipient does not exist on the receiving system",
     "check the address for typos, or ask the recipient for the right one"},
    {"User doesn't exist",
     "the recipient does not exist on the receiving system",
     "check the address for typos, or ask the recipient for the right one"},
    {"does not exist",
     "the recipient does not exist on the receiving system",
     "check the address for typos, or ask the recipient for the right one"},
    {"No such user",
     "the recipient does not exist on the receiving system",
     "check the address for typos, or ask the recipient for the right one"},
    {"Unknown address",
     "the recipient does not exist on the receiving system",
     "check the address for typos, or ask the recipient for the right one"},
    {"Recipient address rejected",
     "the receiver refused this recipient (unknown, or not a domain it handles)",
     "read the rest of the reply; check the address and the receiver's domain settings"},
    {"Sender address rejected",
     "the receiver refused the sender address (unknown domain, or policy)",
     "make sure the sender's domain resolves (MX or A record) and that the sender may use it"},
    {"Helo command rejected",
     "the receiver refused the client's HELO/EHLO name",
     "send a fully qualified host name that resolves (myhostname)"},
    {"Client host rejected",
     "the receiver refused the connecting host (no reverse DNS, or policy)",
     "check the reverse DNS (PTR) of the sending address, and the receiver's access rules"},
    {"blocked using",
     "the client's address is on a DNS blocklist the receiver uses",
     "look the address up on the named list; fix the cause (open relay, infected host) and ask for delisting"},
    {"Spamhaus",
     "the sending address is on a Spamhaus blocklist",
     "look the address up at Spamhaus, fix the cause and request removal"},
    {"listed",
     "the sending address or domain is on a blocklist",
     "find which list, fix the cause and request removal"},
    {"try again later",
     "the receiver asks to retry later (greylisting, rate limit or a temporary problem)",
     "usually nothing: the retry succeeds; if it persists, read the full reply"},
    {"SPF",
     "the sending host is not allowed to send for the sender's domain (SPF)",
     "add this server's address to the domain's SPF record, or relay through a host that is listed"},
    {"DMARC",
     "the message failed the sender domain's DMARC policy",
     "sign with DKIM for the sender's domain and make SPF pass for it"},
    {"DKIM",
     "the DKIM signature is missing or does not verify",
     "check the signing setup and the published DKIM key"},
    {"reverse DNS",
     "the sending address has no matching reverse DNS (PTR) record",
     "ask the address's owner (often the hosting provider) to set a PTR that resolves back"},
    {"queue file size limit exceeded",
     "the message was larger than message_size_limit; the client got 552 5.3.4",
     "send a smaller message, or raise message_size_limit (0: no limit)"},
    {"message size exceeds",
     "the message is larger than the receiver accepts",
     "send a smaller message, or raise message_size_limit on the receiving side"},
    {"Message size exceeds",
     "the message is larger than the receiver accepts",
     "send a smaller message, or raise message_size_limit on the receiving side"},
    {"too large",
     "the message is larger than the receiver accepts",
     "send a smaller message, or raise the size limit on the receiving side"},
    {"Too many recipients",
     "the transaction had more recipients than the receiver allows",
     "lower the recipients per transaction, or raise the limit (smtpd_recipient_limit)"},
    {"Too many connections",
     "the receiver limits connections from one client",
     "lower the concurrency to that destination; the message will be retried"},
    {"rate limit",
     "the receiver is rate-limiting this sender",
     "lower the sending rate to that destination; the message will be retried"},
    {"spam",
     "the receiver's content filter classified the message as spam",
     "check the content, the sender's SPF/DKIM/DMARC and the sending address's reputation"},
    {"content rejected",
     "a content rule (header or body check, filter) refused the message",
     "see which rule matched; adjust the message or the rule"},
    {"Service unavailable",
     "the receiver refused by policy",
     "read the rest of the reply for the reason (blocklist, policy service)"},
    {"Mailbox unavailable",
     "the mailbox cannot take the message now",
     "retry later; if it persists, contact the recipient's administrator"},
    {"Local error in processing",
     "the receiving server had an internal problem",
     "retry later; if it persists, contact the receiving server's administrator"},
    {"timed out",
     "an operation took too long and was abandoned",
     "a slow peer or network; the message will be retried"},
    {"timeout after",
     "the client stopped talking in the middle of the session",
     "a slow or broken client, or a network problem; rarely a concern unless it is frequent"},
    {"too many errors after",
     "the client sent too many bad commands (often a scanner)",
     "nothing, unless a legitimate client is affected"},
    {"non-SMTP command",
     "the client sent something that is not SMTP (an HTTP request, a header line, binary data) and was disconnected",
     "nothing: a browser, a proxy or a scanner talking to the mail port; see smtpd_forbidden_commands"},
    {"disallowed <NUL>",
     "the client sent a NUL byte inside a command, which was refused",
     "nothing, unless a legitimate client is affected; then that client is broken"},
    {"malformed UTF-8",
     "the client sent a command with bytes that are not UTF-8 (latin-1, overlong forms), which was refused",
     "the client must send addresses in UTF-8 (RFC 6531); fix its character set"},
    {"improper command pipelining",
     "the client spoke before it was its turn (typical of spam software); with smtpd_forbid_unauth_pipelining it was disconnected (554 5.5.0)",
     "nothing, unless a legitimate client is affected; then set smtpd_forbid_unauth_pipelining = no or fix the client"},
    {"PREGREET",
     "the client spoke before the greeting (typical of spam software)",
     "nothing; postscreen refused it as designed"},
    /* master: a service process died; it starts a new one. */
    {"killed by signal",
     "a mail system process died on a signal (a crash, or killed by someone); master starts a new one",
     "read that pid's last lines before it (grep \"\\[PID\\]\" in the log); signal 11 (SIGSEGV) "
     "or 6 (SIGABRT) is a bug: report it with those lines; 9 is usually the OOM killer or an admin"},
    {" exit status ",
     "a mail system process exited with an error; master starts a new one",
     "read that pid's fatal: line just before it: usually bad configuration (postie config check)"},
    {"bad command startup",
     "a mail system process failed to start",
     "read the fatal/panic lines just before; often a configuration error (postie config check)"},
    {"Address already in use",
     "another program already listens on that port",
     "find it with ss -tlnp, stop it or change the port"},
    {"in reply to RCPT TO command",
     "the receiving server refused this recipient (its reply above says why)",
     "check the address; if the reply is unclear, the recipient's administrator can tell what their server objects to"},
    {"in reply to MAIL FROM command",
     "the receiving server refused the sender address",
     "check that the sender's domain exists and may send from this server (SPF); read the reply text"},
    {"in reply to end of DATA command",
     "the receiving server refused the message after seeing its content",
     "read the reply text: spam or virus filters, size or policy; change the content or ask the receiver"},
    {"in reply to DATA command",
     "the receiving server refused to take the message body",
     "read the reply text; often a policy decision about the sender or all recipients"},
    {"not found",
     "something the mail system needed was not found",
     "read the full text for the missing file, map or host"},
};
/* clang-format on */

/* Case-insensitive substring search in s (length n). */
static bool logexplain_has(const char *s, size_t n, const char *pat)
{
    size_t m = strlen(pat);
    if (m == 0 || m > n)
        return false;
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(s + i, pat, m) == 0)
            return true;
    return false;
}

static const logexplain_cause *logexplain_cause_in(logstr s)
{
    if (s.p == NULL || s.n == 0)
        return NULL;
    for (size_t i = 0; i < sizeof(logexplain_causes) / sizeof(logexplain_causes[0]); i++)
        if (logexplain_has(s.p, s.n, logexplain_causes[i].pattern))
            return &logexplain_causes[i];
    return NULL;
}

/* Fallbacks by DSN when no phrase matched. */
static const logexplain_cause logexplain_by_dsn[] = {
    {"5.1.1", "the recipient does not exist at the destination",
     "check the address for typos; for a local address create the user or an alias"},
    {"5.1.2", "the recipient's domain does not exist or takes no mail",
     "check the domain for typos; dig DOMAIN MX"},
    {"4.4.1", "the next hop did not answer",
     "check that the receiving server is up and reachable on port 25; delivery will be retried"},
    {"4.4.2", "the connection broke during the transaction",
     "a network problem or a restarting peer; delivery will be retried"},
    {"4.4.3", "a DNS lookup failed",
     "check the resolver (/etc/resolv.conf, dig DOMAIN MX)"},
    {"5.4.4", "the domain has no usable mail route (no MX, A or AAAA)",
     "check the domain's DNS; dig DOMAIN MX"},
    {"4.4.4", "the domain has no usable mail route right now",
     "check the domain's DNS; dig DOMAIN MX"},
    {"5.4.6", "a mail loop", "look for aliases or relays that point at each other"},
    {"4.7.1", "refused for now by policy (often greylisting)",
     "usually nothing: a retry later is normally accepted"},
    {"5.7.1", "refused by the receiver's policy (relay denied, blocklist, content)",
     "read the reply text; for relay problems check mynetworks and authentication"},
    {"4.2.2", "the mailbox is full", "the user must delete mail or get a larger quota"},
    {"5.2.2", "the mailbox is full", "the user must delete mail or get a larger quota"},
    {"5.3.4", "the message is too big", "send a smaller message or raise the limit"},
    {"5.2.3", "the message is too big for the mailbox", "send a smaller message or raise the limit"},
    {"4.3.0", "the local mail system had a problem (often a missing map or file)",
     "read the full text and the warning lines around it"},
    {"4.4.7", "the message expired in the queue", "find out why earlier attempts were deferred"},
};

/* postie's own login failures: the fix is postie's, not doveadm. */
static const logexplain_cause logexplain_postie_login = {
    "auth failed",
    "wrong user name or password (an unknown user fails the same way)",
    "check the name (postie user list) or reset the password (postie user passwd NAME); "
    "many failures from one address are password guessing: a fail2ban jail on this log "
    "(contrib/fail2ban) bans it, pop3d_auth_attempt_limit bounds the tries per connection"};

const logexplain_cause *logexplain_cause_find(const logline *ll)
{
    const logexplain_cause *c;
    if (ll->format == LOGF_POSTIE && ll->dovecot && ll->event == LOGE_LOGIN_FAIL)
        return &logexplain_postie_login;
    if ((c = logexplain_cause_in(ll->status_text)) != NULL)
        return c;
    if ((c = logexplain_cause_in(ll->reject_text)) != NULL)
        return c;
    if ((c = logexplain_cause_in(ll->severity_text)) != NULL)
        return c;
    if (ll->event == LOGE_LOST || ll->event == LOGE_LOGIN_FAIL ||
        ll->event == LOGE_POSTSCREEN || ll->event == LOGE_SASL_FAIL ||
        ll->event == LOGE_OTHER)
        if ((c = logexplain_cause_in(ll->body)) != NULL)
            return c;
    if (ll->dsn.n > 0)
        for (size_t i = 0; i < sizeof(logexplain_by_dsn) / sizeof(logexplain_by_dsn[0]); i++)
            if (logstr_eq(ll->dsn, logexplain_by_dsn[i].pattern))
                return &logexplain_by_dsn[i];
    return NULL;
}

/* ---- steps ---------------------------------------------------------------- */

typedef struct logexplain_comp {
    const char *name;
    const char *job;
} logexplain_comp;

static const logexplain_comp logexplain_comps[] = {
    {"smtpd", "SMTP server: receives mail from clients and other servers"},
    {"postscreen", "SMTP bouncer in front of smtpd: keeps spam robots out"},
    {"cleanup", "gives the message its queue ID, fixes headers, writes the queue file"},
    {"pickup", "takes locally submitted mail (sendmail command) into the queue"},
    {"qmgr", "queue manager: schedules deliveries, retries, removes finished mail"},
    {"local", "local delivery to mailboxes, aliases and .forward"},
    {"virtual", "delivery to virtual mailboxes"},
    {"smtp", "SMTP client: delivers to other servers"},
    {"lmtp", "LMTP client: delivers to a mailbox store such as Dovecot"},
    {"bounce", "writes delivery status notifications (bounces) to the sender"},
    {"error", "delivery agent that fails or defers mail on purpose"},
    {"anvil", "counts connections and rates per client"},
    {"postsuper", "queue administration command"},
    {"master", "starts and supervises the mail system processes"},
    {"pipe", "delivery to an external program"},
    {"trivial-rewrite", "address rewriting and routing"},
    {"tlsproxy", "TLS for postscreen"},
    {"dnsblog", "DNS blocklist lookups for postscreen"},
    {"qmail-send", "qmail's queue manager: schedules local and remote deliveries"},
    {"qmail", "qmail's queue manager: schedules local and remote deliveries"},
    {"dma", "DragonFly Mail Agent: a small submission and delivery agent"},
    {"exim", "Exim: receives, routes and delivers mail"},
    {"sendmail", "Sendmail: receives, routes and delivers mail"},
    {"sm-mta", "Sendmail's SMTP daemon"},
    {"pop3d", "POP3 server: users fetch their mail; a login phase, then the logged-in session"},
    {"imapd", "IMAP server: users read their mail; a login phase, then the logged-in session"},
    {"user", "the user administration command (postie user)"},
    {"newaliases", "rebuilds the alias database"},
    {"imap-login", "Dovecot's IMAP login process (before authentication)"},
    {"pop3-login", "Dovecot's POP3 login process (before authentication)"},
    {"submission-login", "Dovecot's submission login process"},
    {"imap", "Dovecot's IMAP session of a logged-in user"},
    {"pop3", "Dovecot's POP3 session of a logged-in user"},
    {"auth", "Dovecot's authentication service"},
};

const char *logexplain_component(const logline *ll)
{
    for (size_t i = 0; i < sizeof(logexplain_comps) / sizeof(logexplain_comps[0]); i++)
        if (logstr_eq(ll->program, logexplain_comps[i].name)) {
            if (ll->format == LOGF_DOVECOT && strcmp(logexplain_comps[i].name, "lmtp") == 0)
                return "Dovecot's LMTP server: stores delivered mail in mailboxes";
            return logexplain_comps[i].job;
        }
    if (logstr_eq(ll->program, "lmtp") || logstr_eq(ll->program, "lda"))
        return "Dovecot's delivery agent: stores mail in mailboxes";
    return NULL;
}

/*
 * Lines without an event of their own (LOGE_OTHER) that postie (and
 * Postfix) write: a phrase of the body gives the step.  Every line of
 * docs/logging.md must get a specific step (tests/e2e/
 * test_log_explain_documented_lines.py).
 */
typedef struct logexplain_other {
    const char *phrase;
    const char *step;
} logexplain_other;

static const logexplain_other logexplain_others[] = {
    {"improper command pipelining after",
     "the client sent commands before the server's reply (talk before the greeting, or "
     "pipelining where it is not allowed): typical of spam robots"},
    {"connection slots full (",
     "every smtpd connection slot was taken: this client is served, and an idle connection "
     "of the address holding the most slots is closed to make room (a flood of slow "
     "connections, see smtpd_connection_limit)"},
    {"evicted idle connection after ",
     "this idle connection was closed (421 4.7.0) so that a client from another address "
     "could be served: its address held the most slots while they were full"},
    {"added user ", "a mail user was added (postie user add)"},
    {"changed the password of user ", "a mail user's password was changed (postie user passwd)"},
    {"removed user ", "a mail user was removed (postie user del); the mailbox is kept"},
    {": checked", "the alias database was checked and rebuilt (newaliases)"},
    {"Deleted: ", "summary of a queue administration command: messages deleted"},
    {"Placed on hold: ", "summary of a queue administration command: messages put on hold"},
    {"Released from hold: ", "summary of a queue administration command: messages released"},
    {"Requeued: ", "summary of a queue administration command: messages requeued"},
    {"trying again without TLS",
     "the TLS handshake failed; the delivery is tried again in clear text "
     "(smtp_tls_security_level = may)"},
    {"SSL_accept error from ",
     "the client's TLS handshake after STARTTLS failed (not TLS, an old protocol, no "
     "common cipher) or the client hung up during it: the session ends"},
    {"undeliverable postmaster notification discarded",
     "a notice to postmaster could not be delivered: dropped, so that notices cannot loop"},
    {"is below RFC 1939's 10 minutes",
     "start-up note: pop3d_timeout is shorter than RFC 1939 section 3 asks (a test "
     "configuration)"},
};

static bool logexplain_exim_bounce(const logline *ll)
{
    return ll->format == LOGF_EXIM && ll->event == LOGE_QUEUED && ll->from.p != NULL &&
           ll->from.n == 0 && ll->new_queue_id.n > 0;
}

const char *logexplain_step(const logline *ll)
{
    switch (ll->event) {
    case LOGE_CONNECT: return "session opened: a client connected";
    case LOGE_DISCONNECT: return "session closed";
    case LOGE_LOST:
        if (ll->dovecot && logexplain_has(ll->body.p, ll->body.n, "no auth attempts"))
            return "the client left the login phase without trying a password";
        if (ll->dovecot)
            return "the login phase ended without a login";
        return "session ended abnormally";
    case LOGE_TLS: return "TLS established";
    case LOGE_SASL_FAIL: return "login failed (SMTP AUTH)";
    case LOGE_POSTSCREEN: return "postscreen verdict";
    case LOGE_ANVIL: return "connection statistics";
    case LOGE_CLIENT: return "message received from a client, queue ID given";
    case LOGE_PICKUP:
        if (ll->format == LOGF_QMAIL)
            return "new message in the queue";
        return "message submitted locally";
    case LOGE_MESSAGE_ID: return "cleanup: headers done, Message-ID recorded";
    case LOGE_QUEUED:
        if (logexplain_exim_bounce(ll))
            return "a bounce (from <>) that Exim made about the message R= names, queued";
        if (ll->format == LOGF_EXIM)
            return "message received and queued";
        if (ll->format == LOGF_SENDMAIL)
            return "message received and queued (sender, size, recipients)";
        if (ll->format == LOGF_QMAIL)
            return "message queued (sender, size; qp = the qmail-queue process)";
        if (ll->format == LOGF_DMA)
            return "message accepted for delivery";
        return "queue manager took the message (sender, size, recipients)";
    case LOGE_DELIVERY_START: return "delivery attempt started";
    case LOGE_DELIVERY:
        switch (ll->status) {
        case LOGS_SENT: return ll->format == LOGF_DOVECOT ? "stored in the mailbox" : "delivered";
        case LOGS_DEFERRED: return "delivery deferred (temporary failure)";
        case LOGS_BOUNCED: return "delivery failed (permanent)";
        case LOGS_EXPIRED: return "expired";
        case LOGS_DISCARDED: return "discarded";
        default: return "delivery attempt";
        }
    case LOGE_HOST_SAID: return "the remote server answered with an error";
    case LOGE_BOUNCE: return "notification (bounce) created as a new message";
    case LOGE_EXPIRED: return "gave up: the message is returned to the sender";
    case LOGE_REMOVED: return "removed from the queue: done";
    case LOGE_REJECT: return "rejected";
    case LOGE_HOLD: return "put on hold";
    case LOGE_RELEASED: return "released from hold";
    case LOGE_REQUEUED: return "requeued by the administrator";
    case LOGE_DISCARD: return "discarded";
    case LOGE_FILTER: return "sent through a content filter / redirected";
    case LOGE_WARNING: return "warning";
    case LOGE_ERROR: return "error";
    case LOGE_FATAL: return "fatal error: the process exited";
    case LOGE_PANIC: return "panic: a bug or broken invariant";
    case LOGE_QMAIL_STATUS: return "delivery slots in use";
    case LOGE_LOGIN: return "mailbox login";
    case LOGE_LOGIN_FAIL: return "mailbox login failed";
    case LOGE_LOGOUT: return "mailbox session ended";
    case LOGE_OTHER:
        if (logexplain_has(ll->body.p, ll->body.n, "daemon started"))
            return "the mail system started";
        if (logexplain_has(ll->body.p, ll->body.n, "terminating on signal"))
            return "the mail system is stopping";
        if (ll->body.n >= 6 && memcmp(ll->body.p, "reload", 6) == 0)
            return "the configuration was reloaded";
        if (ll->body.n >= 11 && memcmp(ll->body.p, "connect to ", 11) == 0)
            return "a connection attempt to the next hop failed";
        for (size_t i = 0; i < sizeof(logexplain_others) / sizeof(logexplain_others[0]); i++)
            if (logexplain_has(ll->body.p, ll->body.n, logexplain_others[i].phrase))
                return logexplain_others[i].step;
        if (ll->format == LOGF_DMA && ll->relay.p != NULL)
            return "connecting to the next hop";
        if (ll->format == LOGF_DMA && ll->to.p != NULL)
            return "recipient queued";
        return "other";
    default: return "not understood";
    }
}

static void logexplain_field(buf *out, const char *name, logstr v)
{
    if (v.p != NULL)
        buf_printf(out, " %s=%.*s", name, (int)v.n, v.p);
}

/* A NUL-terminated copy of s (at most size - 1 bytes), for sscanf. */
static const char *logexplain_cstr(logstr s, char *b, size_t size)
{
    size_t n = s.p != NULL ? (s.n < size - 1 ? s.n : size - 1) : 0;
    if (n > 0)
        memcpy(b, s.p, n);
    b[n] = '\0';
    return b;
}

/*
 * qmail's numbers (seed 001): "status: local 1/10 remote 0/255" are the
 * delivery slots in use of concurrencylocal / concurrencyremote; a local
 * success's "did_0+0+1" counts what qmail-local did: stored in Maildirs or
 * mbox files, forwarded to addresses, given to programs (.qmail lines).
 */
static void logexplain_qmail(const logline *ll, buf *out)
{
    if (ll->format != LOGF_QMAIL)
        return;
    char b[256];
    int lu, lm, ru, rm;
    if (ll->event == LOGE_QMAIL_STATUS) {
        const char *t = logexplain_cstr(ll->raw, b, sizeof(b));
        const char *st = strstr(t, "status: local ");
        if (st != NULL && sscanf(st, "status: local %d/%d remote %d/%d", &lu, &lm, &ru, &rm) == 4)
            buf_printf(out, "  slots: %d of %d local deliveries running (concurrencylocal), "
                            "%d of %d remote (concurrencyremote); all slots busy means "
                            "deliveries wait\n", lu, lm, ru, rm);
        return;
    }
    if (ll->event == LOGE_DELIVERY) {
        const char *t = logexplain_cstr(ll->raw, b, sizeof(b));
        const char *d = strstr(t, "did_");
        int st, fw, pr;
        if (d != NULL && sscanf(d, "did_%d+%d+%d", &st, &fw, &pr) == 3)
            buf_printf(out, "  did_%d+%d+%d: qmail-local stored the message in %d mailbox%s, "
                            "forwarded it to %d address%s and gave it to %d program%s "
                            "(the lines of the .qmail file)\n", st, fw, pr, st,
                       st == 1 ? "" : "es", fw, fw == 1 ? "" : "es", pr, pr == 1 ? "" : "s");
    }
}

void logexplain_line(const logline *ll, buf *out)
{
    if (ll->binary) {
        buf_puts(out, "  binary data (control bytes), skipped\n");
        return;
    }
    if (ll->event == LOGE_UNKNOWN) {
        buf_puts(out, "  not a mail log line postie knows\n");
        return;
    }
    if (ll->format == LOGF_OTHER) {
        buf_printf(out, "  a syslog line of another program (%.*s), not part of the mail flow\n",
                   (int)ll->program.n, ll->program.p ? ll->program.p : "");
        return;
    }
    const char *fname = logline_format_name(ll->format);
    buf_printf(out, "  %s", fname);
    if (ll->program.p != NULL && !logstr_eq(ll->program, fname))
        buf_printf(out, " %.*s", (int)ll->program.n, ll->program.p);
    const char *comp = logexplain_component(ll);
    if (comp != NULL)
        buf_printf(out, " (%s)", comp);
    buf_printf(out, ": %s\n", logexplain_step(ll));
    if (ll->event == LOGE_OTHER && ll->format == LOGF_OTHER)
        return;

    size_t mark = out->len;
    buf_puts(out, "  fields:");
    logexplain_field(out, "queue_id", ll->queue_id);
    if (ll->noqueue)
        buf_puts(out, " queue_id=NOQUEUE(no queue file yet)");
    /* The syslog name only when it is not the plain default. */
    if ((ll->format == LOGF_POSTFIX || ll->format == LOGF_POSTIE) &&
        !logstr_eq(ll->sysname, "postfix") && !logstr_eq(ll->sysname, "postie"))
        logexplain_field(out, "instance", ll->sysname);
    logexplain_field(out, "client", ll->client_host);
    logexplain_field(out, "addr", ll->client_addr);
    logexplain_field(out, "user", ll->user);
    logexplain_field(out, "sasl_user", ll->sasl_username);
    logexplain_field(out, "message_id", ll->message_id);
    logexplain_field(out, "from", ll->from);
    logexplain_field(out, "to", ll->to);
    logexplain_field(out, "orig_to", ll->orig_to);
    logexplain_field(out, "relay", ll->relay);
    if (ll->size >= 0)
        buf_printf(out, " size=%lld", ll->size);
    if (ll->nrcpt >= 0)
        buf_printf(out, " nrcpt=%ld", ll->nrcpt);
    logexplain_field(out, "stage", ll->stage);
    /* Exim's bounce arrival "<= <> R=PARENT": R= names the message the
     * bounce is about, not a new one. */
    bool exim_bounce = logexplain_exim_bounce(ll);
    if (exim_bounce)
        logexplain_field(out, "parent", ll->new_queue_id);
    else
        logexplain_field(out, "new_queue_id", ll->new_queue_id);
    if (ll->delivery_no >= 0)
        buf_printf(out, " delivery=%ld", ll->delivery_no);
    logexplain_field(out, "tls", ll->tls);
    if (ll->dovecot)
        logexplain_field(out, "session", ll->uid);
    if (out->len == mark + 9)
        buf_truncate(out, mark);
    else
        buf_putc(out, '\n');

    if (ll->event == LOGE_DISCONNECT && ll->counters.p != NULL) {
        buf_printf(out, "  counters: %.*s (how often the client sent each SMTP command; "
                        "N/M means N of M succeeded", (int)ll->counters.n, ll->counters.p);
        if (ll->commands_bad > 0)
            buf_printf(out, "; %ld of %ld failed", ll->commands_bad, ll->commands);
        buf_puts(out, ")\n");
    }
    logexplain_qmail(ll, out);
    if (ll->event == LOGE_LOGOUT && ll->counters.p != NULL)
        buf_printf(out, "  counters: %.*s (POP3: top/retr = messages/octets sent, del = deleted of "
                        "those in the mailbox, size = the mailbox; IMAP: octets in/out and "
                        "messages deleted or expunged)\n",
                   (int)ll->counters.n, ll->counters.p);
    if (ll->delays[0] >= 0) {
        buf_puts(out, "  ");
        logexplain_delays(ll, out);
        buf_putc(out, '\n');
    }
    if (ll->status != LOGS_NONE)
        buf_printf(out, "  status: %s\n", logexplain_status(ll->status));
    if (ll->dsn.p != NULL) {
        buf_puts(out, "  dsn ");
        if (logexplain_dsn(ll->dsn, out) != 0)
            buf_printf(out, "%.*s (not a standard code)", (int)ll->dsn.n, ll->dsn.p);
        buf_putc(out, '\n');
    }
    bool problem = ll->status == LOGS_DEFERRED || ll->status == LOGS_BOUNCED ||
                   ll->status == LOGS_EXPIRED || ll->status == LOGS_UNDELIVERABLE ||
                   ll->status == LOGS_SOFTBOUNCE ||
                   (ll->event >= LOGE_LOST && ll->event <= LOGE_SASL_FAIL) ||
                   ll->event == LOGE_HOST_SAID || ll->event == LOGE_REJECT ||
                   ll->event == LOGE_EXPIRED || ll->event == LOGE_WARNING ||
                   ll->event == LOGE_ERROR || ll->event == LOGE_FATAL ||
                   ll->event == LOGE_PANIC || ll->event == LOGE_LOGIN_FAIL;
    /* smtp's "connect to host[addr]:25: Connection refused" has no queue ID
     * but says why deliveries are deferred. */
    if (ll->event == LOGE_OTHER && ll->body.n >= 11 && memcmp(ll->body.p, "connect to ", 11) == 0)
        problem = true;
    if (problem) {
        const logexplain_cause *c = logexplain_cause_find(ll);
        if (c != NULL)
            buf_printf(out, "  likely cause: %s\n  check: %s\n", c->cause, c->check);
    }
    if (ll->truncated)
        buf_puts(out, "  note: the line looks cut off; some fields may be missing\n");
}
