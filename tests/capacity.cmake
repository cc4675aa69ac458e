# SPDX-License-Identifier: MIT
# Capacity engine tests: unit tests of the analysis on constructed
# series, fleetsim (the fleet simulator) and the scenario tests that post its
# snapshots through the real collector.
if(NOT TARGET pfcapacity)
  message(WARNING "pfcapacity missing: collector/CMakeLists.txt must include capacity.cmake")
  return()
endif()
pf_unit_test(test_stats pfcapacity)
pf_unit_test(test_analysis_cache pfcapacity)
pf_unit_test(test_findings pfcapacity)
pf_unit_test(test_plan pfcapacity)
pf_unit_test(test_fleet pfcapacity)
pf_unit_test(test_report pfcapacity)
pf_unit_test(test_report_cli pfcollector pfcapacity)

# fleetsim: generates a fleet's snapshots and posts them through the API.
pkg_check_modules(PF_SIM_CURL REQUIRED IMPORTED_TARGET libcurl)
add_executable(fleetsim fleetsim/fleetsim.c fleetsim/sim.c)
target_include_directories(fleetsim PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fleetsim)
target_link_libraries(fleetsim PRIVATE pfcapacity PkgConfig::PF_SIM_CURL)

# Every scenario, analysed in memory (no collector), must give exactly its
# expected findings and plan. tests/integration/capacity_scenarios.sh runs
# the same files through the real collector.
file(GLOB PF_CAPACITY_SCENARIOS ${CMAKE_CURRENT_SOURCE_DIR}/fleetsim/scenarios/*.json)
foreach(scenario ${PF_CAPACITY_SCENARIOS})
  get_filename_component(name ${scenario} NAME_WE)
  add_test(NAME capacity_local_${name}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fleetsim/check_local.sh $<TARGET_FILE:fleetsim>
                   ${scenario})
  set_tests_properties(capacity_local_${name} PROPERTIES LABELS "unit;capacity")
endforeach()

# Integration: the scenarios through the real collector (throwaway
# PostgreSQL, TLS, private network namespace); see the scripts' headers.
function(pf_capacity_it name timeout)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh)
  set_tests_properties(${name} PROPERTIES LABELS "integration;capacity" TIMEOUT ${timeout}
    ENVIRONMENT "PF_COLLECTOR_BIN=$<TARGET_FILE:portfleet-collector>;PF_FLEETSIM_BIN=$<TARGET_FILE:fleetsim>")
endfunction()
pf_capacity_it(capacity_scenarios 900)
pf_capacity_it(fleet_mirror 600)
pf_capacity_it(capacity_report_render 600)
pf_capacity_it(capacity_report_pages 600)
pf_capacity_it(capacity_report_browse 600)
pf_capacity_it(capacity_cache 300)

# The in-memory path of the hourly fold printed as rows (collector_fold.sh).
add_executable(fold_rows tools/fold_rows.c)
target_link_libraries(fold_rows PRIVATE pfcapacity)
