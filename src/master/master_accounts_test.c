/*
 * master_accounts_test - who the first mail user of a new instance is, and
 * whether mail_owner can reach an instance directory (a checkout under a
 * mode-700 home is out of its reach).  Table-driven.
 */
#include "master/master_accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"
#include "util/test.h"

static void test_first_user(void)
{
    static const struct {
        unsigned uid;
        const char *login, *sudo_user, *want;
    } cases[] = {
        {1000, "alice", NULL, "alice"},       /* a normal user: their own name */
        {1000, "alice", "bob", "alice"},      /* sudo does not matter then */
        {0, "root", "alice", "alice"},        /* sudo ./setup: who ran sudo */
        {0, "root", NULL, "admin"},           /* root itself: not root... */
        {0, "root", "", "admin"},
        {0, "root", "root", "admin"},         /* sudo -u root from root */
        {0, "root", "postie", "admin"},       /* ...never mail_owner's name */
        {1000, "postie", NULL, "admin"},
        {1000, "Bad Name!", NULL, "admin"},   /* not a mail user name */
        {1000, NULL, NULL, "admin"},          /* no passwd entry */
        {0, "root", "x y", "admin"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = master_accounts_first_user(cases[i].uid, cases[i].login,
                                               cases[i].sudo_user);
        TEST_EQ_STR(got, cases[i].want);
        mem_free(&got);
    }
}

static void test_reachable(void)
{
    char tmpl[] = "/tmp/master-accounts-XXXXXX";
    char *top = mkdtemp(tmpl);
    TEST_TRUE(top != NULL);
    chmod(top, 0755);
    char home[256], inst[300], open_dir[256], later[300];
    snprintf(home, sizeof(home), "%s/home", top);
    snprintf(inst, sizeof(inst), "%s/postie/postie-data", home);
    snprintf(open_dir, sizeof(open_dir), "%s/open", top);
    snprintf(later, sizeof(later), "%s/not/yet", open_dir);
    TEST_TRUE(mkdir(home, 0700) == 0);
    TEST_TRUE(mkdir(open_dir, 0755) == 0);
    uid_t me = getuid(), other = 54321;
    gid_t mygid = getgid(), othergid = 54321;
    static const struct {
        int which;       /* 0: inst, 1: open_dir, 2: later */
        bool other_user; /* uid 54321 instead of the owner */
        bool want;
    } cases[] = {
        {0, false, true},   /* the owner of the 700 home gets in */
        {0, true, false},   /* anyone else (mail_owner) does not */
        {1, true, true},    /* a 755 directory: everyone */
        {2, true, true},    /* parts made later are made 0755 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = cases[i].which == 0 ? inst : cases[i].which == 1 ? open_dir : later;
        char *blocker = NULL;
        bool got = master_accounts_reachable(p, cases[i].other_user ? other : me,
                                             cases[i].other_user ? othergid : mygid,
                                             &blocker);
        /* root enters everything: the owner case holds for it too. */
        TEST_EQ_INT(got, cases[i].want);
        if (!got)
            TEST_EQ_STR(blocker, home);
        mem_free(&blocker);
    }
    /* Group access counts: a 0750 directory of mail_owner's group. */
    TEST_TRUE(chown(home, 0, othergid) == 0 || getuid() != 0);
    if (getuid() == 0) {
        chmod(home, 0750);
        TEST_TRUE(master_accounts_reachable(inst, other, othergid, NULL));
        TEST_TRUE(!master_accounts_reachable(inst, other + 1, othergid + 1, NULL));
    }
    rmdir(home);
    rmdir(open_dir);
    rmdir(top);
}

int main(void)
{
    TEST_RUN(test_first_user);
    TEST_RUN(test_reachable);
    return test_done();
}
