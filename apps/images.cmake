# Sources of the 'images' subcommand.
target_sources(forkpool PRIVATE cmd_images.cpp images_report.cpp)
