# SPDX-License-Identifier: MIT
# Windows adapters: their pure halves (agent/mib.c, netsh.c, ras.c,
# winevt.c, winsvc.c) run as ordinary unit tests on Linux with constructed
# tables and recorded-style outputs. The .exe itself is cross-built and run
# under Wine by tests/windows/run.sh (called from tests/run.sh).
if(NOT WIN32)
  pf_unit_test(test_mib pfagent)
  pf_unit_test(test_netsh pfagent)
  pf_unit_test(test_ras pfagent)
  pf_unit_test(test_winevt pfagent)
  pf_unit_test(test_winsvc pfagent)
endif()
