/* SPDX-License-Identifier: MIT */
/* tcp_state.h: the TCP states portfleet counts, their JSON names, and how
 * each OS's state numbers map onto them. To add a state: add one X() line
 * here, then its Linux and Windows numbers in tcp_state.c. The codec, the
 * agent's aggregation and the collector's storage all iterate this list. */
#ifndef PF_TCP_STATE_H
#define PF_TCP_STATE_H

#include <stddef.h>

/* X(ENUM_SUFFIX, json_name) in the order of docs/protocol.md section 2. */
#define PF_TCP_STATES(X)                                                                           \
    X(LISTEN, listen)                                                                              \
    X(SYN_SENT, syn_sent)                                                                          \
    X(SYN_RECEIVED, syn_received)                                                                  \
    X(ESTABLISHED, established)                                                                    \
    X(FIN_WAIT_1, fin_wait_1)                                                                      \
    X(FIN_WAIT_2, fin_wait_2)                                                                      \
    X(CLOSE_WAIT, close_wait)                                                                      \
    X(CLOSING, closing)                                                                            \
    X(LAST_ACK, last_ack)                                                                          \
    X(TIME_WAIT, time_wait)                                                                        \
    X(BOUND, bound)

enum pf_tcp_state {
#define PF_X_ENUM(e, n) PF_TCP_##e,
    PF_TCP_STATES(PF_X_ENUM)
#undef PF_X_ENUM
        PF_TCP_NSTATES,
    PF_TCP_UNKNOWN = 0xff /* an OS state we do not count */
};

/* Returns the JSON name ("time_wait"), or NULL for an unknown state. */
const char *pf_tcp_state_name(int state);
/* Returns the state with that JSON name, or -1. */
int pf_tcp_state_from_name(const char *name);
/* Linux kernel state numbers (include/net/tcp_states.h) as reported by
 * sock_diag. TCP_CLOSE (7) only comes back for bound-inactive sockets
 * (requested with bit 13), so it maps to PF_TCP_BOUND. */
int pf_tcp_state_from_linux(int kstate);
/* Windows MIB_TCP_STATE numbers (MIB_TCP_STATE_CLOSED = 1 ... DELETE_TCB = 12). */
int pf_tcp_state_from_mib(int mib_state);
/* True for states whose socket has a remote end worth counting
 * (not listen, not bound). */
int pf_tcp_state_has_remote(int state);

#endif
