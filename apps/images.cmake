# Sources of the 'images' subcommand: target_sources(forkpool PRIVATE ...)
