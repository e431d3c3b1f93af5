#pragma once
// The files a command is told to write (-o, --json, --csv, --plot): each checked before any
// work, and written through forkpool's one output writer (ipc::OutputFile) at the end.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "forkpool/ipc/output_file.hpp"

namespace forkpool::cli {

// The outputs named on one command line. Main thread.
class CommandOutputs {
 public:
  // Checks the output of `flag` ("--json") at `path`, unless `path` is empty: its folder exists
  // and may be written, it is not a folder, and no other output of this command is the same
  // file. "-" is stdout. Throws InputError "--json PATH: the folder X does not exist".
  // `made_later`: a folder the command makes before it writes (the images output folder), in
  // which the output may go although it does not exist yet.
  void add(std::string flag, const std::string& path, const std::filesystem::path& made_later = {});

  // Throws InputError when an output is one of `inputs`: the same file (device and inode),
  // however it is reached (symlinks, hard links). Inputs that do not exist are passed over.
  void refuse_inputs(std::span<const std::filesystem::path> inputs) const;

  // Whether one of the outputs is stdout: the command then prints nothing else there.
  [[nodiscard]] bool uses_stdout() const noexcept;

 private:
  struct Checked {
    std::string flag;
    std::string path;
    ipc::OutputTarget target;
  };
  std::vector<Checked> outputs_;
};

// Writes `data` to `path` through the one writer (stale temporaries of this file removed
// first). Returns the reason it could not ("write(/dev/full): No space left on device"), or
// an empty string.
std::string write_output(const std::string& path, std::span<const std::byte> data);

// Writes a report that finishes a command's work, `name` being "the JSON report": on failure
// prints "forkpool: cannot write the JSON report PATH: REASON" and returns false (the caller
// exits 2: the work was done, one of its outputs is missing).
bool write_report(std::string_view name, const std::string& path, std::string_view text);

// `json` as text, indented by 2 and ending with a newline. A string that is not UTF-8 (a file
// name in another encoding) cannot be in JSON as it is: its bad bytes become U+FFFD.
std::string json_text(const nlohmann::json& json);
std::string json_text(const nlohmann::ordered_json& json);

// Whether `text` is valid UTF-8, and its bytes as lowercase hex (the exact name of a file
// whose name json_text had to change).
bool is_utf8(std::string_view text);
std::string hex_bytes(std::string_view text);

}  // namespace forkpool::cli
