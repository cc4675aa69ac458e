/* SPDX-License-Identifier: MIT */
/* osutil.h: the few OS calls the agent's delivery code (state, spool, run
 * loop) needs, behind one portable interface: durable atomic file writes
 * (temporary file, flush to disk, rename over the target, flush the
 * directory), reading and listing files, sleeping and entropy.
 * osutil_linux.c implements it with POSIX calls, osutil_win.c with
 * FlushFileBuffers and MoveFileExW(MOVEFILE_REPLACE_EXISTING |
 * MOVEFILE_WRITE_THROUGH). Paths are UTF-8. */
#ifndef PF_OSUTIL_H
#define PF_OSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define OSUTIL_PATH_MAX 1024

/* Where the agent keeps its configuration and state by default (docs/cli.md). */
#ifdef _WIN32
#define OSUTIL_PRIVATE_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
#define OSUTIL_DEFAULT_CONFIG "C:\\ProgramData\\portfleet\\agent.conf"
#define OSUTIL_DEFAULT_STATE_DIR "C:\\ProgramData\\portfleet"
#else
#define OSUTIL_DEFAULT_CONFIG "/etc/portfleet/agent.conf"
#define OSUTIL_DEFAULT_STATE_DIR "/var/lib/portfleet"
#endif

/* Joins dir and name with the platform separator into out. Returns
 * PF_TOOBIG when the result does not fit in outlen. */
/* Translates an OS error code (errno on Linux, GetLastError() on Windows)
 * into the agent's one error enum, the same way on both OSes: missing ->
 * PF_NOTFOUND, denied -> PF_PERM, out of memory -> PF_NOMEM, name too long ->
 * PF_TOOBIG, busy or locked by another -> PF_AGAIN, anything else PF_IO. */
enum pf_rc osutil_rc_from_os(unsigned long e);

enum pf_rc osutil_path_join(char *out, size_t outlen, const char *dir, const char *name);

/* Creates dir and its missing parents, private: 0700 on POSIX; on
 * Windows a protected DACL (no inheritance) for SYSTEM and the
 * Administrators only, OSUTIL_PRIVATE_SDDL, set as each one is created.
 * An existing directory is fine and keeps its permissions (install
 * re-applies them to a directory it owns). Returns PF_IO or PF_PERM. */
enum pf_rc osutil_mkdirs(const char *dir);

/* Replaces dir/name by len bytes of data so that after a crash at any
 * moment the file holds either its old content or the new, completely: the
 * data goes to "<name>.tmp" in dir (owner-only permissions), is flushed to
 * disk, renamed over name, and the directory is flushed. Returns PF_IO (or
 * PF_PERM) on failure, leaving no partial name behind. */
enum pf_rc osutil_write_atomic(const char *dir, const char *name, const void *data, size_t len);

/* Reads the whole file at path into out (appending; out's cap applies).
 * Returns PF_NOTFOUND when missing, PF_TOOBIG when larger than the cap,
 * PF_IO otherwise. */
enum pf_rc osutil_read_file(const char *path, struct pf_buf *out);

/* Removes the file at path; a missing file is not an error. */
enum pf_rc osutil_remove(const char *path);

/* Renames from to to, replacing to. Not flushed: call osutil_sync_dir. */
enum pf_rc osutil_rename(const char *from, const char *to);

/* Flushes dir's entries (creations, renames, removals) to disk. A no-op
 * where the OS has no such call (Windows flushes with the rename). */
enum pf_rc osutil_sync_dir(const char *dir);

/* Called for each regular file in a directory with its name and size;
 * returning non-zero stops the listing. */
typedef int (*osutil_dir_fn)(const char *name, uint64_t size, void *ud);

/* Lists the regular files of dir (not "." or ".."; order unspecified).
 * Returns PF_NOTFOUND when dir does not exist, PF_IO on other errors. */
enum pf_rc osutil_list_dir(const char *dir, osutil_dir_fn fn, void *ud);

/* Removes dir and everything under it; a missing dir is not an error. */
enum pf_rc osutil_remove_tree(const char *dir);

/* Takes an exclusive lock on the file at path (created if missing), held
 * until osutil_unlock or the process ends (also when it is killed).
 * Returns PF_AGAIN when another process holds it, PF_IO otherwise; on
 * success *handle is set for osutil_unlock. */
enum pf_rc osutil_lock(const char *path, intptr_t *handle);
void osutil_unlock(intptr_t handle);

/* Sleeps ms milliseconds (may return early on a signal). */
void osutil_sleep_ms(unsigned ms);

/* 64 bits from the OS's random source, mixed with the time and the process
 * id, to seed the jitter generator: agents restarted in the same second
 * must not pick the same delays. Never fails. */
uint64_t osutil_random_seed(void);

/* Runs fn(arg) in a new thread. On success *handle is for
 * osutil_thread_join, which must be called once. Returns PF_NOMEM or
 * PF_INTERNAL when no thread could be made. */
typedef void (*osutil_thread_fn)(void *arg);
enum pf_rc osutil_thread_start(osutil_thread_fn fn, void *arg, intptr_t *handle);

/* Waits for the thread to end and releases it. */
void osutil_thread_join(intptr_t handle);

/* Process id of this process. */
unsigned long osutil_pid(void);

#endif
