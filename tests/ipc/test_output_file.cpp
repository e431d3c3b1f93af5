// The one output writer: whole files or nothing, symlinks written through, FIFOs and devices
// written in place, "-" for stdout, and only dead writers' temporaries removed.

#include "forkpool/ipc/output_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/leak_check.hpp"
#include "common/sandbox.hpp"
#include "common/temp_dir.hpp"

namespace forkpool::testing {
namespace {

namespace fs = std::filesystem;
using OutputFileTest = LeakCheckedTest;

std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().native());
  std::sort(out.begin(), out.end());
  return out;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode;
}

// Sets the umask for the life of the object.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

// Points fd 1 at a pipe for the life of the object; text() reads what was written.
class CapturedStdout {
 public:
  CapturedStdout() {
    EXPECT_EQ(::pipe2(pipe_, O_CLOEXEC), 0);
    saved_ = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    ::dup2(pipe_[1], STDOUT_FILENO);
  }
  ~CapturedStdout() {
    restore();
    ::close(pipe_[0]);
  }
  CapturedStdout(const CapturedStdout&) = delete;
  CapturedStdout& operator=(const CapturedStdout&) = delete;
  std::string text() {
    restore();
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipe_[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
    ::close(pipe_[1]);
    saved_ = -1;
  }
  int pipe_[2] = {-1, -1};
  int saved_ = -1;
};

TEST_F(OutputFileTest, AReplacedFileKeepsItsPermissions) {
  TempDir dir;
  ASSERT_TRUE(ipc::write_output_file(dir / "a.txt", bytes_of("old")));
  ASSERT_EQ(::chmod((dir / "a.txt").c_str(), 0600), 0);
  {
    ScopedUmask mask(022);
    ASSERT_TRUE(ipc::write_output_file(dir / "a.txt", bytes_of("new")));
  }
  EXPECT_EQ(mode_of(dir / "a.txt") & 0777, 0600u);
}

TEST_F(OutputFileTest, CreatesAFileWithTheUmasksMode) {
  TempDir dir;
  {
    ScopedUmask mask(022);
    ASSERT_TRUE(ipc::write_output_file(dir / "a.txt", bytes_of("hello")));
  }
  {
    ScopedUmask mask(077);
    ASSERT_TRUE(ipc::write_output_file(dir / "b.txt", bytes_of("hello")));
  }
  EXPECT_EQ(slurp(dir / "a.txt"), "hello");
  EXPECT_EQ(mode_of(dir / "a.txt") & 0777, 0644u);
  EXPECT_EQ(mode_of(dir / "b.txt") & 0777, 0600u);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"a.txt", "b.txt"}));
}

TEST_F(OutputFileTest, ReplacesARegularFileOnlyWhenCommitted) {
  TempDir dir;
  put(dir / "out.json", "old");
  {
    auto file = ipc::OutputFile::open(dir / "out.json");
    ASSERT_TRUE(file) << file.error().message();
    EXPECT_EQ(file->target().kind, ipc::OutputKind::replace);
    ASSERT_TRUE(file->write(bytes_of("new")));
    EXPECT_EQ(slurp(dir / "out.json"), "old");  // nothing in place before commit
    const auto temp = file->temp_path();
    EXPECT_EQ(temp.parent_path(), dir.path());
    EXPECT_TRUE(ipc::is_temp_name(temp.filename().native(), "out.json")) << temp;
    EXPECT_TRUE(fs::exists(temp));
  }  // dropped without commit
  EXPECT_EQ(slurp(dir / "out.json"), "old");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.json"});
  ASSERT_TRUE(ipc::write_output_file(dir / "out.json", bytes_of("new")));
  EXPECT_EQ(slurp(dir / "out.json"), "new");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.json"});
}


