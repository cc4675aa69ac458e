# SPDX-License-Identifier: MIT
# Agent delivery tests: spool, state, backoff/failover and the
# transport's pure parts as unit tests; the delivery acceptance tests
# (outage, crash, spool cap, retry policy, failover, exhaustion, restarted
# collector, install) as integration tests in private network namespaces
# against the real collector, a real PostgreSQL, or a scripted TLS server.
pf_unit_test(test_spool pfagent)
pf_unit_test(test_state pfagent)
pf_unit_test(test_backoff pfagent)
pf_unit_test(test_transport pfagent)
pf_unit_test(test_service pfagent)
pf_unit_test(test_srcport pfagent)
pf_unit_test(test_castore pfagent)

if(NOT WIN32)
  # pf_agent_it(<name> <timeout s>): tests/integration/<name>.sh BUILD_DIR
  function(pf_agent_it name timeout)
    add_test(NAME ${name}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh ${CMAKE_BINARY_DIR})
    set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT ${timeout}
      ENVIRONMENT "PF_COLLECTOR_BIN=${CMAKE_BINARY_DIR}/collector/portfleet-collector")
  endfunction()
  add_executable(portburner integration/portburner.c)
  # the Windows trust store reader's pure half, on certificates openssl makes
  add_executable(castore_bundle tools/castore_bundle.c)
  target_link_libraries(castore_bundle PRIVATE pfagent)
  add_test(NAME agent_castore
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/agent_castore.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(agent_castore PROPERTIES LABELS unit TIMEOUT 60)
  pf_agent_it(agent_retry_policy 180)
  pf_agent_it(agent_outage 600)
  pf_agent_it(agent_crash 900)
  pf_agent_it(agent_spool_cap 600)
  pf_agent_it(agent_failover 300)
  pf_agent_it(agent_exhaustion 300)
  pf_agent_it(agent_reconnect 300)
  pf_agent_it(agent_schedule 300)
  pf_agent_it(agent_install 120)
endif()
