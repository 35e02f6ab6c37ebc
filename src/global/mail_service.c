/*
 * mail_service - common service start-up; see mail_service.h.
 */
#include "global/mail_service.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/mem.h"
#include "util/msg.h"

volatile sig_atomic_t mail_service_stop;
volatile sig_atomic_t mail_service_reload;

static void mail_service_on_term(int sig)
{
    mail_service_stop = 1;
}

static void mail_service_on_hup(int sig)
{
    mail_service_reload = 1;
}

static void mail_service_logging(const char *name, bool command)
{
    msg_init(name);
    msg_set_syslog_name(var_str("syslog_name"));
    msg_set_hostname(var_str("myhostname"));
    msg_set_time_format(var_bool("maillog_file_rfc3339") ? MSG_TIME_RFC3339
                                                         : MSG_TIME_TRADITIONAL);
    char *path = var_path("maillog_file");
    if (*path == '\0') {
        msg_use_syslog();
    } else if (msg_open_file(path) < 0) {
        if (!command)
            msg_fatal("open maillog_file %s: %m", path);
        msg_stderr_only(); /* a command still works; it just cannot log */
    }
    mem_free(&path);
    msg_set_stderr(command);
}

void mail_service_init(const char *name)
{
    mail_conf_read();
    mail_service_logging(name, false);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = mail_service_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = mail_service_on_hup;
    sigaction(SIGHUP, &sa, NULL);
}

void mail_command_init(const char *name)
{
    mail_conf_read();
    mail_service_logging(name, true);
}

int mail_service_listen_fds(int *first_r)
{
    const char *s = getenv("LISTEN_FDS");
    *first_r = 3;
    if (s == NULL)
        return 0;
    int n = atoi(s);
    return n > 0 ? n : 0;
}
