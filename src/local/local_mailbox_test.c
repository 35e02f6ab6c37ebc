/*
 * local_mailbox_test - mboxrd quoting, the mbox entry layout, Maildir names,
 * the repeated Maildir delivery that must count as done, parallel
 * deliveries to one Maildir, and the mbox destinations that must be
 * refused at once: links, FIFOs, other owners' files and locks (issue 14).
 */
#include "local/local_maildir.h"
#include "local/local_mbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

static void test_local_mbox_quote_table(void)
{
    static const struct {
        const char *in;
        size_t len;   /* 0: strlen */
        const char *want;
    } cases[] = {
        {"hello\n", 0, "hello\n"},
        {"From me\n", 0, ">From me\n"},
        {">From me\n", 0, ">>From me\n"},
        {">>From me\n", 0, ">>>From me\n"},
        {"From\n", 0, "From\n"},              /* no space: not a separator */
        {"from me\n", 0, "from me\n"},        /* case matters (mbox(5)) */
        {" From me\n", 0, " From me\n"},
        {"a\nFrom b\nc", 0, "a\n>From b\nc\n"},  /* final LF added */
        {"x From y\n", 0, "x From y\n"},
        {">\n>F\n", 0, ">\n>F\n"},
        {"From a\nFrom b\n", 7, ">From a\n"},    /* stops at len */
        {"", 0, ""},
        {"\xe9t\xe9 From\n", 0, "\xe9t\xe9 From\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        FILE *in = fmemopen((void *)(uintptr_t)cases[i].in,
                            strlen(cases[i].in) + 1, "r");
        char *out = NULL;
        size_t outlen = 0;
        FILE *o = open_memstream(&out, &outlen);
        TEST_EQ_INT(local_mbox_quote(in, len, o), 0);
        fclose(o);
        fclose(in);
        TEST_EQ_STR(out, cases[i].want);
        free(out);
    }
}

static char *tmpdir(void)
{
    char t[] = "/tmp/local_mailbox_test.XXXXXX";
    TEST_TRUE(mkdtemp(t) != NULL);
    return mem_strdup(t);
}

/* A fake queue file: some junk, then the content at offset 4. */
static int content_fd(const char *dir, const char *content)
{
    char *p = fs_join(dir, "qf");
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "XXXX", 4);
    write(fd, content, strlen(content));
    write(fd, "\nE\n", 3);
    mem_free(&p);
    return fd;
}

