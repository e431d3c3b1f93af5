// map_batch: typed jobs and results over the executor, on every backend, with the codecs given
// and one a user writes.

#include <cmath>
#include <string>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/exec/typed_batch.hpp"
#include "job_kit.hpp"

namespace forkpool {

// A type that is not trivially copyable, with a codec of its own: "text\0count".
struct Word {
  std::string text;
  int count = 0;
};

template <>
struct Codec<Word> {
  static Bytes encode(const Word& w) {
    Bytes out = Codec<std::string>::encode(w.text);
    out.push_back(std::byte{0});
    Bytes count = Codec<int>::encode(w.count);
    out.insert(out.end(), count.begin(), count.end());
    return out;
  }
  static Word decode(std::span<const std::byte> bytes) {
    if (bytes.size() < 1 + sizeof(int)) throw std::runtime_error("a Word is longer than that");
    std::size_t text = bytes.size() - 1 - sizeof(int);
    if (bytes[text] != std::byte{0}) throw std::runtime_error("no separator in the Word");
    return {Codec<std::string>::decode(bytes.first(text)), Codec<int>::decode(bytes.last(sizeof(int)))};
  }
};

// Trivially copyable, with a codec of its own that refuses odd values when it reads them.
struct Fussy {
  int value = 0;
};

template <>
struct Codec<Fussy> {
  static Bytes encode(const Fussy& f) { return Codec<int>::encode(f.value); }
  static Fussy decode(std::span<const std::byte> bytes) {
    int v = Codec<int>::decode(bytes);
    if (v % 2 != 0) throw std::runtime_error("odd values are refused");
    return {v};
  }
};

namespace testing {
namespace {

struct Point {
  double x = 0, y = 0;
  int id = 0;
};

struct Config {
  Backend backend;
  ipc::Transport transport = ipc::Transport::pipe;
};

class TypedBatchTest : public LeakCheckedTest, public ::testing::WithParamInterface<Config> {
 protected:
  [[nodiscard]] Executor executor() const {
    ExecutorOptions o;
    o.backend = GetParam().backend;
    o.transport = GetParam().transport;
    o.workers = 3;
    return Executor(o);
  }
};

std::vector<Point> points(int n) {
  std::vector<Point> out;
  for (int i = 0; i < n; ++i) out.push_back({i * 0.5, i * 1.5, i});
  return out;
}

TEST_P(TypedBatchTest, TriviallyCopyableJobsAndResultsNeedNoCodec) {
  const auto jobs = points(50);
  auto report = map_batch(executor(), jobs, [](const Point& p) { return std::hypot(p.x, p.y) + p.id; });
  ASSERT_TRUE(report.all_done());
  std::vector<double> values = report.take_values();
  ASSERT_EQ(values.size(), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i)
    EXPECT_EQ(values[i], std::hypot(jobs[i].x, jobs[i].y) + jobs[i].id) << "job " << i;
}

TEST_P(TypedBatchTest, UserCodecAndTheGivenOnesCarryOtherTypes) {
  std::vector<Word> jobs = {{"pool", 2}, {"map", 3}, {"a\0b", 0}, {"fork", 1}};
  Bytes shared = Codec<std::string>::encode("-");
  auto report = map_batch(executor(), jobs,
                          [](const Word& w, const WorkerContext& context) {
                            std::string sep = Codec<std::string>::decode(context.shared_input);
                            std::vector<std::string> parts(static_cast<std::size_t>(w.count), w.text);
                            std::string joined;
                            for (const auto& part : parts) joined += (joined.empty() ? "" : sep) + part;
                            return joined;
                          },
                          shared);
  EXPECT_EQ(report.take_values(), (std::vector<std::string>{"pool-pool", "map-map-map", "", "fork"}));

  auto lengths = map_batch(executor(), jobs, [](const Word& w) {
    return std::vector<int>(static_cast<std::size_t>(w.count), static_cast<int>(w.text.size()));
  });
  EXPECT_EQ(lengths.take_values()[1], (std::vector<int>{3, 3, 3}));
}

TEST_P(TypedBatchTest, AJobThatThrowsFailsAloneAndTakeValuesNamesIt) {
  const auto jobs = points(10);
  auto report = map_batch(executor(), jobs, [](const Point& p) {
    if (p.id == 6) throw std::runtime_error("no point in six");
    return p.id * 2;
  });
  EXPECT_FALSE(report.all_done());
  EXPECT_EQ(report.batch.count(JobStatus::done), 9u);
  EXPECT_EQ(report.batch.results[6].status, JobStatus::failed);
  EXPECT_EQ(report.batch.results[6].error, "no point in six");
  EXPECT_FALSE(report.values[6].has_value());
  EXPECT_EQ(report.values[7], 14);
  try {
    (void)report.take_values();
    FAIL() << "take_values returned with job 6 failed";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "job 6 failed: no point in six");
  }
}

// A result its codec cannot read fails that job on the coordinator, with the codec's reason;
// a user's codec is taken over the one for trivially copyable types.
TEST_P(TypedBatchTest, AResultThatCannotBeDecodedFailsItsJob) {
  std::vector<int> jobs = {1, 2, 3};
  auto report = map_batch(executor(), jobs, [](int n) { return Fussy{n}; });
  EXPECT_EQ(report.batch.count(JobStatus::done), 1u);
  EXPECT_EQ(report.values[1]->value, 2);
  for (std::size_t i : {0u, 2u}) {
    EXPECT_EQ(report.batch.results[i].status, JobStatus::failed);
    EXPECT_EQ(report.batch.results[i].error, "cannot decode its result: odd values are refused");
  }
}

std::string config_name(const ::testing::TestParamInfo<Config>& info) {
  std::string name(to_string(info.param.backend));
  if (info.param.backend == Backend::processes) name += std::string("_") + std::string(to_string(info.param.transport));
  return name;
}

INSTANTIATE_TEST_SUITE_P(Backends, TypedBatchTest,
                         ::testing::Values(Config{Backend::serial}, Config{Backend::threads},
                                           Config{Backend::processes, ipc::Transport::pipe},
                                           Config{Backend::processes, ipc::Transport::shm}),
                         config_name);

TEST(Codec, RoundTripsAndRefusesBytesOfTheWrongSize) {
  Point p{1.25, -2.5, 7};
  Point back = Codec<Point>::decode(Codec<Point>::encode(p));
  EXPECT_EQ(back.x, p.x);
  EXPECT_EQ(back.y, p.y);
  EXPECT_EQ(back.id, p.id);
  EXPECT_THROW((void)Codec<Point>::decode(Bytes(3)), std::runtime_error);

  std::vector<double> v = {1, 2.5, -3};
  EXPECT_EQ(Codec<std::vector<double>>::decode(Codec<std::vector<double>>::encode(v)), v);
  EXPECT_TRUE(Codec<std::vector<double>>::decode({}).empty());
  EXPECT_THROW((void)Codec<std::vector<double>>::decode(Bytes(12)), std::runtime_error);

  EXPECT_EQ(Codec<std::string>::decode(Codec<std::string>::encode(std::string("a\0b", 3))),
            std::string("a\0b", 3));
  static_assert(Encodable<Point> && Encodable<std::string> && Encodable<Word>);
  static_assert(!Encodable<std::vector<std::string>>);
}

}  // namespace
}  // namespace testing
}  // namespace forkpool
