// Replays every file of t/fuzz/corpus/<target>/ through the fuzz targets of
// t/fuzz/ (the same entry points libFuzzer drives), so corpus inputs and the
// crashes fuzzing once found stay regression tests in every `make check`, with
// any compiler. Then feeds each target a fixed set of deterministic mutations
// of the corpus (bit flips, truncations, splices), a small fuzzing pass that
// needs no clang. A target that crashes or breaks an invariant aborts the test.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lib/rpc/frame.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {
namespace {

using Target = int (*)(const uint8_t*, size_t);

std::string CorpusDir(const std::string& target) {
  const char* src = std::getenv("KDI_SRC_DIR");
  return std::string(src && *src ? src : ".") + "/t/fuzz/corpus/" + target;
}

std::vector<std::string> ReadCorpus(const std::string& dir) {
  std::vector<std::string> names, out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::ifstream f(dir + "/" + n, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    out.push_back(ss.str());
  }
  return out;
}

void Feed(Target t, const std::string& input) {
  t(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

// Deterministic mutations of the corpus.
void Mutate(Target t, const std::vector<std::string>& corpus, int rounds) {
  std::mt19937 rng(12345);
  for (int i = 0; i < rounds; i++) {
    std::string s = corpus[rng() % corpus.size()];
    switch (rng() % 5) {
      case 0:  // flip bits
        for (int k = 0, n = 1 + rng() % 4; k < n && !s.empty(); k++) {
          s[rng() % s.size()] ^= static_cast<char>(1u << (rng() % 8));
        }
        break;
      case 1:  // truncate
        s.resize(s.empty() ? 0 : rng() % s.size());
        break;
      case 2:  // overwrite a byte with an interesting value
        if (!s.empty()) {
          const char vals[] = {0, 1, 0x7f, static_cast<char>(0x80), static_cast<char>(0xff),
                               '\n', '=', '[', '"', '#'};
          s[rng() % s.size()] = vals[rng() % sizeof(vals)];
        }
        break;
      case 3: {  // splice two inputs
        const std::string& o = corpus[rng() % corpus.size()];
        s = s.substr(0, s.empty() ? 0 : rng() % s.size()) + o.substr(o.empty() ? 0 : rng() % o.size());
        break;
      }
      case 4:  // insert random bytes
        for (int k = 0, n = 1 + rng() % 8; k < n; k++) {
          s.insert(s.empty() ? 0 : rng() % s.size(), 1, static_cast<char>(rng()));
        }
        break;
    }
    Feed(t, s);
  }
}

TEST(FuzzReplayTest, FrameHeaderCorpus) {
  std::vector<std::string> corpus = ReadCorpus(CorpusDir("frame_header"));
  ASSERT_GE(corpus.size(), 5u) << "corpus missing under " << CorpusDir("frame_header");
  int valid_headers = 0;
  for (const std::string& in : corpus) {
    Feed(FrameHeaderTarget, in);
    rpc::FrameHeader h;
    if (in.size() >= rpc::kFrameHeaderSize &&
        rpc::DecodeFrameHeader(in.data(), 1u << 20, &h).ok()) {
      valid_headers++;
    }
  }
  // The seeds reach past the header check, so mutations explore the body decoders.
  EXPECT_GE(valid_headers, 3);
  Mutate(FrameHeaderTarget, corpus, 20000);
}

// Every target, its corpus directory and how many mutations it gets here.
struct TargetInfo {
  const char* name;
  Target target;
  int mutations;
};
const TargetInfo kTargets[] = {
    {"frame_header", FrameHeaderTarget, 0},  // mutated above
    {"config", ConfigTarget, 5000},
    {"scan_predicate", ScanPredicateTarget, 5000},
    {"schema", SchemaTarget, 5000},
    {"storage_codec", StorageCodecTarget, 5000},
    {"lock_protocol", LockProtocolTarget, 5000},
    {"table_protocol", TableProtocolTarget, 5000},
    {"admin_protocol", AdminProtocolTarget, 5000},
    {"meta_protocol", MetaProtocolTarget, 5000},
    {"meta_layout", MetaLayoutTarget, 5000},
    {"load_line", LoadLineTarget, 5000},
};

class CorpusReplay : public ::testing::TestWithParam<TargetInfo> {};

TEST_P(CorpusReplay, ReplaysCorpusAndMutations) {
  const TargetInfo& t = GetParam();
  std::vector<std::string> corpus = ReadCorpus(CorpusDir(t.name));
  ASSERT_GE(corpus.size(), 3u) << "corpus missing under " << CorpusDir(t.name);
  for (const std::string& in : corpus) Feed(t.target, in);
  if (t.mutations > 0) Mutate(t.target, corpus, t.mutations);
}

INSTANTIATE_TEST_SUITE_P(AllTargets, CorpusReplay, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<TargetInfo>& info) {
                           return std::string(info.param.name);
                         });

TEST(FuzzReplayTest, EdgeInputs) {
  for (const TargetInfo& t : kTargets) {
    Feed(t.target, "");
    Feed(t.target, std::string(1, '\0'));
    Feed(t.target, std::string(16, '\xff'));
    Feed(t.target, std::string(5000, '\n'));
    for (int sel = 0; sel < 256; sel++) {
      Feed(t.target, std::string(1, static_cast<char>(sel)));
      Feed(t.target, std::string(1, static_cast<char>(sel)) + std::string(40, '\x80'));
    }
  }
}

}  // namespace
}  // namespace kdi::fuzz
