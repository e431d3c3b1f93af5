# `cmake --install` puts the forkpool binary, its man pages (man/) and bash completion, the public
# headers and a CMake package in place, so another project can find_package(forkpool
# COMPONENTS lib) and link forkpool::lib.
# forkpool::images has an export set of its own, loaded only when the images component is asked
# for: a consumer of forkpool::lib alone needs no OpenCV.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_forkpool_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/forkpool)
install(TARGETS forkpool_ipc forkpool_lib forkpool_flags EXPORT forkpoolTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT forkpoolTargets NAMESPACE forkpool:: DESTINATION ${_forkpool_cmake_dir})
if(TARGET forkpool_images)
  install(TARGETS forkpool_images EXPORT forkpoolImagesTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT forkpoolImagesTargets NAMESPACE forkpool:: DESTINATION ${_forkpool_cmake_dir})
endif()
install(TARGETS forkpool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET forkpool_images_commands)
  install(TARGETS forkpool_images_commands LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/forkpool)
endif()
install(FILES completion/forkpool.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME forkpool)
install(DIRECTORY ipc/include/ lib/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
configure_package_config_file(cmake/forkpoolConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfig.cmake
  INSTALL_DESTINATION ${_forkpool_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/forkpoolConfigVersion.cmake
  DESTINATION ${_forkpool_cmake_dir})
