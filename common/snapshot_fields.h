/* SPDX-License-Identifier: MIT */
/* snapshot_fields.h: the measured figures of the snapshot's resources and
 * sessions sections (docs/protocol.md section 2), listed once. Each one is
 * optional on its own: absent or null on the wire, its has_ flag false,
 * never a zero. From this list come the struct members (snapshot.h), the
 * validation, the JSON encoding and decoding, the comparison, the agent's
 * unmeasured entries and text view, and on the collector the hourly
 * rollup column and the loader's series (collector/capacity/sizing.h).
 * To add a figure: a line here, and where the agent reads it
 * (resources_more_read() in agent/os/linux/resources_linux.c and
 * agent/os/win/resources_win.c, or the sessions probe).
 *
 * X(section, name, kind, text, rollup)
 *   section  resources or sessions
 *   name     the JSON key and the C member; has_<name> is its flag
 *   kind     COUNT  an integer 0..2^53-1 (uint64_t)
 *            PCT    a number 0..100, kept to hundredths (double)
 *            RATE   a number >= 0, kept to hundredths (double)
 *   text     its label in the agent's text view ("label value"); "" when
 *            agent/textview.c writes it its own way
 *   rollup   1: host_hours keeps its hourly maximum (column
 *            sz_<section>_<name>, added by the collector from this list);
 *            0: not, or sizing.h makes its own figure of it
 * The order is the JSON order. */
#ifndef PF_SNAPSHOT_FIELDS_H
#define PF_SNAPSHOT_FIELDS_H

#define PF_RESOURCES_FIELDS(X)                                                                     \
    X(resources, cpu_pct, PCT, "", 0)          /* average over the interval */                     \
    X(resources, memory_used_mb, COUNT, "", 0) /* in use, not cache; <= host.memory_mb */          \
    X(resources, cpu_pct_peak, PCT, "", 0)     /* highest short sample within the interval */

#define PF_SESSIONS_FIELDS(X)                                                                      \
    X(sessions, tcp_active, COUNT, "", 0)                                                          \
    X(sessions, udp_active, COUNT, "", 0)                                                          \
    X(sessions, users, COUNT, "", 0)                                                               \
    X(sessions, requests_per_s, RATE, "", 0) /* Entra connector requests/s */

#define PF_SNAPSHOT_FIELDS(X) PF_RESOURCES_FIELDS(X) PF_SESSIONS_FIELDS(X)

/* The C type of each kind. */
#define PF_FIELD_CTYPE_COUNT uint64_t
#define PF_FIELD_CTYPE_PCT double
#define PF_FIELD_CTYPE_RATE double

#endif
