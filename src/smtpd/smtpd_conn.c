/*
 * smtpd_conn - the shared connection table; see smtpd_conn.h.
 *
 * Cost: a count scans all slots (4096 x 64 bytes = 256 KiB) under the
 * lock, once per accepted connection; that is microseconds, well below
 * the cost of the connection itself.
 */
#include "smtpd/smtpd_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct smtpd_conn_slot {
    int32_t pid;          /* 0: free */
    char addr[60];
} smtpd_conn_slot;

static smtpd_conn_slot *smtpd_conn_tab;
static int smtpd_conn_fd = -1;

int smtpd_conn_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t size = SMTPD_CONN_SLOTS * sizeof(smtpd_conn_slot);
    if (flock(fd, LOCK_EX) < 0 ||
        (lseek(fd, 0, SEEK_END) < (off_t)size && ftruncate(fd, (off_t)size) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    smtpd_conn_tab = p;
    smtpd_conn_fd = fd;
    /* Slots of processes that are gone (crash, kill -9). */
    for (int i = 0; i < SMTPD_CONN_SLOTS; i++) {
        pid_t pid = smtpd_conn_tab[i].pid;
        if (pid != 0 && (pid == getpid() || (kill(pid, 0) < 0 && errno == ESRCH)))
            smtpd_conn_tab[i].pid = 0;
    }
    flock(fd, LOCK_UN);
    return 0;
}

void smtpd_conn_count(const char *addr, int *total_r, int *same_r)
{
    *total_r = *same_r = 0;
    if (smtpd_conn_tab == NULL)
        return;
    flock(smtpd_conn_fd, LOCK_SH);
    for (int i = 0; i < SMTPD_CONN_SLOTS; i++) {
        if (smtpd_conn_tab[i].pid == 0)
            continue;
        (*total_r)++;
        if (strncmp(smtpd_conn_tab[i].addr, addr, sizeof(smtpd_conn_tab[i].addr)) == 0)
            (*same_r)++;
    }
    flock(smtpd_conn_fd, LOCK_UN);
}

int smtpd_conn_add(const char *addr)
{
    if (smtpd_conn_tab == NULL)
        return -1;
    int slot = -1;
    flock(smtpd_conn_fd, LOCK_EX);
    for (int i = 0; i < SMTPD_CONN_SLOTS; i++) {
        if (smtpd_conn_tab[i].pid == 0) {
            smtpd_conn_tab[i].pid = (int32_t)getpid();
            strncpy(smtpd_conn_tab[i].addr, addr, sizeof(smtpd_conn_tab[i].addr) - 1);
            smtpd_conn_tab[i].addr[sizeof(smtpd_conn_tab[i].addr) - 1] = '\0';
            slot = i;
            break;
        }
    }
    flock(smtpd_conn_fd, LOCK_UN);
    return slot;
}

void smtpd_conn_del(int slot)
{
    if (smtpd_conn_tab == NULL || slot < 0 || slot >= SMTPD_CONN_SLOTS)
        return;
    flock(smtpd_conn_fd, LOCK_EX);
    smtpd_conn_tab[slot].pid = 0;
    flock(smtpd_conn_fd, LOCK_UN);
}
