#include "output_files.hpp"

#include <sys/stat.h>

#include <fmt/core.h>

#include <cstring>

#include "cli.hpp"

namespace forkpool::cli {

namespace {

// What a person needs to hear about an output location the writer refused.
std::string reason(const ipc::SysError& e) {
  if (e.call == "realpath" && e.code == ENOENT) return fmt::format("the folder {} does not exist", e.subject);
  if (e.call == "realpath" && e.code == ENOTDIR) return fmt::format("{} is not a folder", e.subject);
  if (e.call == "access") return fmt::format("cannot write to {}: {}", e.subject, std::strerror(e.code));
  if (e.code == EISDIR) return "is a folder";
  return e.message();
}

bool same_file(const ipc::OutputTarget& a, const ipc::OutputTarget& b) {
  using ipc::OutputKind;
  if (a.kind == OutputKind::standard_output || b.kind == OutputKind::standard_output)
    return a.kind == b.kind;
  if (a.exists() && b.exists()) return a.device == b.device && a.inode == b.inode;
  return a.path == b.path;
}

}  // namespace

void CommandOutputs::add(std::string flag, const std::string& path,
                         const std::filesystem::path& made_later) {
  if (path.empty()) return;
  auto target = ipc::resolve_output(path);
  if (!target && target.error().call == "realpath" && target.error().code == ENOENT &&
      !made_later.empty()) {
    std::error_code ec;
    const auto real = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
    if (!ec && real.parent_path() == std::filesystem::weakly_canonical(std::filesystem::absolute(made_later), ec) && !ec)
      target = ipc::OutputTarget{real, ipc::OutputKind::create};
  }
  if (!target) throw InputError(fmt::format("{} {}: {}", flag, path, reason(target.error())));
  for (const auto& other : outputs_)
    if (same_file(other.target, *target))
      throw InputError(fmt::format("{} {} and {} {} are the same file: give each its own", other.flag,
                                   other.path, flag, path));
  outputs_.push_back({std::move(flag), path, std::move(*target)});
}

void CommandOutputs::refuse_inputs(std::span<const std::filesystem::path> inputs) const {
  for (const auto& output : outputs_) {
    if (!output.target.exists()) continue;  // nothing there yet: no input either
    for (const auto& input : inputs) {
      struct stat st {};
      if (::stat(input.c_str(), &st) != 0) continue;
      if (st.st_dev == output.target.device && st.st_ino == output.target.inode)
        throw InputError(fmt::format("{} {}: is an input ({}); it would be overwritten", output.flag,
                                     output.path, input.native()));
    }
  }
}

bool CommandOutputs::uses_stdout() const noexcept {
  for (const auto& output : outputs_)
    if (output.target.kind == ipc::OutputKind::standard_output) return true;
  return false;
}

std::string write_output(const std::string& path, std::span<const std::byte> data) {
  auto written = ipc::write_output_file(path, data, {.remove_stale = true});
  return written ? std::string() : written.error().message();
}

bool write_report(std::string_view name, const std::string& path, std::string_view text) {
  const std::string why = write_output(path, std::as_bytes(std::span(text.data(), text.size())));
  if (why.empty()) return true;
  fmt::print(stderr, "forkpool: cannot write {} {}: {}\n", name, path, why);
  return false;
}

std::string json_text(const nlohmann::json& json) {
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string json_text(const nlohmann::ordered_json& json) {
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

bool is_utf8(std::string_view text) {
  try {
    (void)nlohmann::json(std::string(text)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

std::string hex_bytes(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() * 2);
  for (unsigned char c : text) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace forkpool::cli