// A log read while the command runs: each write is in the file at once, no temporary.
TEST_F(OutputFileTest, ALiveFileIsWrittenInPlaceAsItGoes) {
  TempDir dir;
  put(dir / "run.log", "the last run's lines\n");
  fs::create_symlink("run.log", dir / "link");
  {
    auto file = ipc::OutputFile::open(dir / "link", {.live = true});
    ASSERT_TRUE(file) << file.error().message();
    EXPECT_TRUE(file->temp_path().empty());
    EXPECT_EQ(slurp(dir / "run.log"), "") << "truncated when opened";
    ASSERT_TRUE(file->write(bytes_of("one\n")));
    EXPECT_EQ(slurp(dir / "run.log"), "one\n") << "there before commit";
    ASSERT_TRUE(file->write(bytes_of("two\n")));
  }  // dropped without commit: what was written stays
  EXPECT_EQ(slurp(dir / "run.log"), "one\ntwo\n");
  EXPECT_TRUE(fs::is_symlink(dir / "link")) << "written through";
  auto fresh = ipc::OutputFile::open(dir / "new.log", {.sync = true, .live = true});
  ASSERT_TRUE(fresh) << fresh.error().message();
  ASSERT_TRUE(fresh->write(bytes_of("x\n")));
  ASSERT_TRUE(fresh->commit());
  EXPECT_EQ(slurp(dir / "new.log"), "x\n");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"link", "new.log", "run.log"}));
}
// The attribute is set on the temporary, so it arrives with the file and not before it.
TEST_F(OutputFileTest, AnAttributeArrivesWithTheCommittedFile) {
  TempDir dir;
  const fs::path path = dir / "out.bin";
  auto missing = ipc::read_attribute(path, "user.forkpool.test", 64);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  put(path, "old");
  auto none = ipc::read_attribute(path, "user.forkpool.test", 64);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_FALSE(*none);

  auto file = ipc::OutputFile::open(path);
  ASSERT_TRUE(file) << file.error().message();
  ASSERT_TRUE(file->write(std::as_bytes(std::span("new", 3))));
  const std::string value = "recipe";
  auto set = file->set_attribute("user.forkpool.test", std::as_bytes(std::span(value.data(), value.size())));
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_FALSE(*ipc::read_attribute(path, "user.forkpool.test", 64));  // the old file has none
  ASSERT_TRUE(file->commit());
  auto got = ipc::read_attribute(path, "user.forkpool.test", 64);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, "recipe");
  auto too_long = ipc::read_attribute(path, "user.forkpool.test", 3);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ERANGE);
}

TEST_F(OutputFileTest, SymlinksAreWrittenThroughToTheirTarget) {
  TempDir dir;
  fs::create_directories(dir / "real");
  fs::create_directories(dir / "links");
  put(dir / "real" / "data.json", "old");
  fs::create_symlink("../real/data.json", dir / "links" / "rel");  // relative to the link
  fs::create_symlink(dir / "links" / "rel", dir / "links" / "chain");
  fs::create_symlink("../real/new.json", dir / "links" / "dangling");

  ASSERT_TRUE(ipc::write_output_file(dir / "links" / "chain", bytes_of("through")));
  EXPECT_TRUE(fs::is_symlink(dir / "links" / "chain"));
  EXPECT_TRUE(fs::is_symlink(dir / "links" / "rel"));
  EXPECT_EQ(slurp(dir / "real" / "data.json"), "through");

  auto target = ipc::resolve_output(dir / "links" / "dangling");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->kind, ipc::OutputKind::create);
  EXPECT_EQ(target->path, fs::canonical(dir.path()) / "real" / "new.json");
  ASSERT_TRUE(ipc::write_output_file(dir / "links" / "dangling", bytes_of("created")));
  EXPECT_TRUE(fs::is_symlink(dir / "links" / "dangling"));
  EXPECT_EQ(slurp(dir / "real" / "new.json"), "created");
  EXPECT_EQ(names_in(dir / "real"), (std::vector<std::string>{"data.json", "new.json"}));
}

