#include "fiptgen/json.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rapidjson/reader.h"

namespace fiptgen {
namespace json {
namespace {

// Whether RapidJSON, as LoadModel runs it on invalid JSON, accepts `text`.
bool RapidJsonAccepts(const std::string& text) {
  rapidjson::Reader reader;
  rapidjson::BaseReaderHandler<> ignore;
  rapidjson::MemoryStream memory(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(memory);
  return !reader
              .Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(in,
                                                                                             ignore)
              .IsError();
}

struct Verdict {
  bool accepted;
  bool needs_check;
};

// Reads `text` as one value, the way the loader reads a non-object document.
Verdict Read(const std::string& text) {
  Reader reader(text);
  Tape tape;
  bool ok = reader.ReadValue(&tape) && reader.Finish();
  return {ok && !reader.failed(), reader.needs_check()};
}

// The contract with RapidJSON: what it accepts, we accept; what we accept without asking
// for a check, it accepts.
void ExpectAgrees(const std::string& text) {
  const bool rapidjson = RapidJsonAccepts(text);
  const Verdict ours = Read(text);
  if (rapidjson) {
    EXPECT_TRUE(ours.accepted) << "RapidJSON accepts, we refuse: " << text;
  } else if (ours.accepted) {
    EXPECT_TRUE(ours.needs_check) << "RapidJSON refuses, we accept unchecked: " << text;
  }
}

TEST(JsonReaderTest, AcceptsWhatRapidJsonAccepts) {
  const std::vector<std::string> cases = {
      "{}",
      "[]",
      "0",
      "-0",
      "1",
      "-1",
      "12345678901234567890",
      "123456789012345678901",
      "9223372036854775807",
      "-9223372036854775808",
      "9223372036854775808",
      "1.5",
      "-1.5e+3",
      "1E-2",
      "1e400",
      "\"\"",
      "\"a\\\"b\"",
      "\"\\u00e9\"",
      "\"\\ud83d\\ude00\"",
      "\"\\udc00\"",
      "\"\\ud83d\"",
      "\"\\ud83dx\"",
      "\"\xc3\xa9\"",
      "\"\xc3\"",
      "\"\xed\xa0\x80\"",
      "true",
      "false",
      "null",
      " [1, 2 , 3 ] ",
      "{\"a\": {\"b\": [true, false, null]}}",
      "",
      " ",
      "{",
      "}",
      "[",
      "]",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{1: 2}",
      "01",
      "-",
      "1.",
      ".5",
      "1e",
      "+1",
      "tru",
      "nul",
      "[1 2]",
      "{} {}",
      "{}x",
      "\"a\nb\"",
      "\"\\x\"",
      "\"\\u12\"",
      "\"abc",
      "[\"a\", \"b\"",
      std::string("{}\0x", 4),
      std::string("[1,\0]", 5),
      std::string("\"a\0b\"", 5),
      "\t\r\n{}\t\r\n",
      "{\"a\":1,\"a\":2}",
      "[1.0, 2, \"x\", [[]], {\"k\": \"\\/\\b\\f\\n\\r\\t\"}]",
  };
  for (const std::string& c : cases) {
    ExpectAgrees(c);
  }
}

// Mutations of a model-like document, each byte changed in turn: every outcome must agree.
// The document needs no check (ASCII, no \u escape, integers only), so a mutation that
// RapidJSON refuses must be refused by this reader itself.
TEST(JsonReaderTest, AgreesWithRapidJsonOnMutations) {
  const std::string seed =
      R"({"config": {"families": [4, 6], "mark_accept": "0x1000000"},
 "profiles": {"p\"q": {"tags": ["web"], "inbound_rules": [{"action": "allow",
   "protocol": "tcp", "dst_ports": [80, "8000:8080"], "src_net": "10.0.0.0/8"}]}},
 "endpoints": [{"id": "w", "kind": "workload", "interface": "tapw", "ipv4_nets": []}],
 "ipsets": [{"name": "s", "family": 4, "members": ["198.18.0.1"]}], "x": -15, "long string": "0123456789abcdefghij"})";
  const std::string replacements = "{}[]\",:0-1.eE\\u /\n\x01\xc3";
  uint64_t state = 12345;  // SplitMix64, for deterministic choices
  auto next = [&state]() {
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  };
  ASSERT_TRUE(RapidJsonAccepts(seed));
  ASSERT_FALSE(Read(seed).needs_check);
  for (size_t i = 0; i < seed.size(); ++i) {
    std::string changed = seed;
    changed[i] = replacements[next() % replacements.size()];
    ExpectAgrees(changed);
    ExpectAgrees(seed.substr(0, i) + seed.substr(i + 1));  // one byte deleted
    ExpectAgrees(seed.substr(0, i));                       // cut short
  }
}

TEST(JsonReaderTest, ValuesAsRapidJsonReadsThem) {
  const std::string text =
      R"({"int": -0, "max": 9223372036854775807, "min": -9223372036854775808,
          "big": 9223372036854775808, "frac": 1.0, "s": "a\"\\\/\n\u00e9\ud83d\ude00",
          "t": true, "f": false, "n": null, "list": [1, [2, 3], {"k": "v"}, 4],
          "dup": 1, "dup": 2})";
  Reader reader(text);
  Tape tape;
  ASSERT_TRUE(reader.ReadValue(&tape));
  ASSERT_TRUE(reader.Finish());
  Value root = tape.root();
  ASSERT_TRUE(root.IsObject());
  EXPECT_EQ(root.Size(), 12u);
  EXPECT_TRUE(root.Find("int")->IsInt64());
  EXPECT_EQ(root.Find("int")->GetInt64(), 0);
  EXPECT_EQ(root.Find("max")->GetInt64(), INT64_MAX);
  EXPECT_EQ(root.Find("min")->GetInt64(), INT64_MIN);
  EXPECT_FALSE(root.Find("big")->IsInt64());
  EXPECT_TRUE(root.Find("big")->IsNumber());
  EXPECT_FALSE(root.Find("frac")->IsInt64());
  EXPECT_EQ(root.Find("s")->GetString(), "a\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(root.Find("t")->IsBool());
  EXPECT_TRUE(root.Find("f")->IsBool());
  EXPECT_TRUE(root.Find("n")->IsNull());
  EXPECT_EQ(root.Find("dup")->GetInt64(), 1) << "the first of repeated keys, as FindMember";
  EXPECT_FALSE(root.Find("nope").has_value());
  std::vector<Type> types;
  for (Value e : root.Find("list")->Elements()) {
    types.push_back(e.type());
  }
  EXPECT_EQ(types, (std::vector<Type>{Type::kInt, Type::kArray, Type::kObject, Type::kInt}));
  std::vector<std::string> keys;
  for (Value::Member m : root.Members()) {
    keys.emplace_back(m.key);
  }
  EXPECT_EQ(keys.front(), "int");
  EXPECT_EQ(keys.back(), "dup");
  EXPECT_TRUE(reader.needs_check()) << "\\u escapes and a big number";
}

TEST(JsonReaderTest, WalksMembersAndElementsOneAtATime) {
  const std::string text = R"( {"a": [1, {"x": 2}], "b": {"c": "d"}, "e": []} )";
  Reader reader(text);
  Tape tape;
  ASSERT_TRUE(reader.BeginObject());
  std::vector<std::string> seen;
  absl::string_view key;
  while (reader.NextKey(&key)) {
    seen.emplace_back(key);
    if (key == "a" || key == "e") {
      ASSERT_TRUE(reader.BeginArray());
      while (reader.NextElement()) {
        ASSERT_TRUE(reader.ReadValue(&tape));
        seen.push_back(tape.root().IsObject() ? "{}" : "value");
      }
    } else {
      ASSERT_TRUE(reader.ReadValue(&tape));
      seen.push_back(std::string(tape.root().Find("c")->GetString()));
    }
  }
  EXPECT_FALSE(reader.failed());
  EXPECT_TRUE(reader.Finish());
  EXPECT_FALSE(reader.needs_check());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "value", "{}", "b", "d", "e"}));
}

