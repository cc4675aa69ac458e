# SPDX-License-Identifier: MIT
# Capacity engine tests (issue 5): unit tests of the analysis on constructed
# series, fleetsim (the fleet simulator) and the scenario tests that post its
# snapshots through the real collector.
if(NOT TARGET pfcapacity)
  message(WARNING "pfcapacity missing: collector/CMakeLists.txt must include capacity.cmake")
  return()
endif()
pf_unit_test(test_stats pfcapacity)
pf_unit_test(test_findings pfcapacity)
pf_unit_test(test_plan pfcapacity)
pf_unit_test(test_fleet pfcapacity)
pf_unit_test(test_report pfcapacity)
