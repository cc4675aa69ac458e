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
# Build the packages (they install to /usr and /etc/portfleet):
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DPF_BUILD_TESTS=OFF
#   cmake --build build-pkg -j && (cd build-pkg && cpack -G DEB)
if(WIN32)
  return() # the Windows agent is shipped by deploy/windows/Install-PortfleetAgent.ps1
endif()

# Units and config files are placed at install time (PackagingInstall.cmake),
# so that `cmake --install --prefix P` and DESTDIR work: the paths inside the
# units (ExecStart, the config file) follow the install prefix, and the
# config directory is /etc/portfleet for prefix /usr, P/etc/portfleet else.
set(PF_DEPLOY ${PROJECT_SOURCE_DIR}/deploy)
function(pf_install_unit_and_config component unit conf mode)
  install(CODE "
    set(pf_src \"${PF_DEPLOY}\")
    set(pf_work \"${PROJECT_BINARY_DIR}/units\")
    set(pf_bindir \"${CMAKE_INSTALL_BINDIR}\")
    set(pf_datadir \"${CMAKE_INSTALL_DATADIR}\")
    set(pf_package portfleet-${component})
    set(pf_unit ${unit})
    set(pf_conf ${conf})
    set(pf_conf_mode ${mode})
    include(\"${CMAKE_CURRENT_FUNCTION_LIST_DIR}/PackagingInstall.cmake\")"
    COMPONENT ${component})
endfunction()

# ---- agent ----
pf_install_unit_and_config(agent portfleet-agent.service agent.conf "OWNER_READ;OWNER_WRITE")
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/portfleet-agent
        COMPONENT agent)
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/portfleet-agent
        RENAME copyright COMPONENT agent)

# ---- collector ----
if(PF_BUILD_COLLECTOR)
  pf_install_unit_and_config(collector portfleet-collector.service collector.conf
                             "OWNER_READ;OWNER_WRITE;GROUP_READ")
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
# Packages install to /usr (and so /etc/portfleet), whatever the prefix of
# this build; DESTDIR keeps /etc/portfleet in the package, off this machine.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
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
# The agent loads libcurl at run time (agent/os/curlapi.h), so shlibdeps
# cannot see it: name it.
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "libcurl4 (>= 7.88)")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "ephemeral port usage snapshots for the portfleet collector\n\
Takes a snapshot of the dynamic port range every interval (TCP states\n\
including bound-only sockets, per process and service, per remote) and\n\
pushes it over TLS to portfleet-collector, spooling to disk when it\n\
cannot. `portfleet-agent snapshot --text` is a console view of the same.")
# The config files are conffiles: dpkg keeps an edited one on upgrade and
# on `dpkg -r`, and removes it on `dpkg -P`.
file(WRITE ${PROJECT_BINARY_DIR}/debian/agent/conffiles "/etc/portfleet/agent.conf\n")
file(WRITE ${PROJECT_BINARY_DIR}/debian/collector/conffiles "/etc/portfleet/collector.conf\n")
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
