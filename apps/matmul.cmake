# Sources of the 'matmul' subcommand: target_sources(forkpool PRIVATE ...)
