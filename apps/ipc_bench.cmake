# Sources of the 'ipc_bench' subcommand: target_sources(forkpool PRIVATE ...)
