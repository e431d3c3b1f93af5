// Running a planned batch: every backend through the one executor, the same outputs byte for
// byte, items reported on the calling thread while the executor holds SIGINT and SIGTERM.

#include <gtest/gtest.h>

#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/images/batch.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using BatchRunTest = LeakCheckedTest;

struct Config {
  Backend backend;
  ipc::Transport transport = ipc::Transport::shm;
};

TEST_F(BatchRunTest, EveryBackendWritesTheSameBytesAndReportsOnTheCallingThread) {
  TempDir dir;
  for (int i = 0; i < 6; ++i)
    write_image(dir / ("in/img_" + std::to_string(i) + (i % 2 ? ".png" : ".jpg")),
                synthetic_image(48 + 8 * i, 40, 3, i));
  std::vector<std::string> reference;
  std::string reference_name;
  for (Config config : {Config{Backend::serial}, Config{Backend::threads},
                        Config{Backend::processes, ipc::Transport::shm},
                        Config{Backend::processes, ipc::Transport::pipe}}) {
    const std::string name = std::string(to_string(config.backend)) + "_" +
                             std::string(ipc::to_string(config.transport));
    SCOPED_TRACE(name);
    ImageBatchSettings settings;
    settings.inputs.paths = {dir / "in"};
    settings.output_dir = dir / ("out_" + name);
    settings.recipe.ops = {"resize=32x32", "blur=1", "equalize"};
    ImageBatch batch = plan_image_batch(settings);
    ASSERT_EQ(batch.items.size(), 6u);

    ExecutorOptions options;
    options.backend = config.backend;
    options.transport = config.transport;
    options.workers = 3;
    const auto caller = std::this_thread::get_id();
    std::size_t reported = 0;
    ImageBatchReport report = run_image_batch(batch, options, [&](const ImageItem& item) {
      ++reported;
      EXPECT_EQ(std::this_thread::get_id(), caller) << item.relative;
      // SIGINT belongs to the executor's SignalCatcher while the batch runs: blocked in this
      // thread and read from its signalfd (no handler of the images module's own).
      sigset_t mask;
      ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
      EXPECT_TRUE(sigismember(&mask, SIGINT)) << item.relative;
    });
    EXPECT_EQ(reported, 6u);
    EXPECT_EQ(report.count(ItemStatus::done), 6u);
    std::vector<std::string> outputs;
    for (const auto& item : report.items) outputs.push_back(read_bytes(item.output));
    if (reference.empty()) {
      reference = outputs;
      reference_name = name;
    } else {
      for (std::size_t i = 0; i < outputs.size(); ++i)
        EXPECT_TRUE(outputs[i] == reference[i])
            << report.items[i].relative << " differs from " << reference_name;
    }
  }
}

}  // namespace
}  // namespace forkpool::images
