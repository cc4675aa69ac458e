# SPDX-License-Identifier: MIT
# Windows adapters: their pure halves (agent/parse/mib.c, netsh.c, rasconn.c,
# evtcount.c, svcmap.c) run as ordinary unit tests on Linux with constructed
# tables and recorded-style outputs. The .exe itself is cross-built and run
# under Wine by tests/windows/run.sh (called from tests/run.sh).
if(NOT WIN32)
  pf_unit_test(test_mib pfagent)
  pf_unit_test(test_netsh pfagent)
  pf_unit_test(test_rasconn pfagent)
  pf_unit_test(test_evtcount pfagent)
  pf_unit_test(test_svcmap pfagent)
  # The Wine test's checker (tests/windows/run.sh): decodes the .exe's
  # snapshot with the project's codec and compares it with what
  # sockholder.exe holds. A tool, not a ctest.
  add_executable(win_check_snapshot windows/check_snapshot.c)
  target_link_libraries(win_check_snapshot PRIVATE pfcommon)
endif()
# The pure parsers on arbitrary bytes (corpus replayed as a unit test).
if(NOT WIN32)
  pf_fuzz_target(fuzz_wintables fuzz_wintables.c pfagent)
endif()