static size_t count_dir(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

/* The release hook of local_maildir_deliver: counts its calls. */
static void test_release(void *ctx)
{
    (*(int *)ctx)++;
}

static void test_local_maildir_repeat_counts_as_done(void)
{
    char *dir = tmpdir();
    const char *content = "Subject: x\n\nbody\n.dot\n";
    int fd = content_fd(dir, content);
    local_msg m = {.fd = fd, .off = 4, .len = strlen(content),
                   .prepend = "Return-Path: <a@b>\nDelivered-To: c@d\n",
                   .sender = "a@b"};
    char *md = fs_join(dir, "Maildir");
    char *name = local_maildir_name(1763913600, "3F2A91C07B12", 0, "c@d", 60);
    char *name2 = local_maildir_name(1763913600, "3F2A91C07B12", 0, "C@D", 60);
    char *name3 = local_maildir_name(1763913600, "3F2A91C07B12", 1, "c@d", 60);
    TEST_EQ_STR(name, name2);              /* the address case does not count */
    TEST_TRUE(strcmp(name, name3) != 0);   /* another recipient index does */
    TEST_TRUE(strchr(name, '/') == NULL && strchr(name, ':') == NULL);
    TEST_TRUE(strncmp(name, "1763913600.3F2A91C07B12_0_", 26) == 0);
    local_fail f = {0};
    /* release is called once, on the first write; the repeat finds the
     * file in new/ and has nothing to wait for. */
    int released = 0;
    TEST_EQ_INT(local_maildir_deliver(md, name, &m, false, test_release,
                                      &released, &f), 0);
    TEST_EQ_INT(released, 1);
    TEST_EQ_INT(local_maildir_deliver(md, name, &m, false, test_release,
                                      &released, &f), 0);
    TEST_EQ_INT(released, 1);
    char *newd = fs_join(md, "new");
    char *tmpd = fs_join(md, "tmp");
    char *curd = fs_join(md, "cur");
    TEST_EQ_INT(count_dir(newd), 1);
    TEST_EQ_INT(count_dir(tmpd), 0);
    struct stat st;
    TEST_EQ_INT(stat(curd, &st), 0);
    char *file = fs_join(newd, name);
    size_t len;
    char *got = fs_read_file(file, 1 << 20, &len);
    TEST_EQ_STR(got, "Return-Path: <a@b>\nDelivered-To: c@d\n"
                     "Subject: x\n\nbody\n.dot\n");
    mem_free(&got);
    /* A reader moved it to cur/ with flags: a repeat finds it there, a
     * first attempt does not look (and writes a copy). */
    char *cur = fs_join(curd, name);
    char *curf = mem_alloc(strlen(cur) + 8);
    sprintf(curf, "%s:2,S", cur);
    TEST_EQ_INT(rename(file, curf), 0);
    TEST_EQ_INT(local_maildir_deliver(md, name, &m, true, NULL, NULL, &f), 0);
    TEST_EQ_INT(count_dir(newd), 0);
    TEST_EQ_INT(local_maildir_deliver(md, name, &m, false, NULL, NULL, &f), 0);
    TEST_EQ_INT(count_dir(newd), 1);
    mem_free(&cur);
    mem_free(&curf);
    /* An unwritable Maildir defers with 4.2.0 and leaves nothing. */
    if (geteuid() != 0) {
        chmod(tmpd, 0500);
        TEST_EQ_INT(local_maildir_deliver(md, name3, &m, false, NULL, NULL, &f), -1);
        TEST_EQ_STR(f.dsn, "4.2.0");
        mem_free(&f.text);
        chmod(tmpd, 0700);
    }
    mem_free(&file);
    mem_free(&newd);
    mem_free(&tmpd);
    mem_free(&curd);
    mem_free(&name);
    mem_free(&name2);
    mem_free(&name3);
    mem_free(&md);
    close(fd);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
    mem_free(&dir);
}

static void test_local_mbox_entry_layout(void)
{
    char *dir = tmpdir();
    const char *content = "Subject: x\n\nFrom here\n>From there\nend";
    int fd = content_fd(dir, content);
    local_msg m = {.fd = fd, .off = 4, .len = strlen(content),
                   .prepend = "Return-Path: <>\nDelivered-To: c@d\n",
                   .sender = ""};
    char *box = fs_join(dir, "c");
    local_fail f = {0};
    TEST_EQ_INT(local_mbox_deliver(box, &m, -1, -1, &f), 0);
    m.sender = "a@b";
    TEST_EQ_INT(local_mbox_deliver(box, &m, -1, -1, &f), 0);
    size_t len;
    char *got = fs_read_file(box, 1 << 20, &len);
    TEST_TRUE(got != NULL);
    if (got) {
        /* "From MAILER-DAEMON  Mon Nov 23 16:41:49 2026" */
        TEST_TRUE(strncmp(got, "From MAILER-DAEMON  ", 20) == 0);
        char *nl = strchr(got, '\n');
        TEST_EQ_INT(nl ? nl - got : 0, 20 + 24);
        const char *entry = "Return-Path: <>\nDelivered-To: c@d\nSubject: x\n\n"
                            ">From here\n>>From there\nend\n\n";
        TEST_TRUE(nl && strncmp(nl + 1, entry, strlen(entry)) == 0);
        const char *second = nl ? nl + 1 + strlen(entry) : "";
        TEST_TRUE(strncmp(second, "From a@b  ", 10) == 0);
        TEST_EQ_INT(len, 2 * (45 + strlen(entry)) - strlen("MAILER-DAEMON") +
                             strlen("a@b"));
    }
    char *lock = fs_join(dir, "c.lock");
    struct stat st;
    TEST_TRUE(stat(lock, &st) < 0); /* the dotlock is gone */
    mem_free(&lock);
    mem_free(&got);
    /* A symbolic link is never followed. */
    char *link = fs_join(dir, "evil");
    symlink(box, link);
    TEST_EQ_INT(local_mbox_deliver(link, &m, -1, -1, &f), -1);
    TEST_EQ_STR(f.dsn, "4.2.0");
    mem_free(&f.text);
    mem_free(&link);
    mem_free(&box);
    close(fd);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
    mem_free(&dir);
}

/* Unsafe mbox destinations (issue 14): each is refused with 4.2.0 and a
 * reason, within a few seconds (a FIFO used to block the open until the
 * delivery timeout, a refreshed foreign lock to be honoured for 60 s),
 * and nothing is written to it or taken over.  The cases that need
 * another owner run as root only. */
enum { MB_FIFO, MB_HARDLINK, MB_DIR, MB_SYMLINK, MB_FOREIGN_EMPTY, MB_FOREIGN_FULL,
       MB_LOCK_DIR, MB_LOCK_SYMLINK, MB_LOCK_FOREIGN };

static void test_local_mbox_unsafe_destinations_refused(void)
{
    static const struct {
        int kind;
        bool root;
        const char *want; /* in the status text */
    } cases[] = {
        {MB_FIFO, false, "is not a regular file"},
        {MB_HARDLINK, false, "has 2 hard links"},
        {MB_DIR, false, "is not a regular file"},
        {MB_SYMLINK, false, "is a symbolic link"},
        {MB_FOREIGN_EMPTY, true, "is not owned by recipient"},
        {MB_FOREIGN_FULL, true, "is not owned by recipient"},
        {MB_LOCK_DIR, false, "is not a regular file"},
        {MB_LOCK_SYMLINK, false, "is not a regular file"},
        {MB_LOCK_FOREIGN, true, "is owned by uid 65534, not by the recipient"},
    };
    const uid_t other = 65534;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].root && geteuid() != 0)
            continue;
        char *dir = tmpdir();
        int fd = content_fd(dir, "Subject: x\n\nsecret\n");
        local_msg m = {.fd = fd, .off = 4, .len = 20, .prepend = "", .sender = "a@b"};
        char *box = fs_join(dir, "alice");
        char *lock = fs_join(dir, "alice.lock");
        char *other_file = fs_join(dir, "other");
        int ofd = open(other_file, O_WRONLY | O_CREAT, 0666);
        close(ofd);
        switch (cases[i].kind) {
        case MB_FIFO: TEST_EQ_INT(mkfifo(box, 0666), 0); break;
        case MB_HARDLINK: TEST_EQ_INT(link(other_file, box), 0); break;
        case MB_DIR: TEST_EQ_INT(mkdir(box, 0700), 0); break;
        case MB_SYMLINK: TEST_EQ_INT(symlink(other_file, box), 0); break;
        case MB_FOREIGN_EMPTY:
        case MB_FOREIGN_FULL:
            /* mallory's file, mode 666, made before alice's first mail */
            ofd = open(box, O_WRONLY | O_CREAT, 0666);
            if (cases[i].kind == MB_FOREIGN_FULL)
                TEST_EQ_INT(write(ofd, "x\n", 2), 2);
            TEST_EQ_INT(fchown(ofd, other, other), 0);
            TEST_EQ_INT(fchmod(ofd, 0666), 0);
            close(ofd);
            break;
        case MB_LOCK_DIR: TEST_EQ_INT(mkdir(lock, 0700), 0); break;
        case MB_LOCK_SYMLINK: TEST_EQ_INT(symlink(other_file, lock), 0); break;
        case MB_LOCK_FOREIGN:
            ofd = open(lock, O_WRONLY | O_CREAT, 0644);
            TEST_EQ_INT(fchown(ofd, other, other), 0);
            close(ofd);
            break;
        }
        struct stat before;
        TEST_EQ_INT(lstat(box, &before) == 0 || errno == ENOENT, 1);
        local_fail f = {0};
        time_t t0 = time(NULL);
        /* As root the recipient is uid 4242 (alice); else ourselves. */
        long uid = geteuid() == 0 ? 4242 : -1;
        TEST_EQ_INT(local_mbox_deliver(box, &m, uid, uid, &f), -1);
        TEST_TRUE(time(NULL) - t0 <= 4);
        TEST_EQ_STR(f.dsn, "4.2.0");
        TEST_TRUE(f.text && strstr(f.text, cases[i].want) != NULL);
        if (f.text && !strstr(f.text, cases[i].want))
            fprintf(stderr, "  case %zu: %s\n", i, f.text);
        mem_free(&f.text);
        struct stat after, ost;
        if (cases[i].kind == MB_FOREIGN_EMPTY || cases[i].kind == MB_FOREIGN_FULL) {
            /* Never taken over: still mallory's, as large as before. */
            TEST_EQ_INT(lstat(box, &after), 0);
            TEST_EQ_INT(after.st_uid, other);
            TEST_EQ_INT(after.st_size, before.st_size);
        }
        TEST_EQ_INT(stat(other_file, &ost), 0);
        TEST_EQ_INT(ost.st_size, 0); /* nothing written through a link */
        if (cases[i].kind >= MB_LOCK_DIR) /* the stranger's lock is left */
            TEST_EQ_INT(lstat(lock, &after), 0);
        else
            TEST_TRUE(lstat(lock, &after) < 0); /* our own lock is gone */
        close(fd);
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        TEST_EQ_INT(system(cmd), 0);
        mem_free(&box);
        mem_free(&lock);
        mem_free(&other_file);
        mem_free(&dir);
    }
}

