# FORKPOOL_WITH_OPENBLAS and forkpool::openblas_serial: the serial OpenBLAS (libopenblas-serial-dev)
# that Eigen's products call when the option is on (lib/CMakeLists.txt compiles kernels.cpp with
# EIGEN_USE_BLAS). It is found in its own directory rather than through the libblas/libopenblas
# alternatives, so no BLAS thread pool exists whatever the system default is.
#
# Every build of OpenBLAS has the soname libopenblas.so.0, and OpenCV (through liblapack.so.3 and
# libblas.so.3) pulls in whichever the system's alternatives point at, the pthread build by
# default. A process holds one libopenblas.so.0, and the pthread build's libblas/liblapack do not
# run on the serial one, so all three are linked from the serial directory and found there at
# run time (the rpath below), kept even though the binary calls nothing in libblas/liblapack
# itself (Debian's g++ links --as-needed): then OpenCV's LAPACK runs on the serial build too,
# and no BLAS thread pool starts in the coordinator or a worker. cmake/forkpoolConfig.cmake.in
# makes the same target for installed consumers.
find_library(FORKPOOL_OPENBLAS_SERIAL openblas
  PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-serial /usr/lib64/openblas-serial
  NO_DEFAULT_PATH)
set(_forkpool_openblas_found OFF)
if(FORKPOOL_OPENBLAS_SERIAL)
  set(_forkpool_openblas_found ON)
  get_filename_component(FORKPOOL_OPENBLAS_SERIAL_DIR "${FORKPOOL_OPENBLAS_SERIAL}" DIRECTORY)
endif()
option(FORKPOOL_WITH_OPENBLAS "Multiply matrix tiles with the serial OpenBLAS under Eigen"
  ${_forkpool_openblas_found})
if(NOT FORKPOOL_WITH_OPENBLAS)
  return()
endif()

find_library(FORKPOOL_OPENBLAS_SERIAL_BLAS blas PATHS ${FORKPOOL_OPENBLAS_SERIAL_DIR} NO_DEFAULT_PATH)
find_library(FORKPOOL_OPENBLAS_SERIAL_LAPACK lapack PATHS ${FORKPOOL_OPENBLAS_SERIAL_DIR} NO_DEFAULT_PATH)
if(NOT FORKPOOL_OPENBLAS_SERIAL OR NOT FORKPOOL_OPENBLAS_SERIAL_BLAS OR NOT FORKPOOL_OPENBLAS_SERIAL_LAPACK)
  message(FATAL_ERROR "FORKPOOL_WITH_OPENBLAS is ON but the serial OpenBLAS was not found: "
    "install libopenblas-serial-dev or configure with -DFORKPOOL_WITH_OPENBLAS=OFF")
endif()
add_library(forkpool::openblas_serial INTERFACE IMPORTED GLOBAL)
set_target_properties(forkpool::openblas_serial PROPERTIES
  INTERFACE_LINK_LIBRARIES "-Wl,--push-state,--no-as-needed;${FORKPOOL_OPENBLAS_SERIAL};${FORKPOOL_OPENBLAS_SERIAL_BLAS};${FORKPOOL_OPENBLAS_SERIAL_LAPACK};-Wl,--pop-state"
  INTERFACE_LINK_OPTIONS "LINKER:-rpath,${FORKPOOL_OPENBLAS_SERIAL_DIR}")
message(STATUS "forkpool: matrix tiles on the serial OpenBLAS in ${FORKPOOL_OPENBLAS_SERIAL_DIR}")
