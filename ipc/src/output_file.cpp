#include "forkpool/ipc/output_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's own limit on a path walk
// The part of a target's name kept in its temporary's: room for "." + marker + 16 digits
// within NAME_MAX.
constexpr std::size_t kMaxKeptName = 200;
constexpr int kTempAttempts = 8;

Result<fs::path> real_folder(const fs::path& folder) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(folder.c_str(), nullptr), &std::free);
  if (!real) return sys_failure("realpath", folder.native());
  struct stat st {};
  if (::stat(real.get(), &st) != 0) return sys_failure("realpath", folder.native());
  if (!S_ISDIR(st.st_mode)) return sys_failure("realpath", folder.native(), ENOTDIR);
  return fs::path(real.get());
}

bool is_under_proc(const fs::path& real) {
  const std::string& s = real.native();
  return s == "/proc" || s.starts_with("/proc/");
}

Result<void> check_access(const fs::path& path, int mode) {
  if (::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) != 0)
    return sys_failure("access", path.native());
  return {};
}

Result<fs::path> temp_path_for(const fs::path& target) {
  unsigned char random[8];
  auto got = sys_call("getrandom", "temporary name", [&] { return ::getrandom(random, sizeof random, 0); });
  if (!got) return std::unexpected(got.error());
  if (*got != static_cast<ssize_t>(sizeof random)) return sys_failure("getrandom", "temporary name", EIO);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name(1, '.');
  name.append(target.filename().native(), 0, kMaxKeptName);
  name += kTempMarker;
  for (unsigned char b : random) {
    name += kHex[b >> 4];
    name += kHex[b & 15];
  }
  return target.parent_path() / name;
}

// Removes `path`, a temporary file, if its writer is gone: the lock is free and the name
// still names the file that was locked. Returns whether it removed it.
bool remove_if_stale(const fs::path& path) {
  int raw = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (raw < 0) return false;
  UniqueFd fd(raw);
  struct stat locked {}, named {};
  if (::fstat(fd.get(), &locked) != 0 || !S_ISREG(locked.st_mode)) return false;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return false;  // its writer lives
  if (::lstat(path.c_str(), &named) != 0 || named.st_dev != locked.st_dev ||
      named.st_ino != locked.st_ino)
    return false;  // renamed into place, or replaced, since we opened it
  return ::unlink(path.c_str()) == 0;
}

}  // namespace

Result<OutputTarget> resolve_output(const fs::path& path) {
  OutputTarget target;
  if (path == "-") {
    target.path = "-";
    target.kind = OutputKind::standard_output;
    return target;
  }
  if (path.empty()) return sys_failure("open", "", ENOENT);
  fs::path at = path;
  for (int hop = 0; hop <= kMaxSymlinks; ++hop) {
    const fs::path name = at.filename();
    if (name.empty() || name == "." || name == "..") return sys_failure("open", at.native(), EISDIR);
    const fs::path parent = at.has_parent_path() ? at.parent_path() : fs::path(".");
    auto folder = real_folder(parent);
    if (!folder) return std::unexpected(folder.error());
    at = *folder / name;
    struct stat st {};
    if (is_under_proc(*folder)) {
      // /dev/stdout, /dev/fd/N: a link to an open file that is not a path; write it as is.
      if (::stat(at.c_str(), &st) != 0) return sys_failure("open", at.native());
      if (S_ISDIR(st.st_mode)) return sys_failure("open", at.native(), EISDIR);
      target.kind = OutputKind::in_place;
      target.append = S_ISREG(st.st_mode);
      target.path = at;
      target.device = st.st_dev;
      target.inode = st.st_ino;
      return target;
    }
    if (::lstat(at.c_str(), &st) != 0) {
      if (errno != ENOENT) return sys_failure("lstat", at.native());
      if (auto ok = check_access(*folder, W_OK | X_OK); !ok) return std::unexpected(ok.error());
      target.kind = OutputKind::create;
      target.path = at;
      return target;
    }
    if (S_ISLNK(st.st_mode)) {
      std::string link(PATH_MAX, '\0');
      ssize_t n = ::readlink(at.c_str(), link.data(), link.size());
      if (n < 0) return sys_failure("readlink", at.native());
      link.resize(static_cast<std::size_t>(n));
      fs::path next(link);
      at = next.is_absolute() ? next : *folder / next;
      continue;
    }
    if (S_ISDIR(st.st_mode)) return sys_failure("open", at.native(), EISDIR);
    target.path = at;
    target.device = st.st_dev;
    target.inode = st.st_ino;
    if (S_ISREG(st.st_mode)) {
      if (auto ok = check_access(*folder, W_OK | X_OK); !ok) return std::unexpected(ok.error());
      target.kind = OutputKind::replace;
    } else {
      if (auto ok = check_access(at, W_OK); !ok) return std::unexpected(ok.error());
      target.kind = OutputKind::in_place;
    }
    return target;
  }
  return sys_failure("open", path.native(), ELOOP);
}

