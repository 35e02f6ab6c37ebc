/*
 * queue_cmd_test - the client end of the showq protocol (queue_cmd.h):
 * a listing is passed on only with its frame; no answer, a foreign
 * answer or one cut short is an error with its reason, never an empty
 * queue.  A forked server on a unix socket in a temporary queue plays
 * pickup's showq child.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/queue_cmd.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

static char qdir[] = "/tmp/queue_cmd_test.XXXXXX";

/* Serve one connection: read the request line, write answer (len bytes)
 * one byte at a time when slow (marks split across reads), close. */
static pid_t serve_once(const char *answer, size_t len, bool slow)
{
    char path[100]; /* fits sun_path */
    snprintf(path, sizeof(path), "%s/public/showq", qdir);
    unlink(path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(ls, 1) < 0) {
        perror("showq test server");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(ls, NULL, NULL);
        char ch;
        while (c >= 0 && read(c, &ch, 1) == 1 && ch != '\n')
            ;
        for (size_t i = 0; c >= 0 && i < len; i += slow ? 1 : len)
            (void)fs_write_all(c, answer + i, slow ? 1 : len);
        _exit(0);
    }
    close(ls);
    return pid;
}

/* Run the client with its stdout in a file; the copied listing back. */
static int ask(const char *answer, size_t len, bool slow, char *why, size_t whylen,
               char **out_r)
{
    pid_t pid = serve_once(answer, len, slow);
    char out[200];
    snprintf(out, sizeof(out), "%s/out", qdir);
    int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int saved = dup(1);
    dup2(fd, 1);
    why[0] = '\0';
    int r = queue_cmd_showq(qdir, false, why, whylen);
    dup2(saved, 1);
    close(saved);
    close(fd);
    waitpid(pid, NULL, 0);
    *out_r = fs_read_file(out, 1 << 20, NULL);
    return r;
}

#define HELLO QUEUE_SHOWQ_HELLO
#define LISTING "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n" \
                "3F2A91C07B12     292 Mon Dec  7 12:56:51  a@b\n"

static void test_showq_answers(void)
{
    static const struct {
        const char *answer;
        size_t len;
        int want;
        const char *why;     /* substring of the reason */
        const char *out;     /* what reaches stdout */
    } cases[] = {
        {HELLO LISTING "\0ok\n", sizeof(HELLO LISTING "\0ok\n") - 1, 0, "", LISTING},
        {HELLO "Mail queue is empty\n" "\0ok\n", sizeof(HELLO "Mail queue is empty\n\0ok\n") - 1,
         0, "", "Mail queue is empty\n"},
        /* The service could not run the lister: its reason, no listing. */
        {HELLO "\0error cannot run /x/postie: Permission denied\n",
         sizeof(HELLO "\0error cannot run /x/postie: Permission denied\n") - 1,
         QUEUE_SHOWQ_FAILED, "cannot run /x/postie: Permission denied", ""},
        /* Nothing at all: the child died before it said a word. */
        {"", 0, QUEUE_SHOWQ_BROKEN, "no answer", ""},
        /* An old pickup running "queue list" without the frame. */
        {LISTING, sizeof(LISTING) - 1, QUEUE_SHOWQ_BROKEN, "no protocol greeting", ""},
        /* The lister died midway: what came is shown, and it is an error. */
        {HELLO LISTING, sizeof(HELLO LISTING) - 1, QUEUE_SHOWQ_BROKEN,
         "ended before its end mark", LISTING},
        /* An end mark cut short, or not of this protocol. */
        {HELLO "\0o", sizeof(HELLO "\0o") - 1, QUEUE_SHOWQ_BROKEN, "cut short", ""},
        {HELLO "\0maybe\n", sizeof(HELLO "\0maybe\n") - 1, QUEUE_SHOWQ_BROKEN,
         "unknown end mark", ""},
        /* Control characters of the service's text are not passed on. */
        {HELLO "\0error bad\033[2Jthing\n", sizeof(HELLO "\0error bad\033[2Jthing\n") - 1,
         QUEUE_SHOWQ_FAILED, "bad?[2Jthing", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int slow = 0; slow < 2; slow++) {
            char why[600];
            char *out = NULL;
            int r = ask(cases[i].answer, cases[i].len, slow, why, sizeof(why), &out);
            TEST_EQ_INT(r, cases[i].want);
            TEST_TRUE(strstr(why, cases[i].why) != NULL);
            TEST_EQ_STR(out, cases[i].out);
            mem_free(&out);
        }
    }
}

static void test_showq_down(void)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/public/showq", qdir);
    unlink(path);
    char why[600];
    TEST_EQ_INT(queue_cmd_showq(qdir, false, why, sizeof(why)), QUEUE_SHOWQ_DOWN);
    TEST_EQ_INT(errno, ENOENT);
}

int main(void)
{
    if (mkdtemp(qdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char pub[200];
    snprintf(pub, sizeof(pub), "%s/public", qdir);
    mkdir(pub, 0700);
    signal(SIGPIPE, SIG_IGN);
    TEST_RUN(test_showq_answers);
    TEST_RUN(test_showq_down);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", qdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", qdir);
    return test_done();
}
