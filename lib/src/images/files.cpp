#include "forkpool/images/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <map>
#include <set>
#include <system_error>

#include "forkpool/images/codec.hpp"
#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::images {

namespace {
constexpr std::string_view kTempMarker = ".forkpool-tmp-";
}

std::vector<std::byte> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  auto fail = [](const ipc::SysError& e) -> std::vector<std::byte> {
    throw ImageError("cannot read: " + e.message());
  };
  auto fd = ipc::sys_call("open", path.native(),
                          [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (!fd) return fail(fd.error());
  ipc::UniqueFd file(*fd);
  struct stat st {};
  if (auto r = ipc::sys_call("fstat", path.native(), [&] { return ::fstat(file.get(), &st); }); !r)
    return fail(r.error());
  if (!S_ISREG(st.st_mode)) throw ImageError("cannot read: not a regular file");
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0) throw ImageError("empty file (0 bytes)");
  if (size > max_bytes)
    throw ImageError(fmt::format("file too large ({} bytes, limit {})", size, max_bytes));
  std::vector<std::byte> data(size);
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ipc::sys_call("read", path.native(), [&] {
      return ::read(file.get(), data.data() + done, data.size() - done);
    });
    if (!n) return fail(n.error());
    if (*n == 0) break;  // shrank while we read: decode what is there
    done += static_cast<std::size_t>(*n);
  }
  data.resize(done);
  return data;
}

std::filesystem::path temp_path_for(const std::filesystem::path& target) {
  return target.parent_path() /
         fmt::format(".{}{}{}", target.filename().native(), kTempMarker, ::getpid());
}

void write_file_atomically(const std::filesystem::path& target,
                           std::span<const unsigned char> data) {
  const auto temp = temp_path_for(target);
  auto fail = [&](const ipc::SysError& e) {
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot write: " + e.message());
  };
  {
    auto fd = ipc::sys_call("open", temp.native(), [&] {
      return ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    });
    if (!fd) fail(fd.error());
    ipc::UniqueFd file(*fd);
    std::size_t done = 0;
    while (done < data.size()) {
      auto n = ipc::sys_call("write", temp.native(), [&] {
        return ::write(file.get(), data.data() + done, data.size() - done);
      });
      if (!n) fail(n.error());
      done += static_cast<std::size_t>(*n);
    }
    // close() reports late write errors (NFS, a full disk) that write() did not.
    int raw = file.release();
    if (auto r = ipc::sys_call("close", temp.native(), [&] { return ::close(raw); }); !r)
      fail(r.error());
  }
  if (auto r = ipc::sys_call("rename", target.native(),
                             [&] { return ::rename(temp.c_str(), target.c_str()); });
      !r)
    fail(r.error());
}

std::size_t remove_temp_files_for(std::span<const std::filesystem::path> targets) {
  std::map<std::filesystem::path, std::set<std::string>> names_by_folder;
  for (const auto& t : targets) names_by_folder[t.parent_path()].insert(t.filename().native());
  std::size_t removed = 0;
  for (const auto& [folder, names] : names_by_folder) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
      const std::string name = entry.path().filename().native();
      auto marker = name.rfind(kTempMarker);
      if (name.empty() || name[0] != '.' || marker == std::string::npos) continue;
      if (!names.contains(name.substr(1, marker - 1))) continue;
      if (std::filesystem::remove(entry.path(), ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace forkpool::images
