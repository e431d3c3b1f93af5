#pragma once
// The images commands (`images`, `compare images`) live in a module of their own,
// forkpool-images.so, since they bring OpenCV and its hundred-odd libraries with them. Every
// other command runs without them: mapped into every process, those libraries made each start
// take about 160 ms and each fork of a worker about 2 ms (docs/concepts.md).

namespace forkpool::cli {

// Loads the images module when this command line may need it: not for `matmul`, `ipc-bench`,
// `compare tasks` and `compare matmul`; for everything else, help included. Its commands
// register themselves as it loads (register_command, register_compare_subcommand), so call it
// before the command line is built. A module that cannot be loaded is one line on stderr; the
// images commands are then unknown. Does nothing in a build without images.
void load_images_commands_if_needed(int argc, char** argv);

}  // namespace forkpool::cli
