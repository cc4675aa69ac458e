# SPDX-License-Identifier: MIT
# Collector tests: unit tests of its pure parts, the HTTP parser fuzzer and
# the integration tests (throwaway PostgreSQL + the real collector over TLS,
# inside a private network namespace).
pf_unit_test(test_http pfcollector)
pf_fuzz_target(fuzz_http fuzz_http.c pfcollector)
