# SPDX-License-Identifier: MIT
# collector/alert/: notifications (alert.h): the evaluator and sender
# threads, the message formats, destinations, the acknowledge endpoint and
# the `alert` command. Part of pfcollector; sends with libcurl.
pkg_check_modules(PF_ALERT_CURL REQUIRED IMPORTED_TARGET libcurl)
target_sources(pfcollector PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/alert.c
  ${CMAKE_CURRENT_LIST_DIR}/alert_api.c
  ${CMAKE_CURRENT_LIST_DIR}/alert_cmd.c
  ${CMAKE_CURRENT_LIST_DIR}/alert_dest.c
  ${CMAKE_CURRENT_LIST_DIR}/alert_format.c
)
target_include_directories(pfcollector PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(pfcollector PUBLIC PkgConfig::PF_ALERT_CURL m)
