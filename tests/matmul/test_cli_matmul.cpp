// `forkpool matmul` end to end: the real binary on numpy-made files.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"
#include "common/sandbox.hpp"
#include "common/scoped_env.hpp"
#include "forkpool/matmul/kernels.hpp"
#include "matmul/matmul_test_support.hpp"

namespace forkpool::matmul {
namespace {

using forkpool::testing::CommandOutcome;
using forkpool::testing::run_command;
using forkpool::testing::ScopedEnv;
using forkpool::testing::spawn_quiet;
using forkpool::testing::wait_for_exit;
using forkpool::testing::wait_until_it_blocks_sigint;
using testing::fixture;
using testing::read_row_major;
using testing::ScratchDir;

CommandOutcome matmul(std::vector<std::string> args) {
  args.insert(args.begin(), {FORKPOOL_BINARY, "matmul"});
  return run_command(args);
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

nlohmann::json json_of(std::vector<std::string> args, const std::filesystem::path& json) {
  args.insert(args.end(), {"-q", "--json", json.string()});
  CommandOutcome r = matmul(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(slurp(json));
}

// The kernels this build has that this CPU runs, fastest first.
std::vector<std::string> runnable_kernels() {
  std::vector<std::string> out;
  for (const KernelSpec& k : available_kernels())
    if (detect_cpu_features().covers(k.needs)) out.push_back(k.name);
  return out;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tolerance) << i;
}

class CliMatmulTest : public forkpool::testing::LeakCheckedTest {
 protected:
  ScratchDir dir_;
  std::string a_ = fixture("a_64x48_f64.npy").string();
  std::string b_ = fixture("b_48x80_f64.npy").string();
};

TEST_F(CliMatmulTest, EveryBackendWritesNumpysProduct) {
  auto want = read_row_major(fixture("c_64x48x80_f64.npy"));
  for (std::vector<std::string> how : {std::vector<std::string>{"--backend", "serial"},
                                       {"--backend", "threads", "-j", "2"},
                                       {"--backend", "processes", "-j", "2", "--transport", "shm"},
                                       {"--backend", "processes", "-j", "2", "--transport", "pipe"}}) {
    std::string c = (dir_ / "c.npy").string();
    std::vector<std::string> args = {a_, b_, "-o", c, "--tile", "24", "--verify"};
    args.insert(args.end(), how.begin(), how.end());
    CommandOutcome r = matmul(args);
    ASSERT_EQ(r.exit_code, 0) << how[1] << ": " << r.err;
    EXPECT_NE(r.out.find("verify   passed"), std::string::npos) << r.out;
    expect_near(read_row_major(c), want, 1e-12);
    std::filesystem::remove(c);
  }
}

TEST_F(CliMatmulTest, JsonReportHoldsEveryFigure) {
  std::string c = (dir_ / "c.npy").string(), json = (dir_ / "report.json").string();
  CommandOutcome r = matmul({a_, b_, "-o", c, "--json", json, "-q", "-j", "2", "--verify"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "-q prints nothing";
  auto j = nlohmann::json::parse(slurp(json));
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["a"]["shape"], nlohmann::json({64, 48}));
  EXPECT_EQ(j["b"]["shape"], nlohmann::json({48, 80}));
  EXPECT_EQ(j["c"]["shape"], nlohmann::json({64, 80}));
  EXPECT_EQ(j["c"]["path"], c);
  EXPECT_EQ(j["dtype"], "f64");
  EXPECT_EQ(j["backend"], "processes");
  EXPECT_EQ(j["transport"], "shm");
  EXPECT_EQ(j["workers"], 2);
  EXPECT_EQ(j["verify"]["passed"], true);
  for (const char* key : {"load_seconds", "compute_seconds", "write_seconds", "gflops"}) {
    ASSERT_TRUE(j[key].is_number()) << key;
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }
  EXPECT_GE(j["tiles"].get<int>(), 1);
  // Workers over shm reach the operands in place: row panels, nothing held, nothing copied
  // but the jobs' coordinates.
  EXPECT_EQ(j["distribute"], "broadcast");
  EXPECT_EQ(j["worker_bytes"], 0);
  EXPECT_GT(j["payload_bytes"].get<std::size_t>(), 0u);
  EXPECT_LT(j["payload_bytes"].get<std::size_t>(), 64u * 48 * 8);
  EXPECT_FALSE(j["kernel"].get<std::string>().empty());
  EXPECT_FALSE(j["kernel_chosen_by"].get<std::string>().empty());
  EXPECT_FALSE(j["kernel_library"].get<std::string>().empty());
  // The peak is whichever sample was largest: with both workers alive (3), or, on a loaded
  // machine where a worker with nothing left to do has gone before the last tile's sample,
  // fewer. That the workers are counted at all is test_pool_memory's to show.
  EXPECT_GE(j["peak_pss_processes"], 1);
  EXPECT_LE(j["peak_pss_processes"], 3);
  EXPECT_GE(j["peak_pss_bytes"].get<std::size_t>(), j["operands_bytes"].get<std::size_t>());
  EXPECT_GE(j["operands_bytes"].get<std::size_t>(), (64 * 48 + 48 * 80 + 64 * 80) * 8);
}

// --distribute blocks: C the same, byte for byte, on every backend, as serial's with the same
// plan (1 MiB a worker gives 144 x 120 blocks, edge blocks included, for one worker or two);
// within rounding of the row panels' C (the kernel rounds a block cut across columns a little
// differently). Over a copying transport the jobs carry their columns of B, and auto takes
// blocks once all of B would not fit a worker.
TEST_F(CliMatmulTest, BlocksGiveTheSameCOnEveryBackend) {
  const std::vector<std::string> random{"--random", "500x400x300", "--seed", "7"};
  auto args = [&](std::vector<std::string> more) {
    std::vector<std::string> out = random;
    out.insert(out.end(), more.begin(), more.end());
    return out;
  };
  const std::string panels = (dir_ / "panels.npy").string(), serial = (dir_ / "serial.npy").string();
  json_of(args({"-o", panels, "--backend", "serial"}), dir_ / "report.json");
  auto j = json_of(args({"-o", serial, "--backend", "serial", "--distribute", "blocks",
                         "--worker-memory", "1"}),
                   dir_ / "report.json");
  EXPECT_EQ(j["distribute"], "blocks");
  EXPECT_EQ(j["tile"]["rows"], 144);
  EXPECT_EQ(j["tile"]["cols"], 120);
  EXPECT_EQ(j["tiles"], 4 * 3);
  const std::string want = slurp(serial);
  // Within the tolerance every backend's C meets against numpy's (EveryBackendWritesNumpysProduct).
  expect_near(read_row_major(serial), read_row_major(panels), 1e-12);
  for (const std::vector<std::string>& backend :
       {std::vector<std::string>{"--backend", "threads", "-j", "2"},
        {"--backend", "processes", "-j", "2"},
        {"--backend", "processes", "-j", "2", "--transport", "pipe"}}) {
    const std::string c = (dir_ / "c.npy").string();
    std::vector<std::string> run = args({"-o", c, "--distribute", "blocks", "--worker-memory", "1"});
    run.insert(run.end(), backend.begin(), backend.end());
    j = json_of(run, dir_ / "report.json");
    EXPECT_EQ(j["distribute"], "blocks") << backend[1];
    EXPECT_EQ(j["tiles"], 4 * 3) << backend[1];
    EXPECT_EQ(slurp(c), want) << backend[1];
    if (backend.back() == "pipe") {
      // The panels a job carries, and nothing sent to every worker.
      EXPECT_GT(j["worker_bytes"].get<std::size_t>(), 0u);
      EXPECT_LE(j["worker_bytes"].get<std::size_t>(), std::size_t{1} << 20);
      const std::size_t sent = (500 * 400 * 3 + 400 * 300 * 4 + 500 * 300) * 8;
      EXPECT_GE(j["payload_bytes"].get<std::size_t>(), sent);
      EXPECT_LT(j["payload_bytes"].get<std::size_t>(), sent + 12 * 128);
    }
    std::filesystem::remove(c);
  }
  // auto over a pipe: broadcast when all of B (940 KiB) and a job fit a worker, else blocks.
  j = json_of(args({"--backend", "processes", "-j", "2", "--transport", "pipe"}), dir_ / "report.json");
  EXPECT_EQ(j["distribute"], "broadcast");
  EXPECT_GT(j["worker_bytes"].get<std::size_t>(), 400u * 300 * 8);
  j = json_of(args({"--backend", "processes", "-j", "2", "--transport", "pipe", "--worker-memory", "1"}),
              dir_ / "report.json");
  EXPECT_EQ(j["distribute"], "blocks");
  for (const auto& name : {panels, serial}) std::filesystem::remove(name);
  std::filesystem::remove(dir_ / "report.json");
}

TEST_F(CliMatmulTest, TheKernelIsChosenByTheCpuUnlessAsked) {
  std::vector<std::string> kernels = runnable_kernels();
  ASSERT_FALSE(kernels.empty());
  const std::string fastest = kernels.front(), slowest = kernels.back();
  auto json = dir_ / "report.json";
  std::vector<std::string> args = {"--random", "200x150x170", "--verify", "-j", "2"};
  {
    ScopedEnv no_coretype("OPENBLAS_CORETYPE", std::nullopt);
    auto j = json_of(args, json);
    EXPECT_EQ(j["kernel"], fastest);
    EXPECT_EQ(j["kernel_chosen_by"], "CPU features");
    EXPECT_EQ(j["verify"]["passed"], true);
    ScopedEnv variable("FORKPOOL_MATMUL_KERNEL", slowest.c_str());
    j = json_of(args, json);
    EXPECT_EQ(j["kernel"], slowest);
    EXPECT_EQ(j["kernel_chosen_by"], "FORKPOOL_MATMUL_KERNEL");
    EXPECT_EQ(j["verify"]["passed"], true);
    auto with_flag = args;
    with_flag.insert(with_flag.end(), {"--kernel", fastest, "--dtype", "f32"});
    CommandOutcome r = matmul(with_flag);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("kernel   " + fastest + " f32, chosen by --kernel; "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verify   passed"), std::string::npos) << r.out;
  }
#ifdef FORKPOOL_WITH_OPENBLAS
  // OpenBLAS's own variable names a machine, often not this one: the CPU's features win.
  ScopedEnv coretype("OPENBLAS_CORETYPE", "Prescott");
  ScopedEnv no_variable("FORKPOOL_MATMUL_KERNEL", std::nullopt);
  auto j = json_of(args, json);
  EXPECT_EQ(j["kernel"], fastest);
  EXPECT_EQ(j["kernel_chosen_by"], "CPU features");
#endif
}

TEST_F(CliMatmulTest, AKernelThatCannotRunIsOneLineAndNothingIsDone) {
  std::string c = (dir_ / "c.npy").string();
  CommandOutcome r = matmul({"--random", "64x64x64", "-o", c, "--kernel", "fastest"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("forkpool: --kernel: fastest not in {auto,", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(c));
  {
    ScopedEnv variable("FORKPOOL_MATMUL_KERNEL", "nope");
    r = matmul({"--random", "64x64x64", "-o", c});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err.rfind("forkpool: FORKPOOL_MATMUL_KERNEL: unknown kernel 'nope'", 0), 0u) << r.err;
  }
#ifdef FORKPOOL_WITH_OPENBLAS
  // On a CPU with AVX2 but no AVX-512 (pretended), SkylakeX's kernel is refused by name, and
  // the fastest it runs is chosen by default.
  ScopedEnv cpu("FORKPOOL_MATMUL_TEST_CPU_FEATURES", "sse3,avx,fma,avx2");
  ScopedEnv no_coretype("OPENBLAS_CORETYPE", std::nullopt);
  r = matmul({"--random", "64x64x64", "-o", c, "--kernel", "openblas-skylakex"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("forkpool: --kernel: kernel 'openblas-skylakex' needs avx512f, avx512cd, "
                        "avx512bw, avx512dq, avx512vl, which this CPU or its OS does not offer "
                        "(this CPU runs: openblas-haswell, ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(c));
  auto j = json_of({"--random", "64x64x64", "--verify"}, dir_ / "report.json");
  EXPECT_EQ(j["kernel"], "openblas-haswell");
  EXPECT_EQ(j["verify"]["passed"], true);
#endif
}

#ifdef FORKPOOL_WITH_OPENBLAS
// The binary also loads OpenCV, whose LAPACK would bring in the system's default (threaded)
// OpenBLAS: the kernel that runs must still be the serial build forkpool was linked with.
TEST_F(CliMatmulTest, TilesRunOnTheSerialOpenBlas) {
  CommandOutcome r = matmul({"--random", "64x64x64", "--backend", "serial"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kernel   openblas-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SINGLE_THREADED"), std::string::npos) << r.out;
}
#endif

TEST_F(CliMatmulTest, RandomOperandsAreReproducible) {
  std::string c1 = (dir_ / "c1.npy").string(), c2 = (dir_ / "c2.npy").string();
  for (const auto& c : {c1, c2}) {
    CommandOutcome r = matmul({"--random", "100x70x50", "--dtype", "f32", "--seed", "3", "-o", c, "--verify"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  NpyFile f = NpyFile::open(c1);
  EXPECT_EQ(f.header().dtype, Dtype::f32);
  EXPECT_EQ(f.header().shape, (std::vector<std::size_t>{100, 50}));
  EXPECT_EQ(slurp(c1), slurp(c2));
}

TEST_F(CliMatmulTest, KilledWorkersTileIsRecomputed) {
  ScopedEnv kill("FORKPOOL_MATMUL_TEST_KILL_TILE", "0");
  std::string c = (dir_ / "c.npy").string();
  CommandOutcome r = matmul({a_, b_, "-o", c, "--tile", "24", "-j", "2", "--verify"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 worker(s) replaced"), std::string::npos) << r.out;
  expect_near(read_row_major(c), read_row_major(fixture("c_64x48x80_f64.npy")), 1e-12);
}

TEST_F(CliMatmulTest, VerifyCatchesACorruptedProduct) {
  ScopedEnv corrupt("FORKPOOL_MATMUL_TEST_CORRUPT_C", "1");
  std::string c = (dir_ / "c.npy").string();
  CommandOutcome r = matmul({a_, b_, "-o", c, "--verify"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("forkpool: verification failed"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("verify   FAILED"), std::string::npos) << r.out;
  EXPECT_TRUE(dir_.entries().empty()) << "a product that failed verification is not written";
}

TEST_F(CliMatmulTest, RefusesBadInputWithOneLineBeforeAnyWork) {
  std::string truncated = (dir_ / "truncated.npy").string();
  std::string bytes = slurp(b_);
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  // A header whose text breaks the line: the message must still be one line.
  std::string two_lines = (dir_ / "two_lines.npy").string();
  {
    std::string header = matmul::npy_header(Dtype::f64, 2, 2);
    header.replace(header.find("'descr'"), 7, "'a\nb\x01'");
    std::ofstream(two_lines, std::ios::binary) << header << std::string(32, '\0');
  }
  std::string c = (dir_ / "c.npy").string();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{a_, fixture("int64_2x2.npy").string()}, "dtype '<i8' is not supported"},
      {{a_, fixture("big_endian_2x2.npy").string()}, "big-endian"},
      {{a_, fixture("vector_3.npy").string()}, "not a matrix"},
      {{a_, truncated}, "truncated"},
      {{two_lines, b_}, "unexpected key 'a\\x0ab\\x01'"},
      {{a_, fixture("make_fixtures.py").string()}, "bad magic"},
      {{a_, (dir_ / "absent.npy").string()}, "No such file"},
      {{a_, a_}, "cannot multiply"},
      {{a_}, "two input files"},
      {{a_, b_, "--random", "8x8x8"}, "not both"},
      {{"--random", "8x8"}, "--random takes MxKxN"},
      {{"--random", "8x8x8", "--dtype", "f16"}, "--dtype: f16 not in {f32,f64}"},
      {{"--random", "8x8x8", "--backend", "gpu"}, "--backend: gpu not in {processes,threads,serial,mpi}"},
      {{"--random", "8x8x8", "-o", (dir_ / "missing" / "c.npy").string()}, "does not exist"},
      {{"--random", "8x8x8", "--tile", "18446744073709551615"}, "--tile: '18446744073709551615' is not a whole number from 1 to 1048576"},
      {{"--random", "8x8x8", "--tile", "0"}, "--tile: '0' is not a whole number"},
      {{"--random", "8x8x8", "--tile", "-24"}, "--tile: '-24' is not a whole number"},
      {{"--random", "8x8x8", "--distribute", "summa"}, "--distribute: summa not in {auto,broadcast,blocks}"},
      {{"--random", "8x8x8", "--worker-memory", "0"}, "--worker-memory: '0' is not a whole number"},
      {{"--random", "8x8x8", "-j", "0"}, "--workers: '0' is not a whole number from 1 to 4096"},
      {{"--random", "8x8x8", "-j", "1e9"}, "--workers: '1e9' is not a whole number from 1 to 4096"},
  };
  for (const Case& t : cases) {
    std::vector<std::string> args = t.args;
    if (std::find(args.begin(), args.end(), "-o") == args.end()) args.insert(args.end(), {"-o", c});
    CommandOutcome r = matmul(args);
    EXPECT_EQ(r.exit_code, 1) << t.says;
    EXPECT_EQ(r.out, "") << t.says;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("forkpool: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(t.says), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(c)) << t.says;
  }
  std::filesystem::remove(truncated);
  std::filesystem::remove(two_lines);
  EXPECT_TRUE(dir_.entries().empty()) << "nothing but what the test made";
}

TEST_F(CliMatmulTest, AnOutputThatIsAnInputIsRefusedBeforeAnyWork) {
  const auto a = dir_ / "a.npy", b = dir_ / "b.npy";
  std::filesystem::copy_file(a_, a);
  std::filesystem::copy_file(b_, b);
  std::filesystem::create_symlink("a.npy", dir_ / "link.npy");
  const std::string a_bytes = slurp(a), b_bytes = slurp(b);
  for (const std::vector<std::string>& outputs : std::vector<std::vector<std::string>>{
           {"-o", a.string()}, {"-o", b.string()}, {"-o", (dir_ / "link.npy").string()},
           {"--json", a.string()}}) {
    std::vector<std::string> args{a.string(), b.string()};
    args.insert(args.end(), outputs.begin(), outputs.end());
    CommandOutcome r = matmul(args);
    EXPECT_EQ(r.exit_code, 1) << outputs[1] << ": " << r.err;
    EXPECT_NE(r.err.find("is an input"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(slurp(a) == a_bytes && slurp(b) == b_bytes) << "an input was overwritten";
}

TEST_F(CliMatmulTest, TwoOutputsThatAreOneFileAreRefused) {
  std::string c = (dir_ / "c.npy").string();
  CommandOutcome r = matmul({a_, b_, "-o", c, "--json", c});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("are the same file"), std::string::npos) << r.err;
  EXPECT_TRUE(dir_.entries().empty());
}

TEST_F(CliMatmulTest, OutputsAreWrittenThroughSymlinksAndToStdout) {
  std::filesystem::create_directories(dir_ / "real");
  std::filesystem::create_symlink("real/c.npy", dir_ / "c.npy");
  CommandOutcome r = matmul({a_, b_, "-o", (dir_ / "c.npy").string(), "--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::is_symlink(dir_ / "c.npy"));
  expect_near(read_row_major(dir_ / "real" / "c.npy"), read_row_major(fixture("c_64x48x80_f64.npy")), 1e-12);
  auto j = nlohmann::json::parse(r.out);  // stdout holds the report alone
  EXPECT_EQ(j["status"], "ok");
}

// Runs `forkpool matmul` with `args` in a child that sees a full 64 KiB tmpfs on `folder`: it
// holds `old` (name, contents) and a filler that takes every page left. Returns the outcome;
// `after` gets the folder's names and the old file's contents as the command left them.
struct FullDiskRun {
  CommandOutcome outcome;
  std::vector<std::string> names;
  std::string old_contents;
  bool available = true;
};
FullDiskRun run_on_full_disk(const std::filesystem::path& folder, const std::string& old_name,
                             const std::string& old, std::vector<std::string> args) {
  std::filesystem::create_directories(folder);
  const auto record = folder.parent_path() / "record";
  args.insert(args.begin(), {FORKPOOL_BINARY, "matmul"});
  int result = forkpool::testing::run_on_small_tmpfs(folder, 64 * 1024, [&] {
    std::ofstream(folder / old_name) << old;
    std::ofstream(folder / "filler") << std::string(15 * 4096, 'f');
    CommandOutcome r = run_command(args);
    std::ofstream out(record, std::ios::binary);
    out << r.exit_code << '\n' << slurp(folder / old_name) << '\0' << r.out << '\0' << r.err << '\0';
    for (const auto& e : std::filesystem::directory_iterator(folder)) out << e.path().filename().string() << '\n';
    return 0;
  });
  FullDiskRun run;
  if (result == forkpool::testing::kSandboxUnavailable) {
    run.available = false;
    return run;
  }
  std::ifstream in(record, std::ios::binary);
  std::string line;
  std::getline(in, line);
  run.outcome.exit_code = std::stoi(line);
  std::getline(in, run.old_contents, '\0');
  std::getline(in, run.outcome.out, '\0');
  std::getline(in, run.outcome.err, '\0');
  while (std::getline(in, line)) run.names.push_back(line);
  std::sort(run.names.begin(), run.names.end());
  return run;
}

TEST_F(CliMatmulTest, AReportThatFailsLeavesTheOldOneAndExitsTwo) {
  const auto json = dir_ / "disk" / "report.json";
  auto run = run_on_full_disk(dir_ / "disk", "report.json", "the old report\n",
                              {a_, b_, "--json", json.string(), "-q"});
  if (!run.available) GTEST_SKIP() << "mount namespaces are not available here";
  EXPECT_EQ(run.outcome.exit_code, 2) << run.outcome.err;
  EXPECT_EQ(run.outcome.err, "forkpool: cannot write the JSON report " + json.string() + ": write(" +
                                 json.string() + "): No space left on device\n");
  EXPECT_EQ(run.old_contents, "the old report\n");
  EXPECT_EQ(run.names, (std::vector<std::string>{"filler", "report.json"})) << "no temporary file left";
}

TEST_F(CliMatmulTest, AProductThatCannotBeWrittenIsExitTwoAndKeepsTheOldFile) {
  const auto c = dir_ / "disk" / "c.npy", json = dir_ / "report.json";
  auto run = run_on_full_disk(dir_ / "disk", "c.npy", "the old C",
                              {a_, b_, "-o", c.string(), "--json", json.string()});
  if (!run.available) GTEST_SKIP() << "mount namespaces are not available here";
  EXPECT_EQ(run.outcome.exit_code, 2) << run.outcome.err;
  EXPECT_NE(run.outcome.err.find("forkpool: C not written: write(" + c.string() +
                                 "): No space left on device"),
            std::string::npos) << run.outcome.err;
  EXPECT_EQ(run.old_contents, "the old C");
  EXPECT_EQ(run.names, (std::vector<std::string>{"c.npy", "filler"})) << "no temporary file left";
  auto j = nlohmann::json::parse(slurp(json));
  EXPECT_EQ(j["status"], "failed");
  EXPECT_TRUE(j["c"]["path"].is_null());
}

// `forkpool matmul ... | head -c0`: the reader of stdout is gone before anything is written.
// forkpool does not die of SIGPIPE (silently, exit 141 in a shell, on some backends only, as
// it did when only making a pipe channel ignored SIGPIPE): the write fails, forkpool says so
// in one line and exits 2, the product having been computed. One line per backend, for the
// report on stdout (--json -) and for the summary printed there.
TEST_F(CliMatmulTest, StdoutWhoseReaderIsGoneIsOneErrorLineAndExitTwo) {
  for (std::string backend : {"serial", "threads", "processes"}) {
    for (bool json : {true, false}) {
      std::vector<std::string> args = {FORKPOOL_BINARY, "matmul", "--random", "16x8x16",
                                       "--backend", backend, "-j", "2"};
      if (json) args.insert(args.end(), {"--json", "-"});
      CommandOutcome run = run_command(args, std::chrono::seconds(120), {.stdout_reader_gone = true});
      SCOPED_TRACE(backend + (json ? " --json -" : " summary"));
      EXPECT_EQ(run.exit_code, 2) << run.err;
      EXPECT_NE(run.err.find("Broken pipe"), std::string::npos) << run.err;
      EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    }
  }
}

// Starts `forkpool matmul` with stdout and stderr discarded, without waiting for it.
pid_t spawn_matmul(const std::vector<std::string>& args) {
  std::vector<std::string> all = {FORKPOOL_BINARY, "matmul"};
  all.insert(all.end(), args.begin(), args.end());
  return spawn_quiet(all);
}

class CliMatmulInterruptTest : public forkpool::testing::LeakCheckedTest,
                               public ::testing::WithParamInterface<std::vector<std::string>> {
 protected:
  ScratchDir dir_;
};

// Ctrl-C during the product: exit 130 (by exit(), not by dying of the signal), no C.npy and no
// temporary file beside it, no shared memory left (LeakCheckedTest checks /dev/shm).
TEST_P(CliMatmulInterruptTest, CtrlCExits130AndWritesNothing) {
  std::vector<std::string> args = {"--random", "3072x3072x3072", "-o", (dir_ / "C.npy").string()};
  args.insert(args.end(), GetParam().begin(), GetParam().end());
  pid_t pid = spawn_matmul(args);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_until_it_blocks_sigint(pid));
  ::kill(pid, SIGINT);
  const auto exited = wait_for_exit(pid);
  ASSERT_TRUE(exited) << "forkpool matmul did not exit after SIGINT";
  const int status = *exited;
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_TRUE(dir_.entries().empty()) << "neither C.npy nor a temporary file";
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CliMatmulInterruptTest,
    ::testing::Values(std::vector<std::string>{"--backend", "processes", "-j", "2", "--transport", "shm"},
                      std::vector<std::string>{"--backend", "processes", "-j", "2", "--transport", "pipe"},
                      std::vector<std::string>{"--backend", "threads", "-j", "2"},
                      std::vector<std::string>{"--backend", "serial"}),
    [](const auto& info) {
      std::string name = info.param[1];
      if (info.param.size() > 4) name += "_" + info.param[5];
      return name;
    });

}  // namespace
}  // namespace forkpool::matmul
