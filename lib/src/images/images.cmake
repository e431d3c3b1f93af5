# forkpool::images: defined here once the module has sources, as
#   add_library(forkpool_images STATIC src/images/...)
#   add_library(forkpool::images ALIAS forkpool_images)
#   target_link_libraries(forkpool_images PUBLIC forkpool::lib ${OpenCV_LIBS} PRIVATE forkpool_flags ...)
