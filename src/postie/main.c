/*
 * postie - one binary, many commands (and the names sendmail, mailq and
 * newaliases through links, DESIGN.md "Components").
 *
 * This file only finds the instance (-c DIR, $MAIL_CONFIG, /etc/postie) and
 * dispatches through a table; each command lives in its component.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "logtool/logtool.h"
#include "master/master.h"
#include "tools/queue_cmd.h"
#include "tools/sendmail.h"
#include "tools/tools.h"
#include "util/msg.h"

/*
 * The services master runs ("postie service NAME").  Each component declares
 * its entry in its header; the references are weak, and the binary links
 * every object, so a component that is not written yet is simply absent
 * (NULL) and master does not start it, instead of breaking the build of
 * everyone else.
 */
#if __has_include("smtpd/smtpd.h")
#include "smtpd/smtpd.h"
#else
int smtpd_service_main(int argc, char **argv);
#endif
#if __has_include("qmgr/qmgr.h")
#include "qmgr/qmgr.h"
#else
int qmgr_service_main(int argc, char **argv);
#endif
#if __has_include("local/local.h")
#include "local/local.h"
#else
int local_service_main(int argc, char **argv);
#endif
#if __has_include("pickup/pickup.h")
#include "pickup/pickup.h"
#else
int pickup_service_main(int argc, char **argv);
#endif
/* smtp and lmtp: one agent, two protocols (src/smtp, issue 4). */
#if __has_include("smtp/smtp.h")
#include "smtp/smtp.h"
#else
int smtp_service_main(int argc, char **argv);
int lmtp_service_main(int argc, char **argv);
#endif
#if __has_include("pop3d/pop3d.h")
#include "pop3d/pop3d.h"
#else
int pop3d_service_main(int argc, char **argv);
#endif
#pragma weak smtpd_service_main
#pragma weak qmgr_service_main
#pragma weak local_service_main
#pragma weak pickup_service_main
#pragma weak smtp_service_main
#pragma weak lmtp_service_main
#pragma weak pop3d_service_main

static const master_service_entry postie_services[] = {
    {"smtpd", smtpd_service_main},
    {"qmgr", qmgr_service_main},
    {"local", local_service_main},
    {"pickup", pickup_service_main},
    {"smtp", smtp_service_main},
    {"lmtp", lmtp_service_main},
    {"pop3d", pop3d_service_main},
    {"pop3s", pop3d_service_main},  /* the same program, implicit TLS */
    {NULL, NULL},
};

typedef struct postie_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} postie_cmd;

static int postie_help(int argc, char **argv);

/* clang-format off */
static const postie_cmd postie_cmds[] = {
    {"serve",      master_serve_main,  "serve [--dir DIR]: run the whole system in the foreground"},
    {"start",      master_start_main,  "start: run as a daemon"},
    {"stop",       master_stop_main,   "stop: stop the daemon"},
    {"status",     master_status_main, "status: is it running, and which services"},
    {"reload",     master_reload_main, "reload: re-read postie.conf"},
    {"service",    master_service_main, NULL},  /* internal: one service */
    {"config",     config_main,        "config [check|all|-n|-d|NAME...|-e 'NAME = VALUE'|-X NAME]: show, check or edit postie.conf"},
    {"user",       user_main,          "user add|del|list|passwd: virtual mail users"},
    {"newaliases", newaliases_main,    "newaliases: check and rebuild the alias files"},
    {"queue",      queue_main,         "queue [list|show|flush|deliver|delete|hold|release|requeue|shape]: the mail queue"},
    {"mailq",      mailq_main,         "mailq [-j]: list the mail queue (postqueue -p)"},
    {"sendmail",   sendmail_main,      "sendmail [-t] [-i] [-f SENDER] [RCPT...]: submit a message (-bp, -bs, -bv, -bi, -q too)"},
    {"postdrop",   postdrop_main,      NULL},  /* internal: the setgid maildrop helper */
    {"log",        logtool_main,       "log trace|explain|report|follow: read mail logs"},
    {"doctor",     doctor_main,        "doctor [--json] [--since DURATION]: run the troubleshooting workflow, step by step"},
    {"help",       postie_help,        "help: this list"},
    {NULL, NULL, NULL},
};
/* clang-format on */

static int postie_help(int argc, char **argv)
{
    printf("usage: postie [-c CONFIG_DIR] COMMAND [ARGS]\n\ncommands:\n");
    for (const postie_cmd *c = postie_cmds; c->name; c++)
        if (c->help)
            printf("  %s\n", c->help);
    return 0;
}

static const postie_cmd *postie_find(const char *name)
{
    for (const postie_cmd *c = postie_cmds; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int main(int argc, char **argv)
{
    static char *self; /* prog points into it for the process's life */
    self = strdup(argv[0]);
    const char *prog = basename(self);
    msg_init(prog);
    msg_stderr_only();

    /* Installed setgid (the postdrop copy, docs/architecture.md): the group
     * is for writing maildrop/ and nothing else.  argv[0] is the caller's
     * choice, so it cannot pick the command here: a setgid run is always
     * postdrop. */
    if (getegid() != getgid()) {
        mail_conf_set_dir(NULL);
        return postdrop_main(argc, argv);
    }

    /* Called as sendmail, mailq or newaliases: the link name is the command. */
    if (strcmp(prog, "postie") != 0) {
        const postie_cmd *c = postie_find(prog);
        if (c == NULL) {
            fprintf(stderr, "%s: this command is not available in this version of postie\n", prog);
            return 69; /* EX_UNAVAILABLE */
        }
        mail_conf_set_dir(NULL);
        return c->fn(argc, argv);
    }

    int i = 1;
    const char *dir = NULL;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            dir = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return postie_help(0, NULL);
        } else {
            fprintf(stderr, "postie: unknown option: %s\n", argv[i]);
            return 64; /* EX_USAGE */
        }
    }
    if (i >= argc) {
        postie_help(0, NULL);
        return 64;
    }
    const postie_cmd *c = postie_find(argv[i]);
    if (c == NULL) {
        fprintf(stderr, "postie: unknown command: %s (see: postie help)\n", argv[i]);
        return 64;
    }
    master_set_services(postie_services);
    if (dir != NULL)
        setenv("MAIL_CONFIG", dir, 1); /* children and helpers inherit it */
    mail_conf_set_dir(dir);
    return c->fn(argc - i, argv + i);
}
