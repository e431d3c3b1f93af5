#pragma once
// Less than this process has, for tests of permission and disk-full paths that must also hold
// when the suite runs as root (root ignores mode bits, and no disk here is small): a user
// namespace with no capability over existing files, or a small tmpfs in a private mount
// namespace. Each runs in a child, so the test process itself is never changed.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace forkpool::testing {

// What the run_* functions return when the kernel (or a container's policy) refuses the
// namespaces: the caller skips with GTEST_SKIP.
inline constexpr int kSandboxUnavailable = 125;

// Runs `body` in a forked child that has first entered a new user namespace without any id
// mapping: it keeps its uid for file access but holds no capability over existing files, so
// mode bits apply even to root. Returns body's result (0..124), or kSandboxUnavailable.
// The calling test must be single-threaded (unshare of a user namespace requires it).
int run_unprivileged(const std::function<int()>& body);

// Runs `body` in a forked child that sees a fresh tmpfs of `bytes` mounted on `folder` (which
// must exist), in a mount namespace of its own: the mount vanishes with the child. Returns
// body's result (0..124), or kSandboxUnavailable.
int run_on_small_tmpfs(const std::filesystem::path& folder, std::size_t bytes,
                       const std::function<int()>& body);

// The same for a command run with run_command: argv wrapped so that it runs without
// privileges (`unshare -U`), or with a tmpfs of `bytes` on `folder`, after which the names in
// `folder` are written, one a line, to `listing` (the tmpfs is gone once the command ends).
// Empty when unshare(1) is missing or refused: the caller skips.
std::vector<std::string> unprivileged_argv(const std::vector<std::string>& argv);
std::vector<std::string> on_small_tmpfs_argv(const std::filesystem::path& folder, std::size_t bytes,
                                             const std::filesystem::path& listing,
                                             const std::vector<std::string>& argv);

// argv wrapped so that no file it writes may grow past `bytes` (RLIMIT_FSIZE, with SIGXFSZ
// ignored so that a write past it fails with EFBIG instead of killing the program).
std::vector<std::string> file_size_limited_argv(std::size_t bytes, const std::vector<std::string>& argv);

}  // namespace forkpool::testing
