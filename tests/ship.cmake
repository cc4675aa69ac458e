# SPDX-License-Identifier: MIT
# Shipping tests: the quickstart's start / start again / stop
# cycle with this build's programs, and the .deb packages built, installed
# with dpkg, started from their units and removed: here (package_deb, in
# private namespaces) and in a VM with systemd (package_systemd). All run
# as root (see the scripts' headers); 77 means skipped.
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
  SKIP_RETURN_CODE 77 RESOURCE_LOCK pf_package_build
  ENVIRONMENT "PF_SOURCE_DIR=${PROJECT_SOURCE_DIR};PF_PKG_BUILD=${CMAKE_BINARY_DIR}/package")
# The same .debs installed, started with systemctl and removed in a Debian 12
# VM whose PID 1 is systemd (qemu; the image is built once with debootstrap
# into ~/.cache/portfleet and reused). Under TCG on this 2-core machine
# (its KVM cannot boot a stock kernel): 4 to 5 min with the image cached,
# 7 min without (2.5 of them building the image).
add_test(NAME package_systemd COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/package_systemd.sh)
set_tests_properties(package_systemd PROPERTIES LABELS "integration;ship;vm" TIMEOUT 1800
  SKIP_RETURN_CODE 77 RESOURCE_LOCK pf_package_build
  ENVIRONMENT "PF_SOURCE_DIR=${PROJECT_SOURCE_DIR};PF_PKG_BUILD=${CMAKE_BINARY_DIR}/package")
