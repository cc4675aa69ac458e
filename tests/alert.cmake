# SPDX-License-Identifier: MIT
# Notification tests: unit tests of the formats and checks, the Prometheus
# rules (promtool), and the integration tests with real receivers (HTTPS
# webhook receivers, an SMTP server) on loopback in a private network
# namespace.
pf_unit_test(test_alert pfcollector)

function(pf_alert_it name timeout)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh)
  set_tests_properties(${name} PROPERTIES LABELS "integration;alert" TIMEOUT ${timeout}
    ENVIRONMENT "PF_COLLECTOR_BIN=$<TARGET_FILE:portfleet-collector>")
endfunction()
pf_alert_it(alert_webhook 600)
pf_alert_it(alert_crash 600)
pf_alert_it(alert_smtp 600)
pf_alert_it(alert_shared 300)

# The Prometheus rules: syntax, and their unit test (series shaped like
# /metrics; each alert must fire, and stay quiet before it should).
find_program(PF_PROMTOOL promtool)
if(PF_PROMTOOL)
  add_test(NAME prometheus_rules_check
           COMMAND ${PF_PROMTOOL} check rules ${CMAKE_SOURCE_DIR}/deploy/prometheus/portfleet-rules.yml)
  add_test(NAME prometheus_rules_test
           COMMAND ${PF_PROMTOOL} test rules portfleet-rules.test.yml
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/prometheus)
  set_tests_properties(prometheus_rules_check prometheus_rules_test PROPERTIES LABELS "unit;alert")
else()
  message(WARNING "promtool not found (Debian package prometheus): the rules tests are not run")
endif()
