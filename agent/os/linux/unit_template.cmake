# SPDX-License-Identifier: MIT
# Compiles deploy/portfleet-agent.service into unit_template.h (a C array)
# so that `portfleet-agent install` writes exactly the unit kept in deploy/.
set(PF_UNIT_SRC ${PROJECT_SOURCE_DIR}/deploy/portfleet-agent.service)
set(PF_UNIT_HDR ${CMAKE_CURRENT_BINARY_DIR}/generated/unit_template.h)
add_custom_command(
  OUTPUT ${PF_UNIT_HDR}
  COMMAND ${CMAKE_COMMAND} -DIN=${PF_UNIT_SRC} -DOUT=${PF_UNIT_HDR}
          -P ${CMAKE_CURRENT_LIST_DIR}/unit_template_gen.cmake
  DEPENDS ${PF_UNIT_SRC} ${CMAKE_CURRENT_LIST_DIR}/unit_template_gen.cmake
  COMMENT "Embedding the systemd unit template")
target_sources(pfagent PRIVATE ${PF_UNIT_HDR})
target_include_directories(pfagent PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
