#include "fiptgen/names.h"

#include <array>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fiptgen/sha256.h"

namespace fiptgen {
namespace {

bool IsPlainNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

}  // namespace

std::string UniquelyShorten(absl::string_view s, int length) {
  bool plain = true;
  for (char c : s) {
    plain = plain && IsPlainNameChar(c);
  }
  const size_t n = static_cast<size_t>(length);
  if (plain && s.size() <= n && !(s.size() == n && absl::StartsWith(s, "_"))) {
    return std::string(s);
  }
  std::string input = absl::StrCat(length, " ", s);
  const std::array<uint8_t, 32> digest = Sha256(input);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "_";
  for (int i = 0; static_cast<int>(out.size()) < length; ++i) {
    unsigned char byte = digest[i / 2];
    out.push_back(kHex[i % 2 == 0 ? byte >> 4 : byte & 0xf]);
  }
  return out;
}

Namer::Namer(const Config& config) : config_(config) {}

std::string Namer::Fixed(FixedChain chain) const {
  return absl::StrCat(config_.chain_prefix, FixedChainName(chain));
}

std::string Namer::DispatchSubchain(const DispatchRoot& root, absl::string_view key) const {
  const size_t room = kMaxChainName - config_.chain_prefix.size() - root.subchain_base.size();
  return absl::StrCat(config_.chain_prefix, root.subchain_base,
                      UniquelyShorten(key, static_cast<int>(room)));
}

std::string Namer::EndpointSuffix(const Endpoint& endpoint) const {
  absl::string_view name = endpoint.interface;
  if (endpoint.kind == EndpointKind::kWorkload) {
    name.remove_prefix(std::min(name.size(), config_.interface_prefix.size()));
  }
  return UniquelyShorten(name, kNameComponentWidth);
}

std::string Namer::EndpointChain(ChainDir dir, const Endpoint& endpoint) const {
  return EndpointChain(dir, EndpointSuffix(endpoint));
}

std::string Namer::EndpointChain(ChainDir dir, absl::string_view suffix) const {
  return absl::StrCat(config_.chain_prefix, EndpointChainStem(dir), suffix);
}

std::string Namer::ProfileChain(absl::string_view profile_id, RuleDir dir) const {
  return absl::StrCat(config_.chain_prefix, kProfileChainStem,
                      UniquelyShorten(profile_id, kNameComponentWidth), ProfileChainSuffix(dir));
}

std::pair<std::string, std::string> Namer::ProfileChains(absl::string_view profile_id) const {
  const std::string stem = absl::StrCat(config_.chain_prefix, kProfileChainStem,
                                        UniquelyShorten(profile_id, kNameComponentWidth));
  return {absl::StrCat(stem, ProfileChainSuffix(RuleDir::kInbound)),
          absl::StrCat(stem, ProfileChainSuffix(RuleDir::kOutbound))};
}

std::string Namer::TagSet(absl::string_view tag, int family) const {
  return absl::StrCat(config_.ipset_prefix, "v", family, "-",
                      UniquelyShorten(tag, kNameComponentWidth));
}

std::string Namer::ExplicitSet(absl::string_view name) const {
  return absl::StrCat(config_.ipset_prefix, UniquelyShorten(name, kNameComponentWidth));
}

std::string Namer::TemporarySet(absl::string_view set_name) const {
  absl::string_view rest = set_name;
  if (absl::StartsWith(rest, config_.ipset_prefix)) {
    rest.remove_prefix(config_.ipset_prefix.size());
  }
  return absl::StrCat(config_.ipset_prefix, "tmp-", rest);
}

}  // namespace fiptgen
