# Sources of the ipcbench module: target_sources(forkpool_lib PRIVATE src/ipcbench/...)
