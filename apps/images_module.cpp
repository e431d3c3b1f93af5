#include "images_module.hpp"

#include <dlfcn.h>

#include <fmt/core.h>

#include <array>
#include <filesystem>
#include <string_view>

namespace forkpool::cli {

namespace {

bool may_need_images(int argc, char** argv) {
  if (argc < 2) return true;
  const std::string_view command = argv[1];
  if (command == "matmul" || command == "ipc-bench") return false;
  if (command == "compare" && argc > 2) {
    const std::string_view sub = argv[2];
    return sub != "tasks" && sub != "matmul";
  }
  return true;
}

}  // namespace

void load_images_commands_if_needed(int argc, char** argv) {
#ifdef FORKPOOL_IMAGES_MODULE
  if (!may_need_images(argc, argv)) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path here = fs::read_symlink("/proc/self/exe", ec).parent_path();
  // Without its own folder it would look relative to the current one, where anyone may have
  // put a file of that name: then no images commands rather than someone else's code.
  if (ec || !here.is_absolute()) {
    fmt::print(stderr, "forkpool: the images commands cannot be loaded: this binary's folder is "
                       "unknown (/proc/self/exe: {})\n", ec ? ec.message() : "not absolute");
    return;
  }
  // Beside the binary in the build tree; in the library folder where it is installed.
  const std::array<fs::path, 2> places{here / FORKPOOL_IMAGES_MODULE,
                                       here / FORKPOOL_IMAGES_MODULE_INSTALLED};
  std::string why;
  for (const fs::path& place : places) {
    if (!fs::exists(place, ec)) continue;
    if (::dlopen(place.c_str(), RTLD_NOW | RTLD_LOCAL) != nullptr) return;
    why = ::dlerror();
    break;
  }
  if (why.empty()) why = fmt::format("{} not found beside {}", FORKPOOL_IMAGES_MODULE, here.native());
  fmt::print(stderr, "forkpool: the images commands cannot be loaded: {}\n", why);
#else
  (void)argc;
  (void)argv;
  (void)may_need_images;
#endif
}

}  // namespace forkpool::cli
