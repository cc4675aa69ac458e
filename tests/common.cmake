# SPDX-License-Identifier: MIT
# tests/common.cmake: unit tests and fuzzers of the common/ library.
pf_unit_test(test_snapshot_json pfcommon)
pf_unit_test(test_snapshot pfcommon)
pf_unit_test(test_config pfcommon)
pf_fuzz_target(fuzz_snapshot fuzz_snapshot.c pfcommon)
pf_fuzz_target(fuzz_json_tree fuzz_json_tree.c pfcommon)
pf_unit_test(test_timeutil pfcommon)
pf_unit_test(test_buf pfcommon)
pf_unit_test(test_html pfcommon)
pf_unit_test(test_array pfcommon)
pf_unit_test(test_tcp_state pfcommon)
# Benchmarks: built, not run by ctest (they report ratios, not pass/fail).
add_executable(bench_snapshot_json bench/bench_snapshot_json.c)
target_link_libraries(bench_snapshot_json PRIVATE pfcommon)
pf_unit_test(test_log pfcommon)