TEST(JsonReaderTest, WhitespaceRunsOfEveryLength) {
  // Runs of 0-40 bytes of each whitespace byte and of all four mixed, between every two
  // tokens, some near the end of the text; and a byte under ' ' that is not whitespace
  // after a run, which is refused.
  for (const std::string pattern : {" ", "\n", "\r", "\t", "\n \t\r"}) {
    for (size_t n = 0; n <= 40; ++n) {
      std::string ws;
      for (size_t i = 0; i < n; ++i) {
        ws += pattern[i % pattern.size()];
      }
      const std::string text = ws + "{" + ws + "\"a\"" + ws + ":" + ws + "[" + ws + "1" + ws + "," +
                               ws + "\"x\"" + ws + "]" + ws + "}" + ws;
      Reader reader(text);
      Tape tape;
      ASSERT_TRUE(reader.ReadValue(&tape)) << n;
      EXPECT_TRUE(reader.Finish()) << n;
      EXPECT_EQ(tape.root().Find("a")->Size(), 2u) << n;
      for (const char bad : {'\v', '\f', '\0', '\x01'}) {
        const std::string refused = "[1," + ws + std::string(1, bad) + "2]";
        EXPECT_FALSE(Read(refused).accepted) << n;
        ExpectAgrees(refused);
      }
    }
  }
}

