# `cmake --install` puts the forkpool binary, the public headers and a CMake package in place,
# so another project can find_package(forkpool) and link forkpool::lib.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_forkpool_targets forkpool_ipc forkpool_lib)
if(TARGET forkpool_images)
  list(APPEND _forkpool_targets forkpool_images)
endif()
install(TARGETS ${_forkpool_targets} forkpool_flags EXPORT forkpoolTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS forkpool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ipc/include/ lib/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT forkpoolTargets NAMESPACE forkpool::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/forkpool)
configure_package_config_file(cmake/forkpoolConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/forkpool)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/forkpool)
