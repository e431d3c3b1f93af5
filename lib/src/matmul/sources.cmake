# Sources of the matmul module: .npy files, the tile kernels and plan, Freivalds' check, and
# the product on any backend.
target_sources(forkpool_lib PRIVATE
  src/matmul/freivalds.cpp
  src/matmul/kernels.cpp
  src/matmul/matmul.cpp
  src/matmul/npy.cpp
  src/matmul/tile_plan.cpp
)
