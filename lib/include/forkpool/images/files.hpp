#pragma once
// Whole-file reads and all-or-nothing writes for image files.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace forkpool::images {

// The whole of `path`. Throws ImageError ("cannot read: open(...): Permission denied") when it
// cannot be read or is larger than `max_bytes`.
std::vector<std::byte> read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// Writes `data` to `target` through forkpool's one output writer (ipc::write_output_file): a
// locked temporary file beside it, renamed over it once whole, so a reader, or a run
// interrupted at any point, sees the old file or the whole new one. Throws std::runtime_error
// ("cannot write: write(out/a.png): No space left on device") and leaves no temporary file
// when it fails. A non-empty `record` (what made the file: ImageRecipe::output_record) is set
// as the extended attribute user.forkpool.recipe of the temporary before it is renamed, so no
// file ever appears under its name claiming a recipe it was not made by. A file system that
// keeps no user attributes (or refuses this one) gets the file without it: its next run cannot
// tell what made it (see read_output_record).
void write_file_atomically(const std::filesystem::path& target, std::span<const unsigned char> data,
                           std::string_view record = {});

// The record write_file_atomically set on `path` (symlinks followed), or nothing: none was set
// (made by hand or by an older forkpool, or copied without extended attributes), the file
// system keeps none, or it cannot be read. Any thread.
std::optional<std::string> read_output_record(const std::filesystem::path& path);

// The paths in a list such as `find -print0` or `find` writes (--files-from): separated by NUL
// bytes with `nul`, else by newlines; empty entries are passed over. Throws
// std::invalid_argument for a newline-separated list that holds a NUL byte (it was meant to
// be read with `nul`: the names would run together). Any thread.
std::vector<std::filesystem::path> parse_path_list(std::string_view text, bool nul);

// Removes from each of `folders` the temporary files of writers that have died (a worker or a
// coordinator killed mid-write, in this run or an earlier one); the files of live writers,
// such as another run writing into the same folder, are left alone. Returns how many it
// removed. A folder that cannot be listed is passed over. Any thread.
std::size_t remove_stale_temp_files(std::span<const std::filesystem::path> folders);

}  // namespace forkpool::images