TEST_F(OutputFileTest, SymlinkLoopIsAnError) {
  TempDir dir;
  fs::create_symlink("b", dir / "a");
  fs::create_symlink("a", dir / "b");
  auto r = ipc::write_output_file(dir / "a", bytes_of("x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP);
}

TEST_F(OutputFileTest, AFifoIsWrittenInPlaceNotRenamedOver) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
  int reader = ::open((dir / "pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  auto r = ipc::write_output_file(dir / "pipe", bytes_of("through the fifo"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(S_ISFIFO(mode_of(dir / "pipe")));
  char buf[64] = {};
  EXPECT_EQ(::read(reader, buf, sizeof buf), 16);
  EXPECT_STREQ(buf, "through the fifo");
  ::close(reader);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"pipe"});
}

TEST_F(OutputFileTest, DevicesAreWrittenInPlaceAndTheirErrorsReported) {
  struct stat before {};
  ASSERT_EQ(::stat("/dev/full", &before), 0);
  auto full = ipc::write_output_file("/dev/full", bytes_of("x"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ENOSPC);
  EXPECT_NE(full.error().message().find("/dev/full"), std::string::npos) << full.error().message();
  struct stat after {};
  ASSERT_EQ(::stat("/dev/full", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode));
  EXPECT_EQ(after.st_rdev, before.st_rdev);
  EXPECT_EQ(after.st_ino, before.st_ino);

  TempDir dir;
  fs::create_symlink("/dev/null", dir / "sink");
  auto target = ipc::resolve_output(dir / "sink");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->kind, ipc::OutputKind::in_place);
  EXPECT_TRUE(ipc::write_output_file(dir / "sink", bytes_of("gone")));
  EXPECT_TRUE(fs::is_symlink(dir / "sink"));
  EXPECT_TRUE(S_ISCHR(mode_of("/dev/null")));
}

TEST_F(OutputFileTest, DashAndDevStdoutWriteToStdout) {
  {
    CapturedStdout out;
    auto r = ipc::write_output_file("-", bytes_of("to stdout\n"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(out.text(), "to stdout\n");
  }
  {
    CapturedStdout out;
    auto target = ipc::resolve_output("/dev/stdout");
    ASSERT_TRUE(target) << target.error().message();
    EXPECT_EQ(target->kind, ipc::OutputKind::in_place);
    auto r = ipc::write_output_file("/dev/stdout", bytes_of("via /dev/stdout\n"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(out.text(), "via /dev/stdout\n");
  }
  EXPECT_TRUE(fs::is_symlink("/dev/stdout"));
  // stdout is still open after the writer closed its copy.
  EXPECT_GE(::fcntl(STDOUT_FILENO, F_GETFD), 0);
}

TEST_F(OutputFileTest, DevStdoutRedirectedToAFileAppendsToIt) {
  TempDir dir;
  put(dir / "log", "table\n");
  int fd = ::open((dir / "log").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::string via = "/proc/self/fd/" + std::to_string(fd);
  auto target = ipc::resolve_output(via);
  ASSERT_TRUE(target) << target.error().message();
  EXPECT_EQ(target->kind, ipc::OutputKind::in_place);
  EXPECT_TRUE(target->append);
  EXPECT_TRUE(ipc::write_output_file(via, bytes_of("{}\n")));
  ::close(fd);
  EXPECT_EQ(slurp(dir / "log"), "table\n{}\n");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"log"});
}

TEST_F(OutputFileTest, BadPlacesAreRefusedBeforeAnythingIsWritten) {
  TempDir dir;
  put(dir / "file", "x");
  fs::create_directories(dir / "folder");
  auto missing = ipc::resolve_output(dir / "missing" / "a.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().call, "realpath");
  EXPECT_EQ(missing.error().code, ENOENT);
  auto not_folder = ipc::resolve_output(dir / "file" / "a.json");
  ASSERT_FALSE(not_folder);
  EXPECT_EQ(not_folder.error().code, ENOTDIR);
  for (const fs::path& p : {dir / "folder", dir / "folder" / "", dir / "folder" / ".."}) {
    auto r = ipc::write_output_file(p, bytes_of("x"));
    ASSERT_FALSE(r) << p;
    EXPECT_EQ(r.error().code, EISDIR) << p;
  }
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"file", "folder"}));
  EXPECT_TRUE(fs::is_empty(dir / "folder"));
}

TEST_F(OutputFileTest, AFolderThatMayNotBeWrittenIsRefused) {
  TempDir dir;
  fs::create_directories(dir / "locked");
  fs::permissions(dir / "locked", fs::perms::owner_read | fs::perms::owner_exec);
  int result = run_unprivileged([&] {
    auto r = ipc::resolve_output(dir / "locked" / "a.json");
    if (r) return 1;
    if (r.error().call != "access" || r.error().code != EACCES) return 2;
    if (ipc::write_output_file(dir / "locked" / "a.json", bytes_of("x"))) return 3;
    return 0;
  });
  if (result == kSandboxUnavailable) GTEST_SKIP() << "user namespaces are not available here";
  EXPECT_EQ(result, 0);
  fs::permissions(dir / "locked", fs::perms::owner_all);
  EXPECT_TRUE(fs::is_empty(dir / "locked"));
}

TEST_F(OutputFileTest, ADiskFullWriteFailsAndLeavesNoTemporary) {
  TempDir dir;
  fs::create_directories(dir / "small");
  // A real full disk: a 64 KiB tmpfs, written 1 MiB.
  int result = run_on_small_tmpfs(dir / "small", 64 * 1024, [&] {
    const std::string big(1 << 20, 'x');
    auto r = ipc::write_output_file(dir / "small" / "big.bin", bytes_of(big));
    if (r) return 1;
    if (r.error().code != ENOSPC) return 2;
    if (r.error().message().find("No space left on device") == std::string::npos) return 3;
    if (!fs::is_empty(dir / "small")) return 4;
    // The same for a file that existed: it is kept as it was.
    if (!ipc::write_output_file(dir / "small" / "kept.txt", bytes_of("kept"))) return 5;
    if (ipc::write_output_file(dir / "small" / "kept.txt", bytes_of(big))) return 6;
    if (slurp(dir / "small" / "kept.txt") != "kept") return 7;
    if (names_in(dir / "small") != std::vector<std::string>{"kept.txt"}) return 8;
    return 0;
  });
  if (result == kSandboxUnavailable) GTEST_SKIP() << "mount namespaces are not available here";
  EXPECT_EQ(result, 0);
}

TEST_F(OutputFileTest, AFailedRenameRemovesTheTemporary) {
  TempDir dir;
  auto file = ipc::OutputFile::open(dir / "out.png");
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->write(bytes_of("png")));
  fs::create_directories(dir / "out.png" / "child");  // a non-empty folder took the name
  auto r = file->commit();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().call, "rename");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.png"});
  EXPECT_TRUE(file->temp_path().empty());
}