// The keys of the flat object `text`, read with NextKey(key, known, field) when `known`
// is given (each key as "<key>=<field>"), else with NextKey(key); and whether it ended well.
template <size_t N>
std::vector<std::string> KeysOf(const std::string& text, const KnownKeys<N>* known) {
  Reader reader(text);
  Tape tape;
  std::vector<std::string> keys;
  if (!reader.BeginObject()) {
    return {"refused"};
  }
  absl::string_view key;
  int field = -1;
  while (known != nullptr ? reader.NextKey(&key, *known, &field) : reader.NextKey(&key)) {
    keys.push_back(std::string(key) + "=" + std::to_string(field));
    reader.ReadValue(&tape);
  }
  keys.push_back(reader.Finish() && !reader.failed() ? "ok" : "refused");
  return keys;
}

TEST(JsonReaderTest, KnownKeysMatchedInPlaceAsNextKeyReadsThem) {
  constexpr absl::string_view kNames[] = {"action",   "protocol",  "src_ports",
                                          "!src_net", "icmp_code", "fifteen_bytes__"};
  // A multiplier that gives each name a slot of its own, found as load.cc's was.
  uint64_t multiplier = 0x9E3779B97F4A7C15u;
  while (!KnownKeys<6>(kNames, multiplier).ok()) {
    multiplier += 2;
  }
  const KnownKeys<6> known(kNames, multiplier);
  // The field each key gets from the known keys, or -1 where NextKey's reading is kept (the
  // caller looks the key up by name).
  struct Case {
    std::string text;
    std::vector<std::string> keys;
  };
  const std::vector<Case> cases = {
      {R"({"action": 1, "protocol": 2, "src_ports": [], "!src_net": 3, "icmp_code": 4, "x": 5})",
       {"action=0", "protocol=1", "src_ports=2", "!src_net=3", "icmp_code=4", "x=-1", "ok"}},
      {R"({"fifteen_bytes__": 1, "fifteen_bytes_": 2, "actions": 3, "actio": 4, "id": 5})",
       {"fifteen_bytes__=5", "fifteen_bytes_=-1", "actions=-1", "actio=-1", "id=-1", "ok"}},
      // Escaped: the same key, read by NextKey.
      {R"({"\u0061ction": 1, "ac\"tion": 2, "protocol"  :  3,  "action":4, "x": 12345678})",
       {"action=-1", "ac\"tion=-1", "protocol=1", "action=0", "x=-1", "ok"}},
      // Within 16 bytes of the end: NextKey's reading.
      {R"({"action":1})", {"action=-1", "ok"}},
      {R"({"protocol": 1, "action" 2})", {"protocol=1", "refused"}},
      {R"({"protocol": 1, "action)", {"protocol=1", "refused"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(KeysOf(c.text, &known), c.keys) << c.text;
  }
  // Every one-byte change of a document: the same keys, in the same places, as NextKey
  // reads them, and a field only for a key that is that field's name.
  const std::string text =
      R"({"action": "allow", "protocol": "tcp", "src_ports": [1, "2:3"], "!src_net": "a", )"
      R"("icmp_code": 4, "fifteen_bytes__": {"action": 1}, "zz": null})";
  const std::string changes = "\"\\ :,{}[]a_!xs";
  for (size_t at = 0; at < text.size(); ++at) {
    for (char to : changes) {
      std::string changed = text;
      changed[at] = to;
      std::vector<std::string> with_known = KeysOf(changed, &known);
      const std::vector<std::string> plain = KeysOf<1>(changed, nullptr);
      ASSERT_EQ(with_known.size(), plain.size()) << changed;
      for (size_t i = 0; i + 1 < with_known.size(); ++i) {
        const size_t eq = with_known[i].rfind('=');
        const int field = std::stoi(with_known[i].substr(eq + 1));
        if (field >= 0) {
          EXPECT_EQ(with_known[i].substr(0, eq), kNames[field]) << changed;
        }
        with_known[i] = with_known[i].substr(0, eq) + "=-1";
      }
      EXPECT_EQ(with_known, plain) << changed;
    }
  }
}

