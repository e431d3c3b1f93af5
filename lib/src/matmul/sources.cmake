# Sources of the matmul module: target_sources(forkpool_lib PRIVATE src/matmul/...)
