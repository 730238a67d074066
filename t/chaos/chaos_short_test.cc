// The short chaos run of `make check` (issue 8): 60 s of continuous ingest
// against a mini cluster (lockd, 2 masters, 3 tabletds, shared data root)
// while every kind of fault is injected at least once: kill -9 of a tabletd,
// of the active master and of lockd (each restarted with its data), SIGSTOP
// of a tabletd for longer than the lease, an ordered split, balancer moves.
// Fails if any acknowledged row is missing, any referenced row is undefined,
// or the scan returns a row twice. The long run is `make check-chaos`.
#include <gtest/gtest.h>

#include <iostream>

#include "t/chaos/chaos_runner.h"
#include "t/test_util.h"

namespace kdi::chaos {
namespace {

TEST(ChaosShortTest, NoAcknowledgedRowIsLostUnderEveryKindOfFault) {
  ChaosOptions o;
  o.seconds = 60;
  o.writers = 3;
  o.min_interval_ms = 2000;
  o.max_interval_ms = 4000;
  o.progress = &std::cerr;
  ChaosReport r;
  ASSERT_OK(RunChaos(o, &r));
  std::cout << SummaryLine(o, r) << std::endl;
  for (const auto& p : r.problems) std::cerr << "chaos problem: " << p << "\n";
  EXPECT_GT(r.ingest.acknowledged_rows, 0u);
  EXPECT_EQ(r.verify.acknowledged, r.ingest.acknowledged_rows);
  EXPECT_EQ(r.verify.acknowledged_missing, 0u);
  EXPECT_EQ(r.verify.undefined, 0u);
  EXPECT_EQ(r.verify.duplicates, 0u);
  EXPECT_EQ(r.verify.malformed, 0u);
  EXPECT_GE(r.verify.rows, r.ingest.acknowledged_rows);
  for (int k = 0; k < kNumFaultKinds; k++) {
    EXPECT_GE(r.faults[k], 1) << "no " << FaultKindName(k) << " fault was injected";
  }
  EXPECT_TRUE(r.passed);
}

}  // namespace
}  // namespace kdi::chaos
