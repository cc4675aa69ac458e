# SPDX-License-Identifier: MIT
# collector/capacity/capacity.cmake: pfcapacity, the pure analysis over
# in-memory hourly series (stats, fleet, demand, plan, findings) and its
# renderings (collector/report: JSON, text, CSV, HTML, Prometheus), and the
# cache that shares analyses between requests. It needs only pfcommon, so
# its unit tests build while the server around it changes.
# Its database side (the ingest rollups and the loader) is in
# collector/store, its HTTP side in collector/capacity_api.c.
add_library(pfcapacity STATIC
  ${CMAKE_CURRENT_LIST_DIR}/stats.c
  ${CMAKE_CURRENT_LIST_DIR}/fleet.c
  ${CMAKE_CURRENT_LIST_DIR}/sizing.c
  ${CMAKE_CURRENT_LIST_DIR}/resources.c
  ${CMAKE_CURRENT_LIST_DIR}/demand.c
  ${CMAKE_CURRENT_LIST_DIR}/fold.c
  ${CMAKE_CURRENT_LIST_DIR}/plan.c
  ${CMAKE_CURRENT_LIST_DIR}/plan_resources.c
  ${CMAKE_CURRENT_LIST_DIR}/findings.c
  ${CMAKE_CURRENT_LIST_DIR}/findings_resources.c
  ${CMAKE_CURRENT_LIST_DIR}/capacity.c
  ${CMAKE_CURRENT_LIST_DIR}/analysis_cache.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_json.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_text.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_csv.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_html.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_page.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_overview.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_site.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_host.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/host_detail.c
  ${CMAKE_CURRENT_LIST_DIR}/../report/report_metrics.c
)
target_include_directories(pfcapacity PUBLIC ${CMAKE_CURRENT_LIST_DIR}
                           ${CMAKE_CURRENT_LIST_DIR}/../report)
find_package(Threads REQUIRED) # analysis_cache.c's mutex
target_link_libraries(pfcapacity PUBLIC pfcommon pf_cjson m Threads::Threads)
