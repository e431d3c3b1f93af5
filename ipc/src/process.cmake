# Child processes (pid + pidfd) and the epoll event loop: target_sources(forkpool_ipc PRIVATE ...)
