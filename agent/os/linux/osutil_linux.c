/* SPDX-License-Identifier: MIT */
/* osutil_linux.c: osutil.h with POSIX calls. Durability follows the usual
 * recipe: write a temporary file, fsync it, rename(2) it over the target
 * (atomic within one file system), fsync the directory so the rename itself
 * survives a power cut. */
#include "osutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum pf_rc osutil_rc_from_os(unsigned long e)
{
    switch (e) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EBUSY:
    case EINTR:
        return PF_AGAIN;
    case ENOENT:
        return PF_NOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return PF_PERM;
    case ENOMEM:
        return PF_NOMEM;
    case ENAMETOOLONG:
        return PF_TOOBIG;
    default:
        return PF_IO;
    }
}

enum pf_rc osutil_path_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= outlen ? PF_TOOBIG : PF_OK;
}

enum pf_rc osutil_mkdirs(const char *dir)
{
    char path[OSUTIL_PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path))
        return PF_INVALID;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return osutil_rc_from_os((unsigned long)errno);
        if (i < len)
            path[i] = '/';
    }
    return PF_OK;
}

static enum pf_rc write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return osutil_rc_from_os((unsigned long)errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return PF_OK;
}

enum pf_rc osutil_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    enum pf_rc rc = PF_OK;

    if (fd < 0)
        return osutil_rc_from_os((unsigned long)errno);
    if (fsync(fd) != 0)
        rc = osutil_rc_from_os((unsigned long)errno);
    close(fd);
    return rc;
}

enum pf_rc osutil_write_atomic(const char *dir, const char *name, const void *data, size_t len)
{
    char tmp[OSUTIL_PATH_MAX], dst[OSUTIL_PATH_MAX], tmpname[OSUTIL_PATH_MAX];
    enum pf_rc rc;
    int fd, n;

    n = snprintf(tmpname, sizeof(tmpname), "%s.tmp", name);
    if (n < 0 || (size_t)n >= sizeof(tmpname))
        return PF_TOOBIG;
    rc = osutil_path_join(tmp, sizeof(tmp), dir, tmpname);
    if (!rc)
        rc = osutil_path_join(dst, sizeof(dst), dir, name);
    if (rc)
        return rc;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return osutil_rc_from_os((unsigned long)errno);
    rc = write_all(fd, data, len);
    if (!rc && fsync(fd) != 0)
        rc = osutil_rc_from_os((unsigned long)errno);
    if (close(fd) != 0 && !rc)
        rc = osutil_rc_from_os((unsigned long)errno);
    if (!rc && rename(tmp, dst) != 0)
        rc = osutil_rc_from_os((unsigned long)errno);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return osutil_sync_dir(dir);
}

enum pf_rc osutil_read_file(const char *path, struct pf_buf *out)
{
    char chunk[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    enum pf_rc rc = PF_OK;

    if (fd < 0)
        return osutil_rc_from_os((unsigned long)errno);
    while (!rc) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = osutil_rc_from_os((unsigned long)errno);
        else if (n == 0)
            break;
        else
            rc = pf_buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    return rc;
}

enum pf_rc osutil_remove(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return osutil_rc_from_os((unsigned long)errno);
    return PF_OK;
}

enum pf_rc osutil_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? PF_OK : osutil_rc_from_os((unsigned long)errno);
}

enum pf_rc osutil_list_dir(const char *dir, osutil_dir_fn fn, void *ud)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int dfd;

    if (!d)
        return osutil_rc_from_os((unsigned long)errno);
    dfd = dirfd(d);
    while ((de = readdir(d)) != NULL) {
        struct stat st;

        if (de->d_name[0] == '.' &&
            (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (fn(de->d_name, (uint64_t)st.st_size, ud))
            break;
    }
    closedir(d);
    return PF_OK;
}

static enum pf_rc remove_tree_at(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;
    struct dirent *de;
    enum pf_rc rc = PF_OK;

    if (fd < 0) {
        if (errno == ENOENT)
            return PF_OK;
        if (errno == ENOTDIR || errno == ELOOP)
            return unlinkat(parent, name, 0) == 0 ? PF_OK : osutil_rc_from_os((unsigned long)errno);
        return osutil_rc_from_os((unsigned long)errno);
    }
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return osutil_rc_from_os((unsigned long)errno);
    }
    while (!rc && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, de->d_name, 0) == 0)
            continue;
        if (errno == EISDIR || errno == EPERM)
            rc = remove_tree_at(fd, de->d_name);
        else if (errno != ENOENT)
            rc = osutil_rc_from_os((unsigned long)errno);
    }
    closedir(d);
    if (!rc && unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = osutil_rc_from_os((unsigned long)errno);
    return rc;
}

enum pf_rc osutil_remove_tree(const char *dir)
{
    return remove_tree_at(AT_FDCWD, dir);
}

enum pf_rc osutil_lock(const char *path, intptr_t *handle)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return osutil_rc_from_os((unsigned long)errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        close(fd);
        return osutil_rc_from_os((unsigned long)e);
    }
    *handle = fd;
    return PF_OK;
}

void osutil_unlock(intptr_t handle)
{
    if (handle >= 0)
        close((int)handle);
}

void osutil_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

uint64_t osutil_random_seed(void)
{
    uint64_t seed = 0;
    struct timespec ts;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (read(fd, &seed, sizeof(seed)) != (ssize_t)sizeof(seed))
            seed = 0;
        close(fd);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    seed ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL;
    seed ^= (uint64_t)ts.tv_sec << 20;
    seed ^= (uint64_t)getpid() << 40;
    return seed;
}

struct thread_start {
    osutil_thread_fn fn;
    void *arg;
};

static void *thread_main(void *p)
{
    struct thread_start ts = *(struct thread_start *)p;

    free(p);
    ts.fn(ts.arg);
    return NULL;
}

enum pf_rc osutil_thread_start(osutil_thread_fn fn, void *arg, intptr_t *handle)
{
    struct thread_start *ts = malloc(sizeof(*ts));
    pthread_t t;

    _Static_assert(sizeof(pthread_t) <= sizeof(intptr_t), "pthread_t fits a handle");
    if (!ts)
        return PF_NOMEM;
    ts->fn = fn;
    ts->arg = arg;
    if (pthread_create(&t, NULL, thread_main, ts) != 0) {
        free(ts);
        return PF_INTERNAL;
    }
    *handle = (intptr_t)t;
    return PF_OK;
}

void osutil_thread_join(intptr_t handle)
{
    pthread_join((pthread_t)handle, NULL);
}

unsigned long osutil_pid(void)
{
    return (unsigned long)getpid();
}