/* A new mbox is created for its recipient (O_EXCL, then given to them);
 * a stale lock of a stranger (by its own mtime) is removed. */
static void test_local_mbox_created_for_recipient(void)
{
    char *dir = tmpdir();
    int fd = content_fd(dir, "Subject: x\n\nhello\n");
    local_msg m = {.fd = fd, .off = 4, .len = 19, .prepend = "", .sender = "a@b"};
    char *box = fs_join(dir, "alice");
    char *lock = fs_join(dir, "alice.lock");
    char *target = fs_join(dir, "target");
    close(open(target, O_WRONLY | O_CREAT, 0600));
    TEST_EQ_INT(symlink(target, lock), 0);
    struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
    TEST_EQ_INT(utimensat(AT_FDCWD, lock, old, AT_SYMLINK_NOFOLLOW), 0);
    long uid = geteuid() == 0 ? 4242 : -1;
    local_fail f = {0};
    TEST_EQ_INT(local_mbox_deliver(box, &m, uid, uid, &f), 0);
    mem_free(&f.text);
    struct stat st;
    TEST_EQ_INT(stat(box, &st), 0);
    TEST_EQ_INT(st.st_uid, uid >= 0 ? (uid_t)uid : geteuid());
    TEST_EQ_INT(st.st_mode & 0777, 0600);
    TEST_TRUE(lstat(lock, &st) < 0);
    TEST_EQ_INT(stat(target, &st), 0); /* the link went, not its target */
    close(fd);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
    mem_free(&box);
    mem_free(&lock);
    mem_free(&target);
    mem_free(&dir);
}

