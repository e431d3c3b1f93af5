# Sources of the matmul module: .npy files, the tile kernels and plan, Freivalds' check, and
# the product on any backend.
target_sources(forkpool_lib PRIVATE
  src/matmul/cpu_features.cpp
  src/matmul/freivalds.cpp
  src/matmul/kernel_choice.cpp
  src/matmul/kernels.cpp
  src/matmul/matmul.cpp
  src/matmul/npy.cpp
  src/matmul/pool_memory.cpp
  src/matmul/tile_plan.cpp
)

# Eigen's BLAS backend only in the kernel's translation unit: it is the one place that
# instantiates Eigen's products (matmul.cpp only sets Eigen's thread count), so no product
# template is compiled both with and without it.
if(FORKPOOL_WITH_OPENBLAS)
  include(src/matmul/openblas.cmake)
  set_property(SOURCE src/matmul/kernels.cpp APPEND PROPERTY
    COMPILE_DEFINITIONS EIGEN_USE_BLAS FORKPOOL_WITH_OPENBLAS)
  target_link_libraries(forkpool_lib PRIVATE forkpool::openblas_serial)
endif()
