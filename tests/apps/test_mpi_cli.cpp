// `forkpool ... --backend mpi` end to end: under `mpirun -np 3` the outputs equal serial's
// byte for byte; a rank that dies ends the run without partial files and the next run resumes;
// outside mpirun (or in a build without MPI) one line and exit 1.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "common/run_command.hpp"
#include "common/scoped_env.hpp"
#include "common/temp_dir.hpp"

namespace forkpool::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = FORKPOOL_SOURCE_DIR;
const std::string kMpirun = FORKPOOL_MPIEXEC;  // empty: no mpirun, or a build without MPI

CommandOutcome forkpool(std::vector<std::string> args) {
  args.insert(args.begin(), FORKPOOL_BINARY);
  return run_command(args);
}

// `exports`: environment variables mpirun passes to every rank (-x), as on other hosts.
CommandOutcome mpirun(int ranks, std::vector<std::string> args,
                      const std::vector<std::string>& exports = {}) {
  std::vector<std::string> argv{kMpirun, "--allow-run-as-root", "--oversubscribe", "-np",
                                std::to_string(ranks)};
  for (const auto& name : exports) argv.insert(argv.end(), {"-x", name});
  argv.push_back(FORKPOOL_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(240));
}

std::string contents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every file under `dir` (temporaries included), by relative path, with its bytes.
std::map<std::string, std::string> files_in(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = contents(e.path());
  return files;
}

class MpiCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kMpirun.empty()) GTEST_SKIP() << "needs mpirun (openmpi-bin) and a build with MPI";
  }
};

// Each pair of sample matrices multiplied on serial with `serial_flags` and by 3 ranks with
// `mpi_flags`: the same C, byte for byte, and a run line that says `run_says`.
void expect_mpi_matmul_equals_serial(const std::vector<std::string>& serial_flags,
                                     const std::vector<std::string>& mpi_flags,
                                     const std::string& run_says) {
  TempDir dir;
  for (const auto& [a, b] : {std::pair{"a_64x48_f64.npy", "b_48x80_f64.npy"},
                             std::pair{"a_50x40_f32.npy", "b_40x30_f32_fortran.npy"}}) {
    const std::string A = kSource + "/data/matrices/" + a, B = kSource + "/data/matrices/" + b;
    const auto serial = dir / (std::string(a) + ".serial.npy");
    const auto mpi = dir / (std::string(a) + ".mpi.npy");
    std::vector<std::string> args{"matmul", A, B, "-o", serial.string(), "--backend", "serial", "-q"};
    args.insert(args.end(), serial_flags.begin(), serial_flags.end());
    ASSERT_EQ(forkpool(args).exit_code, 0);
    args = {"matmul", A, B, "-o", mpi.string(), "--backend", "mpi"};
    args.insert(args.end(), mpi_flags.begin(), mpi_flags.end());
    CommandOutcome r = mpirun(3, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(run_says), std::string::npos) << r.out;
    EXPECT_EQ(contents(mpi), contents(serial)) << a;
  }
}

const std::vector<std::string> kImageOps{"--op", "resize=96x96", "--op", "blur=1"};

std::vector<std::string> images_args(const fs::path& out, const std::string& backend) {
  std::vector<std::string> args{"images", kSource + "/data/images", out.string()};
  args.insert(args.end(), kImageOps.begin(), kImageOps.end());
  args.insert(args.end(), {"--backend", backend});
  return args;
}

