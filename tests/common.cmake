# SPDX-License-Identifier: MIT
# tests/common.cmake: unit tests and fuzzers of the common/ library.
pf_unit_test(test_snapshot_json pfcommon)
pf_unit_test(test_config pfcommon)