// Reads `text`, an object whose "a" is an array, with ReadArray for "a": the elements it
// handed over, as "type:int_value" (strings as their text), and whether it accepted.
struct ArrayRead {
  bool accepted;
  std::vector<std::string> elements;
};
ArrayRead ReadWithReadArray(const std::string& text) {
  Reader reader(text);
  ArrayRead out{false, {}};
  Node node;
  if (!reader.BeginObject()) {
    return out;
  }
  absl::string_view key;
  while (reader.NextKey(&key)) {
    if (key != "a") {
      reader.Skip();
      continue;
    }
    reader.ReadArray(
        &node,
        [&out](const Node& e) {
          out.elements.push_back(e.type == Type::kString ? std::string(e.text())
                                 : e.type == Type::kInt
                                     ? "int:" + std::to_string(e.int_value)
                                     : "type:" + std::to_string(static_cast<int>(e.type)));
        },
        [&out](uint32_t first, uint32_t second, absl::string_view text) {
          out.elements.push_back("pair:" + std::to_string(first) + ":" + std::to_string(second) +
                                 "=" + std::string(text));
        });
  }
  out.accepted = reader.Finish() && !reader.failed();
  return out;
}

TEST(JsonReaderTest, ReadArrayHandsOverEveryElementInOrder) {
  const std::string text =
      R"({"a": [80, "8000:8080" , 443,[1, 2], {"k": 2},123456789012345678, 1234567890123456789,
               1.5, 7e1, -3, 0, true, null ], "b": [], "a": [], "a":[ 9 ]})";
  const ArrayRead read = ReadWithReadArray(text);
  EXPECT_TRUE(read.accepted);
  EXPECT_EQ(read.elements, (std::vector<std::string>{
                               "int:80", "pair:8000:8080=8000:8080", "int:443", "type:6", "type:7",
                               "int:123456789012345678", "int:1234567890123456789", "type:4",
                               "type:4", "int:-3", "int:0", "type:2", "type:0", "int:9"}));
}

// ReadArray's 8-byte read of a short integer: every value of 1-7 digits that a port list
// holds (and a spread of longer ones), followed by each kind of byte that may end it.
TEST(JsonReaderTest, ShortDecimalReadsEveryShortInteger) {
  const std::string ends[] = {",", "]", " ", ".", "e", ":", "/", "\xfa", "\xff", "\n", "\""};
  std::vector<uint64_t> values;
  for (uint64_t v = 1; v <= 100000; ++v) {
    values.push_back(v);
  }
  for (uint64_t v = 100001; v < 10000000; v += 9973) {
    values.push_back(v);
  }
  values.push_back(9999999);
  for (uint64_t v : values) {
    const std::string digits = std::to_string(v);
    for (const std::string& end : ends) {
      std::string text = digits + end + "99999999";  // digits after the end: not read
      uint64_t word;
      std::memcpy(&word, text.data(), 8);
      ASSERT_EQ(LeadingDigits(word), static_cast<int>(digits.size())) << text;
      ASSERT_EQ(ShortDecimal(word, static_cast<int>(digits.size())), v) << text;
    }
  }
  uint64_t eight;
  std::memcpy(&eight, "12345678", 8);
  EXPECT_EQ(LeadingDigits(eight), 8);
  EXPECT_EQ(ShortDecimal(eight, 8), 12345678u);
}

