/* SPDX-License-Identifier: MIT */
/* procfd.h: pure parsers for what /proc says about processes, so the unit
 * tests can feed recorded text: fd links ("socket:[12345]") and the
 * systemd unit in /proc/<pid>/cgroup. */
#ifndef PF_PROCFD_H
#define PF_PROCFD_H

#include <stddef.h>
#include <stdint.h>

/* Returns the inode of an fd link "socket:[12345]" of n bytes (not
 * NUL-terminated), or 0 when the link is not a socket. */
uint64_t procfd_socket_inode(const char *link, size_t n);

/* Writes the systemd unit of a /proc/<pid>/cgroup text (NUL-terminated):
 * the last path element ending in ".service" ("cloudflared.service"), or
 * "" when the process is in no service. */
void procfd_unit_from_cgroup(const char *cgroup, char *out, size_t outlen);

#endif
