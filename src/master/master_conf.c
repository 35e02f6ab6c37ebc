/*
 * master_conf - the checked configuration and its snapshot; see
 * master_conf.h.
 */
#include "master/master_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

static int mcf_fd = -1;

typedef struct {
    mail_conf_report_fn report;
    void *ctx;
    int bad;
} master_conf_count;

static void master_conf_counted(const char *path, int line, const char *text,
                                void *ctx)
{
    master_conf_count *c = ctx;
    if (strncmp(text, "unknown parameter:", 18) != 0)
        c->bad++;
    c->report(path, line, text, c->ctx);
}

/* A new sealed memory file holding text; -1 (logged) when it cannot be
 * made.  Sealed so that no service, which shares the open file with
 * master, can change what the next one reads. */
static int master_conf_snapshot(const char *text)
{
    int fd = memfd_create("postie.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        msg_warn("memfd_create: %m: services started later read postie.conf itself");
        return -1;
    }
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            msg_warn("write the configuration snapshot: %m");
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        msg_warn("seal the configuration snapshot: %m");
        close(fd);
        return -1;
    }
    return fd;
}

int master_conf_load(mail_conf_report_fn report, void *ctx)
{
    char *path = fs_join(mail_conf_dir(), MAIL_CONF_FILE);
    /* One read: what is checked is what runs and what the services get,
     * even if the file changes again meanwhile. */
    char *text = conf_read_file(path);
    if (text == NULL) {
        char msg[512];
        snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
        report(path, 0, msg, ctx);
        mem_free(&path);
        return 1;
    }
    mem_free(&path);
    master_conf_count c = {report, ctx, 0};
    mail_conf_check_text(text, master_conf_counted, &c);
    if (c.bad > 0) {
        mem_free(&text);
        return c.bad;
    }
    mail_conf_read_text(text);
    int fd = master_conf_snapshot(text);
    mem_free(&text);
    if (mcf_fd >= 0)
        close(mcf_fd); /* the services that run keep their own copy */
    mcf_fd = fd;
    return 0;
}

int master_conf_fd(void)
{
    return mcf_fd;
}
