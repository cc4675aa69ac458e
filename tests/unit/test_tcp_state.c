/* SPDX-License-Identifier: MIT */
/* test_tcp_state.c: TCP state names in docs/protocol.md order and back, and the
 * Linux (include/net/tcp_states.h) and Windows (MIB_TCP_STATE) maps. */
#include <string.h>

#include "tcp_state.h"
#include "test.h"

TEST(names)
{
    /* docs/protocol.md section 2, tcp.states, in order. */
    static const char *const want[] = {"listen",     "syn_sent",   "syn_received", "established",
                                       "fin_wait_1", "fin_wait_2", "close_wait",   "closing",
                                       "last_ack",   "time_wait",  "bound"};

    T_EQ_INT(PF_TCP_NSTATES, 11);
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        T_EQ_STR(pf_tcp_state_name(i), want[i]);
        T_EQ_INT(pf_tcp_state_from_name(want[i]), i);
    }
    T_ASSERT(pf_tcp_state_name(-1) == NULL);
    T_ASSERT(pf_tcp_state_name(PF_TCP_NSTATES) == NULL);
    T_ASSERT(pf_tcp_state_name(PF_TCP_UNKNOWN) == NULL);
    T_EQ_INT(pf_tcp_state_from_name("TIME_WAIT"), -1);
    T_EQ_INT(pf_tcp_state_from_name(""), -1);
    T_EQ_INT(pf_tcp_state_from_name("bound "), -1);
}

TEST(linux_map)
{
    T_EQ_INT(pf_tcp_state_from_linux(1), PF_TCP_ESTABLISHED);
    T_EQ_INT(pf_tcp_state_from_linux(2), PF_TCP_SYN_SENT);
    T_EQ_INT(pf_tcp_state_from_linux(3), PF_TCP_SYN_RECEIVED);
    T_EQ_INT(pf_tcp_state_from_linux(4), PF_TCP_FIN_WAIT_1);
    T_EQ_INT(pf_tcp_state_from_linux(5), PF_TCP_FIN_WAIT_2);
    T_EQ_INT(pf_tcp_state_from_linux(6), PF_TCP_TIME_WAIT);
    T_EQ_INT(pf_tcp_state_from_linux(7), PF_TCP_BOUND); /* TCP_CLOSE: bound-only */
    T_EQ_INT(pf_tcp_state_from_linux(8), PF_TCP_CLOSE_WAIT);
    T_EQ_INT(pf_tcp_state_from_linux(9), PF_TCP_LAST_ACK);
    T_EQ_INT(pf_tcp_state_from_linux(10), PF_TCP_LISTEN);
    T_EQ_INT(pf_tcp_state_from_linux(11), PF_TCP_CLOSING);
    T_EQ_INT(pf_tcp_state_from_linux(12), PF_TCP_SYN_RECEIVED); /* TCP_NEW_SYN_RECV */
    T_EQ_INT(pf_tcp_state_from_linux(13), PF_TCP_BOUND);        /* TCP_BOUND_INACTIVE */
    T_EQ_INT(pf_tcp_state_from_linux(0), PF_TCP_UNKNOWN);
    T_EQ_INT(pf_tcp_state_from_linux(14), PF_TCP_UNKNOWN);
    T_EQ_INT(pf_tcp_state_from_linux(-1), PF_TCP_UNKNOWN);
}

TEST(mib_map)
{
    T_EQ_INT(pf_tcp_state_from_mib(1), PF_TCP_BOUND); /* CLOSED, from the bound table */
    T_EQ_INT(pf_tcp_state_from_mib(2), PF_TCP_LISTEN);
    T_EQ_INT(pf_tcp_state_from_mib(3), PF_TCP_SYN_SENT);
    T_EQ_INT(pf_tcp_state_from_mib(4), PF_TCP_SYN_RECEIVED);
    T_EQ_INT(pf_tcp_state_from_mib(5), PF_TCP_ESTABLISHED);
    T_EQ_INT(pf_tcp_state_from_mib(6), PF_TCP_FIN_WAIT_1);
    T_EQ_INT(pf_tcp_state_from_mib(7), PF_TCP_FIN_WAIT_2);
    T_EQ_INT(pf_tcp_state_from_mib(8), PF_TCP_CLOSE_WAIT);
    T_EQ_INT(pf_tcp_state_from_mib(9), PF_TCP_CLOSING);
    T_EQ_INT(pf_tcp_state_from_mib(10), PF_TCP_LAST_ACK);
    T_EQ_INT(pf_tcp_state_from_mib(11), PF_TCP_TIME_WAIT);
    T_EQ_INT(pf_tcp_state_from_mib(12), PF_TCP_UNKNOWN); /* DELETE_TCB */
    T_EQ_INT(pf_tcp_state_from_mib(0), PF_TCP_UNKNOWN);
    T_EQ_INT(pf_tcp_state_from_mib(13), PF_TCP_UNKNOWN);
}

/* Every counted state is reachable from both OS maps. */
TEST(maps_cover_all)
{
    int seen_linux[PF_TCP_NSTATES] = {0}, seen_mib[PF_TCP_NSTATES] = {0};

    for (int k = -2; k < 32; k++) {
        int a = pf_tcp_state_from_linux(k), b = pf_tcp_state_from_mib(k);
        T_ASSERT(a == PF_TCP_UNKNOWN || (a >= 0 && a < PF_TCP_NSTATES));
        T_ASSERT(b == PF_TCP_UNKNOWN || (b >= 0 && b < PF_TCP_NSTATES));
        if (a != PF_TCP_UNKNOWN)
            seen_linux[a] = 1;
        if (b != PF_TCP_UNKNOWN)
            seen_mib[b] = 1;
    }
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        if (!seen_linux[i] || !seen_mib[i])
            T_FAIL_("state %s unreachable (linux %d, mib %d)", pf_tcp_state_name(i), seen_linux[i],
                    seen_mib[i]);
    }
}

TEST(has_remote)
{
    T_EQ_INT(pf_tcp_state_has_remote(PF_TCP_LISTEN), 0);
    T_EQ_INT(pf_tcp_state_has_remote(PF_TCP_BOUND), 0);
    T_EQ_INT(pf_tcp_state_has_remote(PF_TCP_UNKNOWN), 0);
    T_EQ_INT(pf_tcp_state_has_remote(-1), 0);
    T_EQ_INT(pf_tcp_state_has_remote(PF_TCP_ESTABLISHED), 1);
    T_EQ_INT(pf_tcp_state_has_remote(PF_TCP_TIME_WAIT), 1);
    T_EQ_INT(pf_tcp_state_has_remote(PF_TCP_SYN_SENT), 1);
    T_EQ_INT(pf_tcp_state_has_remote(PF_TCP_CLOSE_WAIT), 1);
}

int main(void)
{
    RUN(names);
    RUN(linux_map);
    RUN(mib_map);
    RUN(maps_cover_all);
    RUN(has_remote);
    return T_DONE();
}