TEST(MpiCliWithoutMpirun, IsOneLineSayingHowToStartItAndExitOne) {
  ScopedEnv no_size("OMPI_COMM_WORLD_SIZE", std::nullopt);
  CommandOutcome r = forkpool({"matmul", "--random", "8x8x8", "--backend", "mpi"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, FORKPOOL_TEST_WITH_MPI
                       ? "forkpool: the mpi backend needs at least 2 ranks (rank 0 coordinates, "
                         "the others work): start it with mpirun, e.g. mpirun -np 3 forkpool ...\n"
                       : "forkpool: this forkpool was built without MPI\n");
}

TEST_F(MpiCli, OneRankIsRefusedWithTheSameLine) {
  CommandOutcome r = mpirun(1, {"matmul", "--random", "8x8x8", "--backend", "mpi"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("forkpool: the mpi backend needs at least 2 ranks"), std::string::npos) << r.err;
}

TEST_F(MpiCli, ImagesEqualSerialByteForByte) {
  TempDir dir;
  ASSERT_EQ(forkpool(images_args(dir / "serial", "serial")).exit_code, 0);
  CommandOutcome r = mpirun(3, images_args(dir / "mpi", "mpi"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Rank 0 alone prints: one summary line.
  EXPECT_EQ(r.out.find("forkpool images: "), r.out.rfind("forkpool images: ")) << r.out;
  EXPECT_NE(r.out.find("(mpi, 2 workers)"), std::string::npos) << r.out;
  const auto serial = files_in(dir / "serial");
  ASSERT_FALSE(serial.empty());
  EXPECT_EQ(files_in(dir / "mpi"), serial);
}

TEST_F(MpiCli, ARankKilledMidRunEndsItWithoutPartialFilesAndTheNextRunResumes) {
  TempDir dir;
  ASSERT_EQ(forkpool(images_args(dir / "serial", "serial")).exit_code, 0);
  const auto serial = files_in(dir / "serial");
  {
    ScopedEnv crash("FORKPOOL_IMAGES_CRASH_ON", "rocket.jpg");
    CommandOutcome r = mpirun(3, images_args(dir / "mpi", "mpi"), {"FORKPOOL_IMAGES_CRASH_ON"});
    // What mpirun does, which forkpool cannot change: it kills every rank and exits with the
    // dead rank's status (128 + 9), naming the rank and the signal.
    EXPECT_EQ(r.exit_code, 137) << r.err;
    EXPECT_NE(r.err.find("exited on signal 9 (Killed)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("process rank"), std::string::npos) << r.err;
  }
  // Whatever is there is whole: an output equal to serial's, no temporary file.
  if (fs::exists(dir / "mpi"))
    for (const auto& [name, bytes] : files_in(dir / "mpi")) {
      ASSERT_TRUE(serial.contains(name)) << name << " is not an output";
      EXPECT_EQ(bytes, serial.at(name)) << name;
    }
  CommandOutcome again = mpirun(3, images_args(dir / "mpi", "mpi"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(files_in(dir / "mpi"), serial);
}

// Its exit status (128 + signal when killed); SIGKILLs it and fails the test after `limit`.
int wait_for(pid_t pid, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "still running after " << limit.count() << " s";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(MpiCli, CtrlCToMpirunLeavesOnlyWholeOutputsAndAReport) {
  TempDir dir;
  // denoise takes seconds per sample image: time to interrupt with most of them undone.
  const std::vector<std::string> args{kMpirun, "--allow-run-as-root", "--oversubscribe", "-np", "3",
                                      FORKPOOL_BINARY, "images", kSource + "/data/images",
                                      (dir / "out").string(), "--op", "denoise=5", "--backend",
                                      "mpi", "--json", (dir / "report.json").string()};
  pid_t pid = spawn_quiet(args);
  ASSERT_GT(pid, 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  auto outputs = [&] {
    std::vector<std::string> names;
    if (fs::exists(dir / "out"))
      for (const auto& [name, bytes] : files_in(dir / "out")) names.push_back(name);
    return names;
  };
  while (outputs().empty() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGINT);
  // Open MPI's mpirun exits 1 on Ctrl-C whatever its ranks' statuses (rank 0's is 130).
  EXPECT_EQ(wait_for(pid, std::chrono::seconds(60)), 1);
  const auto done = outputs();
  EXPECT_LT(done.size(), 7u) << "finished before the interrupt";
  for (const auto& name : done) EXPECT_NE(name.rfind('.', 0), 0u) << "a temporary file: " << name;
  // Rank 0 took the SIGTERM mpirun sent it as an interrupt: its report says so.
  EXPECT_NE(contents(dir / "report.json").find("\"interrupted\": true"), std::string::npos)
      << contents(dir / "report.json");
  // (That a rerun then resumes is the test above's: here it would denoise for a minute.)
}

TEST_F(MpiCli, MatmulOfNumpyMatricesEqualsSerialByteForByte) {
  // Small tiles: many jobs, spread over both workers.
  expect_mpi_matmul_equals_serial({}, {"--tile", "16"}, "mpi, 2 workers");
}

// --distribute blocks: jobs carry their rows of A and columns of B, nothing is broadcast; C
// is serial's with the same plan, byte for byte, edge blocks included.
TEST_F(MpiCli, MatmulInBlocksEqualsSerialByteForByte) {
  // Blocks of 24 (the f64 register blocking; 48 for f32 with AVX-512): the last row and
  // column of blocks cut short.
  const std::vector<std::string> blocks{"--distribute", "blocks", "--tile", "24"};
  expect_mpi_matmul_equals_serial(blocks, blocks, "distribute blocks");
  TempDir dir;
  // Blocks whose panels take at most 1 MiB: 4 x 3 blocks of 144 x 120 for 500 x 300, for one
  // worker or two; auto chooses blocks, since all of B and a job take more.
  const std::vector<std::string> random{"matmul", "--random", "500x400x300", "--seed", "3",
                                        "--worker-memory", "1"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = random;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  ASSERT_EQ(forkpool(with({"-o", (dir / "serial.npy").string(), "--backend", "serial", "-q",
                           "--distribute", "blocks"}))
                .exit_code,
            0);
  CommandOutcome r = mpirun(3, with({"-o", (dir / "mpi.npy").string(), "--backend", "mpi",
                                     "--json", (dir / "r.json").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(contents(dir / "mpi.npy"), contents(dir / "serial.npy"));
  const auto report = nlohmann::json::parse(contents(dir / "r.json"));
  EXPECT_EQ(report["distribute"], "blocks");
  EXPECT_EQ(report["tile"]["rows"], 144);
  EXPECT_EQ(report["tile"]["cols"], 120);
  EXPECT_EQ(report["tiles"], 4 * 3);
  EXPECT_LE(report["worker_bytes"].get<std::size_t>(), std::size_t{1} << 20);
  // Each row panel of A went once per block column, each column panel of B once per block row.
  const std::size_t panels = (500 * 400 * 3 + 400 * 300 * 4 + 500 * 300) * 8;
  EXPECT_GE(report["payload_bytes"].get<std::size_t>(), panels);
  EXPECT_LT(report["payload_bytes"].get<std::size_t>(), panels + 12 * 128);
}

TEST_F(MpiCli, MatmulRandomVerifies) {
  CommandOutcome r = mpirun(3, {"matmul", "--random", "300x200x250", "--verify", "--backend", "mpi"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("verify   passed"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace forkpool::testing
