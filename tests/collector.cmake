# SPDX-License-Identifier: MIT
# Collector tests: unit tests of its pure parts, the HTTP parser fuzzer and
# the integration tests (throwaway PostgreSQL + the real collector over TLS,
# inside a private network namespace; they need root or the postgres user).
pf_unit_test(test_http pfcollector)
pf_unit_test(test_route pfcollector)
pf_unit_test(test_store pfcollector)
pf_unit_test(test_auth pfcollector)
pf_unit_test(test_access pfcollector)
pf_unit_test(test_auth_cache pfcollector)
pf_unit_test(test_options pfcollector)
pf_fuzz_target(fuzz_http fuzz_http.c pfcollector)

# pf_collector_it(<name> <timeout-seconds>): tests/integration/<name>.sh
function(pf_collector_it name timeout)
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh)
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT ${timeout}
    ENVIRONMENT "PF_COLLECTOR_BIN=$<TARGET_FILE:portfleet-collector>")
endfunction()
pf_collector_it(collector_api 600)
pf_collector_it(collector_dbdown 300)
pf_collector_it(collector_slowloris 300)
pf_collector_it(collector_rollup 300)
pf_collector_it(tenants 600)
pf_collector_it(collector_revoke 600)
pf_collector_it(collector_drain 300)
pf_collector_it(collector_storage 300)
pf_collector_it(collector_retention 300)
pf_collector_it(collector_fold 300)
pf_collector_it(collector_strings_race 300)
pf_collector_it(collector_dictionary 300)
pf_collector_it(collector_deadlock 300)
pf_collector_it(collector_access_stale 300)
set_tests_properties(collector_fold PROPERTIES ENVIRONMENT
  "PF_COLLECTOR_BIN=$<TARGET_FILE:portfleet-collector>;PF_FOLD_ROWS_BIN=$<TARGET_FILE:fold_rows>")
pf_collector_it(collector_fold_busy 600)
set_tests_properties(collector_fold_busy PROPERTIES ENVIRONMENT
  "PF_COLLECTOR_BIN=$<TARGET_FILE:portfleet-collector>;PF_FOLD_ROWS_BIN=$<TARGET_FILE:fold_rows>;PF_FLEETSIM_BIN=$<TARGET_FILE:fleetsim>")
# builds the previous release from git first (skipped when the commit is absent)
pf_collector_it(collector_upgrade 1500)
set_tests_properties(collector_upgrade PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT
  "PF_COLLECTOR_BIN=$<TARGET_FILE:portfleet-collector>;PF_FLEETSIM_BIN=$<TARGET_FILE:fleetsim>")

# The benchmark's load generator and raw-COPY reference (run by
# tests/bench/collector_bench.sh; built here so it keeps compiling).
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
add_executable(collector_bench bench/collector_bench.c)
target_link_libraries(collector_bench PRIVATE pfcollector CURL::libcurl OpenSSL::SSL)