TEST(JsonReaderTest, ReadArrayNumbersOfEveryLengthAndAtTheEnd) {
  const ArrayRead read =
      ReadWithReadArray(R"({"a": [1234567, 12345678, 123456789,9,99 ,1e3, 2.5,7]})");
  EXPECT_TRUE(read.accepted);
  EXPECT_EQ(read.elements,
            (std::vector<std::string>{"int:1234567", "int:12345678", "int:123456789", "int:9",
                                      "int:99", "type:4", "type:4", "int:7"}));
  // Fewer than 8 bytes left after the number's start: read by ReadScalar.
  EXPECT_TRUE(ReadWithReadArray(R"({"a": [65535]})").accepted);
  EXPECT_EQ(ReadWithReadArray(R"({"a":[655]})").elements, (std::vector<std::string>{"int:655"}));
  EXPECT_FALSE(ReadWithReadArray(R"({"a": [65535)").accepted);
}

// ReadArray's inline "lo:hi": two runs of 1-5 digits joined by ':', with 16 bytes left
// from the opening quote. Anything else is an ordinary string, handed over as its text.
TEST(JsonReaderTest, ReadArrayDecimalPairs) {
  const ArrayRead read = ReadWithReadArray(
      R"({"a": ["1:2", "00080:65535", "99999:0", "123456:1", "1:123456", ":1", "1:", "1:2:3",)"
      R"( "1-2", "1\u003a2", "12 :3", "", "7:8"], "b": 10})");
  EXPECT_TRUE(read.accepted);
  EXPECT_EQ(read.elements,
            (std::vector<std::string>{"pair:1:2=1:2", "pair:80:65535=00080:65535",
                                      "pair:99999:0=99999:0", "123456:1", "1:123456", ":1",
                                      "1:", "1:2:3", "1-2", "1:2", "12 :3", "", "pair:7:8=7:8"}));
  // Fewer than 16 bytes left from the quote: read as a string.
  EXPECT_EQ(ReadWithReadArray(R"({"a": ["10:20"]})").elements, (std::vector<std::string>{"10:20"}));
  EXPECT_EQ(ReadWithReadArray(R"({"a": ["10:20"]}           )").elements,
            (std::vector<std::string>{"pair:10:20=10:20"}));
  EXPECT_FALSE(ReadWithReadArray(R"({"a": ["10:20"             )").accepted);
}

// Every one-byte change of a document read with ReadArray gets RapidJSON's verdict (the
// document needs no check, so a change RapidJSON refuses must be refused here).
TEST(JsonReaderTest, ReadArrayAgreesWithRapidJsonOnMutations) {
  const std::string seed = R"({"a": [80, "1:2", 443 ,[1], {"k": 2}, 65535, 0, -1], "b": [3]})";
  ASSERT_TRUE(RapidJsonAccepts(seed));
  const std::string replacements = "{}[]\",:0-1.eE ]";
  for (size_t i = 0; i < seed.size(); ++i) {
    for (char c : replacements) {
      std::string changed = seed;
      changed[i] = c;
      for (const std::string& text :
           {changed, seed.substr(0, i) + seed.substr(i + 1), seed.substr(0, i)}) {
        const bool rapidjson = RapidJsonAccepts(text);
        const bool ours = ReadWithReadArray(text).accepted;
        if (rapidjson) {
          EXPECT_TRUE(ours) << "RapidJSON accepts, ReadArray refuses: " << text;
        } else if (ours) {
          EXPECT_TRUE(Read(text).needs_check) << "RapidJSON refuses, ReadArray accepts: " << text;
        }
      }
    }
  }
}

TEST(JsonReaderTest, DeepNestingWithoutRecursion) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  Verdict v = Read(deep);
  EXPECT_TRUE(v.accepted);
  EXPECT_FALSE(Read(std::string(200000, '[')).accepted);
}

}  // namespace
}  // namespace json
}  // namespace fiptgen