TEST_F(OutputFileTest, SyncedWritesArriveWhole) {
  TempDir dir;
  ASSERT_TRUE(ipc::write_output_file(dir / "c.npy", bytes_of("synced"), {.sync = true}));
  EXPECT_EQ(slurp(dir / "c.npy"), "synced");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"c.npy"});
}

TEST_F(OutputFileTest, TemporaryNamesAreRecognised) {
  EXPECT_TRUE(ipc::is_temp_name(".a.jpg.forkpool-tmp-0123456789abcdef"));
  EXPECT_TRUE(ipc::is_temp_name(".a.jpg.forkpool-tmp-4242", "a.jpg"));  // an older run's pid
  EXPECT_FALSE(ipc::is_temp_name(".a.jpg.forkpool-tmp-4242", "b.jpg"));
  EXPECT_FALSE(ipc::is_temp_name(".a.jpg.forkpool-tmp-"));
  EXPECT_FALSE(ipc::is_temp_name(".a.jpg.forkpool-tmp-xyz"));
  EXPECT_FALSE(ipc::is_temp_name("a.jpg.forkpool-tmp-12"));
  EXPECT_FALSE(ipc::is_temp_name(".a.jpg.other"));
  const std::string long_name(250, 'n');
  TempDir dir;
  auto file = ipc::OutputFile::open(dir / long_name);
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_TRUE(ipc::is_temp_name(file->temp_path().filename().native(), long_name));
}

