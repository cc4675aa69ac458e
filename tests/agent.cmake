# SPDX-License-Identifier: MIT
# Agent tests: pure parsers and aggregation as unit tests; exactness against
# the kernel as an integration test in a private network namespace.
pf_unit_test(test_aggregate pfagent)
pf_unit_test(test_sockdiag pfagent)
pf_unit_test(test_portrange pfagent)
pf_unit_test(test_procfd pfagent)
pf_unit_test(test_cpustat pfagent)
pf_unit_test(test_cfmetrics pfagent)
pf_unit_test(test_addr pfcommon)

add_executable(sockhold integration/sockhold.c)

if(NOT WIN32)
  add_test(NAME agent_exactness
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/agent_exactness.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(agent_exactness PROPERTIES LABELS integration TIMEOUT 300)
  add_test(NAME agent_resources
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/agent_resources.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(agent_resources PROPERTIES LABELS integration TIMEOUT 600)
  add_test(NAME agent_sessions
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/agent_sessions.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(agent_sessions PROPERTIES LABELS integration TIMEOUT 120)
endif()

# Benchmark helpers (tests/bench/agent_snapshot.sh runs them; not a test).
add_executable(ref_dump bench/ref_dump.c)
add_executable(runstat bench/runstat.c)
if(NOT WIN32)
  find_package(Threads REQUIRED)
  add_executable(bench_resources bench/bench_resources.c)
  target_link_libraries(bench_resources PRIVATE pfagent Threads::Threads)
  target_compile_definitions(bench_resources PRIVATE PF_TEST_DATA="${CMAKE_SOURCE_DIR}/tests/data")
endif()
