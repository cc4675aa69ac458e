/* SPDX-License-Identifier: MIT */
/* tcp_state.c: names and OS mappings of enum pf_tcp_state. */
#include "tcp_state.h"

#include <string.h>

static const char *const names[PF_TCP_NSTATES] = {
#define PF_X_NAME(e, n) #n,
    PF_TCP_STATES(PF_X_NAME)
#undef PF_X_NAME
};

const char *pf_tcp_state_name(int state)
{
    if (state < 0 || state >= PF_TCP_NSTATES)
        return NULL;
    return names[state];
}

int pf_tcp_state_from_name(const char *name)
{
    for (int i = 0; i < PF_TCP_NSTATES; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int pf_tcp_state_from_linux(int kstate)
{
    switch (kstate) {
    case 1: return PF_TCP_ESTABLISHED;
    case 2: return PF_TCP_SYN_SENT;
    case 3: return PF_TCP_SYN_RECEIVED;
    case 4: return PF_TCP_FIN_WAIT_1;
    case 5: return PF_TCP_FIN_WAIT_2;
    case 6: return PF_TCP_TIME_WAIT;
    case 7: return PF_TCP_BOUND; /* TCP_CLOSE: bound, not listening or connected */
    case 8: return PF_TCP_CLOSE_WAIT;
    case 9: return PF_TCP_LAST_ACK;
    case 10: return PF_TCP_LISTEN;
    case 11: return PF_TCP_CLOSING;
    case 12: return PF_TCP_SYN_RECEIVED; /* TCP_NEW_SYN_RECV: a request socket */
    case 13: return PF_TCP_BOUND;        /* TCP_BOUND_INACTIVE, should it ever be reported */
    }
    return PF_TCP_UNKNOWN;
}

int pf_tcp_state_from_mib(int mib_state)
{
    switch (mib_state) {
    case 1: return PF_TCP_BOUND; /* MIB_TCP_STATE_CLOSED: seen in the bound table */
    case 2: return PF_TCP_LISTEN;
    case 3: return PF_TCP_SYN_SENT;
    case 4: return PF_TCP_SYN_RECEIVED;
    case 5: return PF_TCP_ESTABLISHED;
    case 6: return PF_TCP_FIN_WAIT_1;
    case 7: return PF_TCP_FIN_WAIT_2;
    case 8: return PF_TCP_CLOSE_WAIT;
    case 9: return PF_TCP_CLOSING;
    case 10: return PF_TCP_LAST_ACK;
    case 11: return PF_TCP_TIME_WAIT;
    case 12: return PF_TCP_UNKNOWN; /* MIB_TCP_STATE_DELETE_TCB: going away */
    }
    return PF_TCP_UNKNOWN;
}

int pf_tcp_state_has_remote(int state)
{
    return state >= 0 && state < PF_TCP_NSTATES && state != PF_TCP_LISTEN &&
           state != PF_TCP_BOUND;
}
