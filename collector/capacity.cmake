# SPDX-License-Identifier: MIT
# collector/capacity.cmake: the capacity engine (issue 5). pfcapacity is the
# pure analysis over in-memory hourly series (stats, fleet, plan, findings)
# and its renderings (JSON, text, CSV, HTML, Prometheus); it needs only
# pfcommon, so its unit tests build while the server around it changes.
add_library(pfcapacity STATIC
  stats.c
  fleet.c
  plan.c
  findings.c
  capacity.c
  report_json.c
  report_text.c
  report_csv.c
  report_html.c
  report_metrics.c
)
target_include_directories(pfcapacity PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(pfcapacity PUBLIC pfcommon pf_cjson m)

# Its database and HTTP side live in the collector: the ingest rollups
# (rollup.c and proc_rollup.c, called by store.c), the loader (analysis_db.c) and the read
# endpoints and `report` command (capacity_api.c).
target_sources(pfcollector PRIVATE pgarray.c rollup.c proc_rollup.c analysis_db.c capacity_api.c)
target_link_libraries(pfcollector PUBLIC pfcapacity)