Result<OutputFile> OutputFile::open(const fs::path& path, OutputOptions options) {
  auto target = resolve_output(path);
  if (!target) return std::unexpected(target.error());
  OutputFile file;
  file.target_ = std::move(*target);
  file.sync_ = options.sync;
  const std::string& subject = file.target_.path.native();
  if (options.live && (file.target_.kind == OutputKind::replace || file.target_.kind == OutputKind::create)) {
    // O_NOFOLLOW: resolve_output followed the links; one made since is not written through.
    auto fd = sys_call("open", subject, [&] {
      return ::open(file.target_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                    0666);
    });
    if (!fd) return std::unexpected(fd.error());
    file.fd_.reset(*fd);
    file.live_ = true;
    return file;
  }
  switch (file.target_.kind) {
    case OutputKind::standard_output: {
      // A copy of fd 1, so closing this file leaves stdout open for the rest of the program.
      auto fd = sys_call("fcntl", "stdout", [] { return ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3); });
      if (!fd) return std::unexpected(fd.error());
      file.fd_.reset(*fd);
      return file;
    }
    case OutputKind::in_place: {
      int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC | (file.target_.append ? O_APPEND : 0);
      auto fd = sys_call("open", subject, [&] { return ::open(file.target_.path.c_str(), flags); });
      if (!fd) return std::unexpected(fd.error());
      file.fd_.reset(*fd);
      return file;
    }
    case OutputKind::replace:
    case OutputKind::create:
      break;
  }
  if (options.remove_stale)
    (void)remove_stale_temp_files(file.target_.path.parent_path(), file.target_.path.filename().native());
  for (int attempt = 0; attempt < kTempAttempts; ++attempt) {
    auto temp = temp_path_for(file.target_.path);
    if (!temp) return std::unexpected(temp.error());
    // The mode is 0666 less the umask, as for any file a tool creates.
    auto fd = sys_call("open", temp->native(), [&] {
      return ::open(temp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    });
    if (!fd) {
      if (fd.error().code == EEXIST) continue;
      return std::unexpected(fd.error());
    }
    UniqueFd owned(*fd);
    if (auto locked = sys_call("flock", temp->native(), [&] { return ::flock(owned.get(), LOCK_EX); });
        !locked) {
      ::unlink(temp->c_str());
      return std::unexpected(locked.error());
    }
    // A cleaner may have taken the lock in the instant between open and flock, found the file
    // ownerless and removed it: then it is gone from the folder, and a fresh one is needed.
    struct stat st {};
    if (auto r = sys_call("fstat", temp->native(), [&] { return ::fstat(owned.get(), &st); }); !r) {
      ::unlink(temp->c_str());
      return std::unexpected(r.error());
    }
    if (st.st_nlink == 0) continue;
    // A file replaced keeps its permissions (a private photo stays private, --in-place most of
    // all), as an editor's save keeps them; a new one has the umask's.
    if (file.target_.kind == OutputKind::replace) {
      struct stat old {};
      if (::stat(file.target_.path.c_str(), &old) == 0 && (old.st_mode & 07777) != (st.st_mode & 07777))
        if (auto r = sys_call("fchmod", temp->native(), [&] { return ::fchmod(owned.get(), old.st_mode & 0777); });
            !r) {
          ::unlink(temp->c_str());
          return std::unexpected(r.error());
        }
    }
    file.fd_ = std::move(owned);
    file.temp_ = std::move(*temp);
    return file;
  }
  return sys_failure("open", subject, EEXIST);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : target_(std::move(other.target_)),
      fd_(std::move(other.fd_)),
      temp_(std::exchange(other.temp_, {})),
      sync_(other.sync_),
      live_(other.live_) {}

OutputFile& OutputFile::operator=(OutputFile&& other) noexcept {
  if (this != &other) {
    discard();
    target_ = std::move(other.target_);
    fd_ = std::move(other.fd_);
    temp_ = std::exchange(other.temp_, {});
    sync_ = other.sync_;
    live_ = other.live_;
  }
  return *this;
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() noexcept {
  // Unlinked while still locked, so no cleaner races us for it.
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
  fd_.reset();
}

Result<void> OutputFile::fail(SysError error) {
  discard();
  return std::unexpected(std::move(error));
}

Result<void> OutputFile::write(std::span<const std::byte> data) {
  const std::string& subject = target_.path.native();
  if (!fd_) return sys_failure("write", subject, EBADF);
  while (!data.empty()) {
    const std::size_t chunk = std::min<std::size_t>(data.size(), std::size_t{1} << 30);
    auto n = sys_call("write", subject, [&] { return ::write(fd_.get(), data.data(), chunk); });
    if (!n) return fail(n.error());
    if (*n == 0) return fail(SysError{"write", subject, EIO});
    data = data.subspan(static_cast<std::size_t>(*n));
  }
  return {};
}

Result<void> OutputFile::set_attribute(std::string_view name, std::span<const std::byte> value) {
  const std::string& subject = target_.path.native();
  if (!fd_) return sys_failure("fsetxattr", subject, EBADF);
  if (temp_.empty()) return sys_failure("fsetxattr", subject, ENOTSUP);
  const std::string key(name);
  auto r = sys_call("fsetxattr", subject,
                    [&] { return ::fsetxattr(fd_.get(), key.c_str(), value.data(), value.size(), 0); });
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::optional<std::string>> read_attribute(const fs::path& path, std::string_view name,
                                                  std::size_t max_bytes) {
  const std::string key(name);
  std::string value(max_bytes, '\0');
  auto n = sys_call_expecting({ENODATA, ENOTSUP}, "getxattr", path.native(), [&] {
    return ::getxattr(path.c_str(), key.c_str(), value.data(), value.size());
  });
  if (!n) return std::unexpected(n.error());
  if (!*n) return std::optional<std::string>{};
  value.resize(static_cast<std::size_t>(**n));
  return std::optional<std::string>{std::move(value)};
}

Result<void> OutputFile::commit() {
  const std::string subject = target_.path.native();
  if (!fd_) return sys_failure("close", subject, EBADF);
  if (temp_.empty()) {  // stdout, a FIFO, a device, a live file: nothing to rename
    if (sync_ && (target_.append || live_)) {
      if (auto r = sys_call("fsync", subject, [&] { return ::fsync(fd_.get()); }); !r) return fail(r.error());
    }
    // A live file's late write error (NFS) comes from close(), as a temporary's below.
    if (live_ && ::close(fd_.release()) != 0 && errno != EINTR) return fail(SysError{"close", subject, errno});
    fd_.reset();
    return {};
  }
  if (sync_) {
    if (auto r = sys_call("fsync", subject, [&] { return ::fsync(fd_.get()); }); !r) return fail(r.error());
  }
  // NFS and other network filesystems report a late write error (a full disk on the server)
  // only from close(). Closing a duplicate flushes the same way while the original fd keeps
  // the temporary locked until it is renamed.
  {
    auto dup = sys_call("fcntl", subject, [&] { return ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0); });
    if (!dup) return fail(dup.error());
    // Linux releases the fd even when close() reports EINTR: not retried, not an error.
    if (::close(*dup) != 0 && errno != EINTR) return fail(SysError{"close", subject, errno});
  }
  if (auto r = sys_call("rename", subject, [&] { return ::rename(temp_.c_str(), target_.path.c_str()); });
      !r)
    return fail(r.error());
  temp_.clear();
  fd_.reset();
  if (sync_) {
    const fs::path folder = target_.path.parent_path();
    auto dir = sys_call("open", folder.native(), [&] {
      return ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    });
    if (!dir) return std::unexpected(dir.error());
    UniqueFd owned(*dir);
    if (auto r = sys_call("fsync", folder.native(), [&] { return ::fsync(owned.get()); }); !r)
      return std::unexpected(r.error());
  }
  return {};
}

Result<void> write_output_file(const fs::path& path, std::span<const std::byte> data,
                               OutputOptions options) {
  auto file = OutputFile::open(path, options);
  if (!file) return std::unexpected(file.error());
  if (auto r = file->write(data); !r) return r;
  return file->commit();
}

bool is_temp_name(std::string_view name, std::string_view target_name) {
  if (name.size() < 2 || name[0] != '.') return false;
  const auto marker = name.rfind(kTempMarker);
  if (marker == std::string_view::npos || marker < 1) return false;
  const std::string_view suffix = name.substr(marker + kTempMarker.size());
  if (suffix.empty() || !std::ranges::all_of(suffix, [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      }))
    return false;
  if (target_name.empty()) return true;
  return name.substr(1, marker - 1) == target_name.substr(0, kMaxKeptName);
}

Result<std::size_t> remove_stale_temp_files(const fs::path& folder, std::string_view target_name) {
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return 0;
    return sys_failure("opendir", folder.native(), ec.value());
  }
  std::size_t removed = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return sys_failure("readdir", folder.native(), ec.value());
    const std::string name = it->path().filename().native();
    if (is_temp_name(name, target_name) && remove_if_stale(it->path())) ++removed;
  }
  if (ec) return sys_failure("readdir", folder.native(), ec.value());
  return removed;
}

}  // namespace forkpool::ipc
