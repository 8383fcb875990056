// Bad input never crashes: every golden model, mutated thousands of ways (seeded, so the
// run is the same every time), must either be refused with one error a line, each with a
// path, or generate and render.
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fiptgen/generate.h"
#include "fiptgen/load.h"
#include "fiptgen/render.h"
#include "fiptgen/testing/golden.h"
#include "gtest/gtest.h"

namespace fiptgen {
namespace {

// Tokens that are each valid somewhere in a model, to splice in anywhere.
const char* const kSplices[] = {
    "\"tcp\"",
    "\"icmpv6\"",
    "0",
    "-1",
    "65536",
    "1e300",
    "255",
    "null",
    "true",
    "[]",
    "{}",
    "\"0.0.0.0/0\"",
    "\"::/0\"",
    "\"x\\n-A INPUT -j ACCEPT\"",
    "\"7:7\"",
    "\"1:65535\"",
    "\"web\"",
    "\"blocklist\"",
    "\"hash:ip\"",
    "\"tap\"",
    "\"eth0\"",
    "\"\\u0000\"",
    "\"zz:zz:zz:zz:zz:zz\"",
    "\"0x1000000\"",
    "\"!src_net\"",
    "[4]",
    "[6]",
    ",",
    ":",
    "\"",
};

std::string Mutate(const std::string& json, std::mt19937& rng) {
  std::string s = json;
  int edits = 1 + rng() % 3;
  for (int e = 0; e < edits && !s.empty(); ++e) {
    size_t at = rng() % s.size();
    switch (rng() % 4) {
      case 0:  // delete a span
        s.erase(at, 1 + rng() % 12);
        break;
      case 1:  // splice a token
        s.insert(at, kSplices[rng() % (sizeof(kSplices) / sizeof(kSplices[0]))]);
        break;
      case 2: {  // replace the value after a colon
        size_t colon = s.find(':', at);
        if (colon == std::string::npos) {
          break;
        }
        size_t end = s.find_first_of(",}]", colon + 1);
        if (end == std::string::npos) {
          break;
        }
        s.replace(colon + 1, end - colon - 1,
                  kSplices[rng() % (sizeof(kSplices) / sizeof(kSplices[0]))]);
        break;
      }
      default:  // flip a byte
        s[at] = static_cast<char>(rng() % 256);
        break;
    }
  }
  return s;
}

TEST(LoadMutationTest, NeverCrashesAndErrorsStayOneALine) {
  std::mt19937 rng(7);
  int refused = 0, generated = 0;
  for (const std::string& name : golden::ListGoldenDir("testdata", /*directories=*/true)) {
    std::string json = golden::ReadGoldenFile(absl::StrCat("testdata/", name, "/model.json"));
    if (json.empty()) {
      continue;
    }
    for (int i = 0; i < 300; ++i) {
      std::string mutated = Mutate(json, rng);
      absl::StatusOr<Model> model = LoadModel(mutated);
      if (!model.ok()) {
        ++refused;
        for (absl::string_view line : absl::StrSplit(model.status().message(), '\n')) {
          ASSERT_NE(line.find(": "), absl::string_view::npos) << name << " #" << i << ": " << line;
        }
        continue;
      }
      ++generated;
      RestoreFiles files = RenderFiles(Generate(*model));
      for (const std::string* text : {&files.iptables, &files.ip6tables, &files.ipsets}) {
        ASSERT_EQ(text->find('\r'), std::string::npos) << name << " #" << i;
        ASSERT_EQ(text->find('\0'), std::string::npos) << name << " #" << i;
      }
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(generated, 100) << "mutations that stay valid must generate too";
}

}  // namespace
}  // namespace fiptgen
