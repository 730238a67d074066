// Tests of tabletd's CacheBudget: the Berkeley DB shares of the open tablets
// add up to at most tabletd_cache_mb, and the cache size asked of Berkeley DB
// for a share keeps the real environment (cache + Berkeley DB's 25%) within it.
#include <db.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "t/test_util.h"
#include "tabletd/tablet_registry.h"

namespace kdi::tabletd {
namespace {

constexpr uint64_t kMiB = 1u << 20;

TEST(CacheBudgetTest, SharesOfOpenTabletsStayWithinTheBudget) {
  CacheBudget budget(256 * kMiB);
  EXPECT_EQ(64 * kMiB, budget.max_share());
  std::vector<uint64_t> shares;
  for (size_t n = 1; n <= 100; n++) {
    uint64_t s = budget.Grant(n);
    EXPECT_GE(s, CacheBudget::kMinShare);
    EXPECT_LE(s, budget.max_share());
    shares.push_back(s);
    // Within the budget while it lasts; beyond, each tablet adds kMinShare.
    uint64_t extra = n > 4 ? (n - 4) * CacheBudget::kMinShare : 0;
    EXPECT_EQ(std::min<uint64_t>(n, 4) * 64 * kMiB + extra, budget.granted())
        << "after " << n << " tablets";
  }
  EXPECT_EQ(CacheBudget::kMinShare, shares[99]);
  for (uint64_t s : shares) budget.Release(s);
  EXPECT_EQ(0u, budget.granted());
}

TEST(CacheBudgetTest, BudgetUsedUpGivesTheMinimumShare) {
  CacheBudget budget(8 * kMiB);
  EXPECT_EQ(2 * kMiB, budget.Grant(1));
  EXPECT_EQ(2 * kMiB, budget.Grant(2));
  EXPECT_EQ(2 * kMiB, budget.Grant(3));
  EXPECT_EQ(2 * kMiB, budget.Grant(4));
  EXPECT_EQ(8 * kMiB, budget.granted());
  // Over budget only by the minimum share of each extra tablet.
  EXPECT_EQ(CacheBudget::kMinShare, budget.Grant(5));
  EXPECT_EQ(8 * kMiB + CacheBudget::kMinShare, budget.granted());
}

TEST(CacheBudgetTest, SplitChildrenInheritTheFrozenParentsShare) {
  CacheBudget budget(256 * kMiB);
  uint64_t parents[4];
  for (size_t i = 0; i < 4; i++) parents[i] = budget.Grant(i + 1);
  ASSERT_EQ(256 * kMiB, budget.granted());  // all used up
  // Split of parents[0] (64 MiB): 5 tablets while both children load.
  uint64_t credit = parents[0] / 2;
  uint64_t left = budget.Grant(5, &credit);
  EXPECT_EQ(32 * kMiB, left);
  EXPECT_EQ(0u, credit);
  credit = parents[0] / 2;
  uint64_t right = budget.Grant(6, &credit);
  EXPECT_EQ(32 * kMiB, right);
  // The parent unloads: back within the budget.
  budget.Release(parents[0]);
  EXPECT_EQ(256 * kMiB, budget.granted());
}

TEST(CacheBudgetTest, CreditIsOnlyUsedBeyondWhatIsFree) {
  CacheBudget budget(256 * kMiB);
  uint64_t parent = budget.Grant(1);
  uint64_t credit = parent / 2;
  EXPECT_EQ(64 * kMiB, budget.Grant(2, &credit));  // 192 MiB were free
  EXPECT_EQ(parent / 2, credit);
}

// What Berkeley DB 5.3 really allocates for the requested cache size.
uint64_t RealCacheSize(const std::string& dir, uint64_t request) {
  DB_ENV* env = nullptr;
  EXPECT_EQ(0, db_env_create(&env, 0));
  EXPECT_EQ(0, env->set_cachesize(env, 0, static_cast<u_int32_t>(request), 1));
  int rc = env->open(env, dir.c_str(),
                     DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_TXN |
                         DB_PRIVATE | DB_THREAD,
                     0644);
  EXPECT_EQ(0, rc) << db_strerror(rc);
  u_int32_t gbytes = 0, bytes = 0;
  int ncache = 0;
  EXPECT_EQ(0, env->get_cachesize(env, &gbytes, &bytes, &ncache));
  env->close(env, 0);
  return (static_cast<uint64_t>(gbytes) << 30) + bytes;
}

TEST(CacheBudgetTest, BerkeleyDbCacheOfAShareStaysWithinIt) {
  test::TempDir dir;
  for (uint64_t share : {CacheBudget::kMinShare, 8 * kMiB, 64 * kMiB, 256 * kMiB}) {
    uint64_t request = CacheBudget::BdbCacheRequest(share);
    uint64_t real = RealCacheSize(dir.path(), request);
    EXPECT_GT(real, request) << "Berkeley DB no longer adds its 25%?";
    EXPECT_LE(real + CacheBudget::kEnvOverhead, share) << "share " << share;
    EXPECT_GE(real, (share - CacheBudget::kEnvOverhead) / 2) << "share " << share << " badly used";
  }
}

}  // namespace
}  // namespace kdi::tabletd
