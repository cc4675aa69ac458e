# SPDX-License-Identifier: MIT
# Windows adapters: their pure halves (agent/mib.c, netsh.c, rasconn.c,
# evtcount.c, svcmap.c) run as ordinary unit tests on Linux with constructed
# tables and recorded-style outputs. The .exe itself is cross-built and run
# under Wine by tests/windows/run.sh (called from tests/run.sh).
if(NOT WIN32)
  pf_unit_test(test_mib pfagent)
  pf_unit_test(test_netsh pfagent)
  pf_unit_test(test_rasconn pfagent)
  pf_unit_test(test_evtcount pfagent)
  pf_unit_test(test_svcmap pfagent)
endif()
