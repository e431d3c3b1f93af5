# forkpool::images, the image pipeline: the only part of forkpool that needs OpenCV, so it is a
# target of its own and the rest builds where OpenCV is absent. One file per op under ops/,
# listed in ops/ops.hpp.
add_library(forkpool_images STATIC
  src/images/geometry.cpp
  src/images/image_header.cpp
  src/images/decode_limits.cpp
  src/images/codec.cpp
  src/images/files.cpp
  src/images/registry.cpp
  src/images/image_job.cpp
  src/images/batch_plan.cpp
  src/images/batch_run.cpp
  src/images/ops/op_support.cpp
  src/images/ops/resize.cpp
  src/images/ops/crop.cpp
  src/images/ops/rotate.cpp
  src/images/ops/flip.cpp
  src/images/ops/gray.cpp
  src/images/ops/blur.cpp
  src/images/ops/sharpen.cpp
  src/images/ops/edges.cpp
  src/images/ops/threshold.cpp
  src/images/ops/equalize.cpp
  src/images/ops/invert.cpp
  src/images/ops/denoise.cpp
)
add_library(forkpool::images ALIAS forkpool_images)
set_target_properties(forkpool_images PROPERTIES EXPORT_NAME images POSITION_INDEPENDENT_CODE ON)
target_include_directories(forkpool_images PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:include>)
target_link_libraries(forkpool_images
  PUBLIC forkpool::lib ${OpenCV_LIBS}
  PRIVATE forkpool_flags fmt::fmt nlohmann_json::nlohmann_json TBB::tbb)
