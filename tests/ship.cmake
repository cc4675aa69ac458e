# SPDX-License-Identifier: MIT
# Shipping tests (issue 7): the quickstart's start / start again / stop
# cycle with this build's programs, and the .deb packages built, installed
# with dpkg, started from their units and removed. Both run as root in
# private namespaces (see the scripts' headers); 77 means skipped.
if(WIN32 OR NOT PF_BUILD_COLLECTOR)
  return()
endif()
add_test(NAME quickstart_cycle COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/quickstart_cycle.sh)
set_tests_properties(quickstart_cycle PROPERTIES LABELS "integration;ship" TIMEOUT 600
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PF_SOURCE_DIR=${PROJECT_SOURCE_DIR};PF_BUILD_DIR=${CMAKE_BINARY_DIR}")
# The packages come from a Release build of their own (under this build
# directory, reused by later runs): the .debs are what an admin installs.
add_test(NAME package_deb COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/package_deb.sh)
set_tests_properties(package_deb PROPERTIES LABELS "integration;ship" TIMEOUT 900
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PF_SOURCE_DIR=${PROJECT_SOURCE_DIR};PF_PKG_BUILD=${CMAKE_BINARY_DIR}/package")