/* A write that fails half-way (the file size limit stands in for a full
 * disk or quota) leaves the mailbox as it was: mbox truncated back, no
 * Maildir file in new/ or tmp/. */
static void test_local_failed_write_leaves_the_mailbox_as_it_was(void)
{
    char *dir = tmpdir();
    char big[4000];
    memset(big, 'x', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    int fd = content_fd(dir, big);
    local_msg m = {.fd = fd, .off = 4, .len = strlen(big),
                   .prepend = "Delivered-To: c@d\n", .sender = "a@b"};
    char *box = fs_join(dir, "mbox");
    FILE *fp = fopen(box, "w");
    fputs("From old  Mon Nov 23 10:00:00 2026\nSubject: old\n\nold\n\n", fp);
    fclose(fp);
    struct stat before;
    stat(box, &before);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_sa;
    sigaction(SIGXFSZ, &ign, &old_sa);
    struct rlimit old_rl, rl;
    getrlimit(RLIMIT_FSIZE, &old_rl);
    rl = old_rl;
    rl.rlim_cur = 1024;
    setrlimit(RLIMIT_FSIZE, &rl);
    local_fail f = {0};
    TEST_EQ_INT(local_mbox_deliver(box, &m, -1, -1, &f), -1);
    TEST_EQ_STR(f.dsn, "4.2.2");
    mem_free(&f.text);
    struct stat after;
    stat(box, &after);
    TEST_EQ_INT(after.st_size, before.st_size);
    char *md = fs_join(dir, "Maildir");
    char *name = local_maildir_name(1, "3F2A91C07B12", 0, "c@d", 10);
    TEST_EQ_INT(local_maildir_deliver(md, name, &m, false, NULL, NULL, &f), -1);
    TEST_EQ_STR(f.dsn, "4.2.2");
    mem_free(&f.text);
    setrlimit(RLIMIT_FSIZE, &old_rl);
    sigaction(SIGXFSZ, &old_sa, NULL);
    char *newd = fs_join(md, "new");
    char *tmpd = fs_join(md, "tmp");
    TEST_EQ_INT(count_dir(newd), 0);
    TEST_EQ_INT(count_dir(tmpd), 0);
    mem_free(&newd);
    mem_free(&tmpd);
    mem_free(&name);
    mem_free(&md);
    mem_free(&box);
    close(fd);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
    mem_free(&dir);
}

/* Parallel deliveries to one new Maildir (what local's "release" allows):
 * all succeed, whoever creates tmp/, new/ and cur/, and all land in new/. */
static void test_local_maildir_parallel_deliveries_to_one_maildir(void)
{
    char *dir = tmpdir();
    const char *content = "Subject: x\n\nbody\n";
    int fd = content_fd(dir, content);
    char *md = fs_join(dir, "Maildir");
    enum { KIDS = 8 };
    pid_t kids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            local_msg m = {.fd = fd, .off = 4, .len = strlen(content),
                           .prepend = "Delivered-To: c@d\n", .sender = "a@b"};
            char *name = local_maildir_name(1763913600, "3F2A91C07B12", k,
                                            "c@d", 40);
            local_fail f = {0};
            _exit(local_maildir_deliver(md, name, &m, false, NULL, NULL, &f) == 0
                      ? 0 : 1);
        }
    }
    int ok = 0;
    for (int k = 0; k < KIDS; k++) {
        int status;
        if (kids[k] > 0 && waitpid(kids[k], &status, 0) == kids[k] &&
            WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ok++;
    }
    TEST_EQ_INT(ok, KIDS);
    char *newd = fs_join(md, "new");
    TEST_EQ_INT(count_dir(newd), KIDS);
    mem_free(&newd);
    mem_free(&md);
    close(fd);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
    mem_free(&dir);
}

int main(void)
{
    TEST_RUN(test_local_mbox_quote_table);
    TEST_RUN(test_local_maildir_repeat_counts_as_done);
    TEST_RUN(test_local_mbox_entry_layout);
    TEST_RUN(test_local_mbox_unsafe_destinations_refused);
    TEST_RUN(test_local_mbox_created_for_recipient);
    TEST_RUN(test_local_failed_write_leaves_the_mailbox_as_it_was);
    TEST_RUN(test_local_maildir_parallel_deliveries_to_one_maildir);
    return test_done();
}
