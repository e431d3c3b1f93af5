// Faults injected through sys_call: the mechanism itself, and every failure path of channel
// creation and of the retry loops it makes reachable.

#include "forkpool/ipc/fault_injection.hpp"

#include <cerrno>
#include <chrono>
#include <string>

#include "common/leak_check.hpp"
#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/sys_call.hpp"
#include "ipc/channel_test_support.hpp"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ipc::Bytes;
using ipc::Deadline;
using ipc::InjectedFault;

using FaultInjectionTest = LeakCheckedTest;

ipc::Result<int> fake_call(const char* name) {
  return ipc::sys_call(name, "", [] { return 7; });
}

TEST_F(FaultInjectionTest, NthCallOfTheNamedCallFailsWithTheChosenErrno) {
  InjectedFault fault("fake", ENOSPC, /*skip=*/2, /*times=*/1);
  EXPECT_TRUE(fake_call("fake"));
  EXPECT_TRUE(fake_call("other")) << "a call of another name counts for nothing";
  EXPECT_TRUE(fake_call("fake"));
  auto third = fake_call("fake");
  ASSERT_FALSE(third.has_value());
  EXPECT_EQ(third.error().code, ENOSPC);
  EXPECT_EQ(third.error().call, "fake");
  EXPECT_TRUE(fake_call("fake")) << "only `times` calls fail";
  EXPECT_EQ(fault.hits(), 1u);
}

TEST_F(FaultInjectionTest, NothingFailsOnceTheFaultIsGone) {
  {
    InjectedFault fault("fake", EIO, 0, 100);
    EXPECT_FALSE(fake_call("fake"));
  }
  EXPECT_FALSE(ipc::detail::g_faults_armed.load());
  EXPECT_TRUE(fake_call("fake"));
}

TEST_F(FaultInjectionTest, WildcardFailsAnyCallAndExpectedErrnosStayAnswers) {
  InjectedFault fault("*", EAGAIN, 0, 2);
  auto expected = ipc::sys_call_expecting({EAGAIN}, "anything", "", [] { return 1; });
  ASSERT_TRUE(expected.has_value());
  EXPECT_FALSE(expected->has_value()) << "an injected EAGAIN is the expected answer";
  auto plain = fake_call("else");
  ASSERT_FALSE(plain.has_value());
  EXPECT_EQ(plain.error().code, EAGAIN);
  EXPECT_EQ(fault.hits(), 2u);
}

class FaultsPerTransport : public LeakCheckedTest,
                           public ::testing::WithParamInterface<ipc::Transport> {};

// EAGAIN from the non-blocking calls sends and receives are built on (the retry loops of the
// stream and mq channels): each is waited out and the message arrives whole.
TEST_P(FaultsPerTransport, EagainFromSendAndReceiveCallsIsWaitedOut) {
  const ipc::Transport t = GetParam();
  const char* send_call = t == ipc::Transport::pipe ? "writev"
                          : t == ipc::Transport::mq ? "mq_send"
                                                    : "sendmsg";
  const char* receive_call = t == ipc::Transport::mq ? "mq_receive" : "read";
  auto pair = ipc::make_channel_pair(t);
  ASSERT_TRUE(pair.has_value()) << pair.error().message();
  InjectedFault send_fault(send_call, EAGAIN, 0, 3);
  InjectedFault receive_fault(receive_call, EAGAIN, 0, 3);
  Bytes sent = pattern(20000, 9), got;
  auto s = pair->first->send(sent, Deadline::after(20s));
  ASSERT_TRUE(s.has_value()) << s.error().message();
  auto r = pair->second->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_TRUE(*r);
  EXPECT_TRUE(got == sent);
  EXPECT_EQ(send_fault.hits(), 3u);
  EXPECT_EQ(receive_fault.hits(), 3u);
}

INSTANTIATE_TEST_SUITE_P(CopyingTransports, FaultsPerTransport,
                         ::testing::Values(ipc::Transport::pipe, ipc::Transport::unix_socket,
                                           ipc::Transport::tcp, ipc::Transport::mq),
                         [](const auto& info) { return std::string(ipc::to_string(info.param)); });

class CreationFaults : public LeakCheckedTest, public ::testing::WithParamInterface<ipc::Transport> {};

// Each OS call of make_channel_pair fails in turn (ENOMEM, then EMFILE): every one is an error
// or a pair that works, and none leaks a descriptor, a name in /dev/shm or /dev/mqueue (the
// fixture checks). The loop ends when a run meets no fault: every call has been failed once.
TEST_P(CreationFaults, EveryFailingCallIsAnErrorOrAWorkingPairAndLeaksNothing) {
  for (int code : {ENOMEM, EMFILE}) {
    unsigned failed_paths = 0;
    for (unsigned n = 0;; ++n) {
      ASSERT_LT(n, 500u) << "make_channel_pair makes no end of calls";
      InjectedFault fault("*", code, n, 1);
      auto pair = ipc::make_channel_pair(GetParam(), {.shm_ring_bytes = 4096});
      if (fault.hits() == 0) {
        ASSERT_TRUE(pair.has_value()) << pair.error().message();
        break;
      }
      if (!pair) {
        ++failed_paths;
        EXPECT_EQ(pair.error().code, code) << "call " << n << ": " << pair.error().message();
        continue;
      }
      // The failure was survived (a smaller queue, a yield skipped): the pair must work.
      Bytes got;
      ASSERT_TRUE(pair->first->send(pattern(100, n), Deadline::after(20s))) << "call " << n;
      auto r = pair->second->receive(got, Deadline::after(20s));
      ASSERT_TRUE(r && *r) << "call " << n;
      EXPECT_TRUE(got == pattern(100, n));
    }
    EXPECT_GT(failed_paths, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTransports, CreationFaults, ::testing::ValuesIn(ipc::kAllTransports),
                         [](const auto& info) { return std::string(ipc::to_string(info.param)); });

}  // namespace
}  // namespace forkpool::testing