TEST_F(OutputFileTest, OnlyTheTemporariesOfDeadWritersAreRemoved) {
  TempDir dir;
  put(dir / ".a.jpg.forkpool-tmp-1234", "left by a killed run");
  put(dir / ".b.jpg.forkpool-tmp-00ff", "left by a killed run");
  put(dir / "a.jpg", "an output");
  put(dir / ".a.jpg.notes", "not ours");
  auto live = ipc::OutputFile::open(dir / "c.jpg");  // a writer of this process, still writing
  ASSERT_TRUE(live);
  ASSERT_TRUE(live->write(bytes_of("half")));

  auto only_a = ipc::remove_stale_temp_files(dir.path(), "a.jpg");
  ASSERT_TRUE(only_a);
  EXPECT_EQ(*only_a, 1u);
  EXPECT_FALSE(fs::exists(dir / ".a.jpg.forkpool-tmp-1234"));
  auto all = ipc::remove_stale_temp_files(dir.path());
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, 1u);
  EXPECT_TRUE(fs::exists(live->temp_path()));
  ASSERT_TRUE(live->commit());
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{".a.jpg.notes", "a.jpg", "c.jpg"}));
  auto none = ipc::remove_stale_temp_files(dir / "missing");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

TEST_F(OutputFileTest, ASingleOutputCanFirstRemoveItsOwnStaleTemporaries) {
  TempDir dir;
  put(dir / ".r.json.forkpool-tmp-0a", "stale, for this target");
  put(dir / ".other.json.forkpool-tmp-0b", "stale, for another");
  ASSERT_TRUE(ipc::write_output_file(dir / "r.json", bytes_of("{}"), {.remove_stale = true}));
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{".other.json.forkpool-tmp-0b", "r.json"}));
}

TEST_F(OutputFileTest, AnotherProcesssLiveTemporaryIsKeptAndRemovedOnceItIsKilled) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t writer = ::fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    auto file = ipc::OutputFile::open(dir / "out.npy");
    if (!file || !file->write(bytes_of("part of it"))) ::_exit(1);
    char c = 'r';
    (void)!::write(ready[1], &c, 1);
    ::pause();  // mid-write until killed
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(names_in(dir.path()).size(), 1u);
  auto while_alive = ipc::remove_stale_temp_files(dir.path());
  ASSERT_TRUE(while_alive);
  EXPECT_EQ(*while_alive, 0u);
  EXPECT_EQ(names_in(dir.path()).size(), 1u);

  ::kill(writer, SIGKILL);
  int status = 0;
  ::waitpid(writer, &status, 0);
  auto after = ipc::remove_stale_temp_files(dir.path());
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, 1u);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST_F(OutputFileTest, TemporariesOfAnotherUserThatCannotBeOpenedAreLeftAlone) {
  TempDir dir;
  put(dir / ".x.forkpool-tmp-01", "unreadable");
  fs::permissions(dir / ".x.forkpool-tmp-01", fs::perms::none);
  int result = run_unprivileged([&] {
    auto r = ipc::remove_stale_temp_files(dir.path());
    return r && *r == 0 && fs::exists(dir / ".x.forkpool-tmp-01") ? 0 : 1;
  });
  if (result == kSandboxUnavailable) GTEST_SKIP() << "user namespaces are not available here";
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace forkpool::testing
