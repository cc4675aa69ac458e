# SPDX-License-Identifier: MIT
# Packaging.cmake: what `cmake --install` puts where besides the programs,
# and the two Debian packages `cpack` builds from it. Two install
# components, one package each:
#   agent      portfleet-agent, its systemd unit, /etc/portfleet/agent.conf
#   collector  portfleet-collector, sql/, its unit, /etc/portfleet/collector.conf
# The programs and sql/ get their component where they are installed (the
# top-level CMakeLists.txt sets the default component per directory). The
# units are deploy/*.service with the paths of this prefix filled in; the
# config files are deploy/*.conf.sample: comments only, no secret. The
# maintainer scripts (deploy/debian/<component>/) create the collector's
# user and start a service only once its config names what it needs.
#
# Build the packages with the prefix they install to:
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-pkg -j && (cd build-pkg && cpack -G DEB)
if(WIN32)
  return() # the Windows agent is shipped by deploy/windows/Install-PortfleetAgent.ps1
endif()

set(PF_UNIT_DIR lib/systemd/system)
set(PF_ETC_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/portfleet)
set(PF_DEPLOY ${PROJECT_SOURCE_DIR}/deploy)

# Fills a deploy/ unit's @BINDIR@, @STATE@, @CONFIG@, @DOCDIR@ for this
# prefix (the same placeholders `portfleet-agent install` fills in).
function(pf_unit_for_prefix name config docdir)
  set(BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
  set(STATE portfleet)
  set(CONFIG ${config})
  set(DOCDIR ${docdir})
  configure_file(${PF_DEPLOY}/${name} ${PROJECT_BINARY_DIR}/units/${name} @ONLY)
endfunction()

# ---- agent ----
pf_unit_for_prefix(portfleet-agent.service ${PF_ETC_DIR}/agent.conf
                   ${CMAKE_INSTALL_FULL_DATADIR}/doc/portfleet-agent)
install(FILES ${PROJECT_BINARY_DIR}/units/portfleet-agent.service
        DESTINATION ${PF_UNIT_DIR} COMPONENT agent)
install(FILES ${PF_DEPLOY}/agent.conf.sample DESTINATION ${PF_ETC_DIR}
        RENAME agent.conf PERMISSIONS OWNER_READ OWNER_WRITE COMPONENT agent)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/portfleet-agent
        COMPONENT agent)
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/portfleet-agent
        RENAME copyright COMPONENT agent)

# ---- collector ----
if(PF_BUILD_COLLECTOR)
  pf_unit_for_prefix(portfleet-collector.service ${PF_ETC_DIR}/collector.conf
                     ${CMAKE_INSTALL_FULL_DATADIR}/doc/portfleet-collector)
  install(FILES ${PROJECT_BINARY_DIR}/units/portfleet-collector.service
          DESTINATION ${PF_UNIT_DIR} COMPONENT collector)
  install(FILES ${PF_DEPLOY}/collector.conf.sample DESTINATION ${PF_ETC_DIR}
          RENAME collector.conf PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
          COMPONENT collector)
  install(FILES README.md ${PF_DEPLOY}/SCALING.md
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/portfleet-collector COMPONENT collector)
  install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/portfleet-collector
          RENAME copyright COMPONENT collector)
endif()

# ---- Debian packages ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME portfleet)
set(CPACK_PACKAGE_VENDOR "The portfleet authors")
set(CPACK_PACKAGE_CONTACT "The portfleet authors <portfleet@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# Absolute destinations (/etc/portfleet) go into the package, not onto
# this machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_COMPONENTS_ALL agent)
if(PF_BUILD_COLLECTOR)
  list(APPEND CPACK_COMPONENTS_ALL collector)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # Depends: from the linked libraries
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/portfleet")

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME portfleet-agent)
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "ephemeral port usage snapshots for the portfleet collector\n\
Takes a snapshot of the dynamic port range every interval (TCP states\n\
including bound-only sockets, per process and service, per remote) and\n\
pushes it over TLS to portfleet-collector, spooling to disk when it\n\
cannot. `portfleet-agent snapshot --text` is a console view of the same.")
# The config files are conffiles: dpkg keeps an edited one on upgrade and
# on `dpkg -r`, and removes it on `dpkg -P`.
file(WRITE ${PROJECT_BINARY_DIR}/debian/agent/conffiles "${PF_ETC_DIR}/agent.conf\n")
file(WRITE ${PROJECT_BINARY_DIR}/debian/collector/conffiles "${PF_ETC_DIR}/collector.conf\n")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${PF_DEPLOY}/debian/agent/postinst;${PF_DEPLOY}/debian/agent/prerm;${PF_DEPLOY}/debian/agent/postrm;${PROJECT_BINARY_DIR}/debian/agent/conffiles")

set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME portfleet-collector)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_RECOMMENDS "postgresql")
set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION
    "collector and capacity advice for portfleet agents\n\
A TLS server that enrolls portfleet agents, stores their snapshots in\n\
PostgreSQL and turns them into capacity advice: findings (port leaks,\n\
exhaustion forecasts, ranges too small, hosts to add), site plans, an\n\
HTML report, CSV and Prometheus metrics.")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_CONTROL_EXTRA
    "${PF_DEPLOY}/debian/collector/postinst;${PF_DEPLOY}/debian/collector/prerm;${PF_DEPLOY}/debian/collector/postrm;${PROJECT_BINARY_DIR}/debian/collector/conffiles")

include(CPack)
