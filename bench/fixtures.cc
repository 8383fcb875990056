#include "bench/fixtures.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "fiptgen/load.h"
#include "fiptgen/net.h"
#include "fiptgen/validate.h"

namespace fiptgen {
namespace bench {
namespace {

[[noreturn]] void Die(absl::string_view what, absl::string_view message) {
  std::fprintf(stderr, "bench fixture: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(message.size()), message.data());
  std::abort();
}

IpNet MustParse(absl::string_view text, int family) {
  absl::StatusOr<IpNet> net = ParseIpNet(text, family);
  if (!net.ok()) {
    Die(text, net.status().message());
  }
  return *net;
}

// One workload in the middle moves to an address nobody uses and gains a profile: its two
// endpoint chains change in each family (and the tag sets it is in).
Model ChangeOneEndpoint(const Model& model) {
  Model changed = model;
  Endpoint& e = changed.endpoints[changed.endpoints.size() / 2];
  if (e.kind != EndpointKind::kWorkload) {
    Die("endpoint change", "picked a host endpoint");
  }
  e.ipv4_nets = {MustParse("198.19.253.77/32", 4)};
  e.ipv6_nets = {MustParse("fd5a:f1e1:0:4::77/128", 6)};
  for (const auto& [id, profile] : changed.profiles) {
    if (std::find(e.profile_ids.begin(), e.profile_ids.end(), id) == e.profile_ids.end() &&
        absl::StartsWith(id, "prof-")) {
      e.profile_ids.push_back(id);
      break;
    }
  }
  return changed;
}

// One profile gains an inbound rule: its inbound chain changes in each family.
Model ChangeOneProfile(const Model& model) {
  Model changed = model;
  Profile& p = changed.profiles.at("prof-0001");
  PolicyRule rule;
  rule.protocol = Match<uint8_t>{6, false};
  rule.ports.Set(RulePorts::kDst, {PortRange{4242, 4242}});
  p.inbound_rules.push_back(rule);
  return changed;
}

std::unique_ptr<ScaleFixture> Build(ScaleSize size) {
  auto f = std::make_unique<ScaleFixture>();
  f->spec = ScaleSpecFor(size);
  f->json = MakeScaleModelJson(f->spec);
  absl::StatusOr<Model> model = LoadModel(f->json);
  if (!model.ok()) {
    Die(f->spec.name, model.status().message());
  }
  f->model = *std::move(model);
  f->desired = Generate(f->model);
  f->files = RenderFiles(f->desired);
  f->restore_bytes = f->files.iptables.size() + f->files.ip6tables.size() + f->files.ipsets.size();
  for (const Ruleset& rs : f->desired.rulesets) {
    for (const Table& t : rs.tables) {
      f->rule_lines += t.hooks.size();
      for (const Chain& c : t.chains) {
        f->rule_lines += c.rule_count();
      }
    }
  }
  for (const std::string* script : {&f->files.iptables, &f->files.ip6tables}) {
    const int family = script == &f->files.iptables ? 4 : 6;
    f->save.push_back(RestoreToSave(*script));
    absl::StatusOr<ObservedRuleset> seen =
        ParseIptablesSave(f->save.back(), family, f->model.config.chain_prefix);
    if (!seen.ok()) {
      Die(f->spec.name, seen.status().message());
    }
    f->observed.push_back(*std::move(seen));
  }
  f->endpoint_changed_model = ChangeOneEndpoint(f->model);
  f->profile_changed_model = ChangeOneProfile(f->model);
  for (Model* m : {&f->endpoint_changed_model, &f->profile_changed_model}) {
    absl::Status status = ValidateModel(*m);
    if (!status.ok()) {
      Die("changed model", status.message());
    }
  }
  f->endpoint_changed = Generate(f->endpoint_changed_model);
  f->profile_changed = Generate(f->profile_changed_model);
  return f;
}

const char* const kBuiltins[][4] = {
    {"raw", "PREROUTING", "OUTPUT", nullptr},
    {"filter", "INPUT", "FORWARD", "OUTPUT"},
};

}  // namespace

const ScaleFixture& GetScaleFixture(ScaleSize size) {
  // Built once per size and kept for the life of the benchmark process.
  static std::map<ScaleSize, std::unique_ptr<ScaleFixture>>* cache =
      new std::map<ScaleSize, std::unique_ptr<ScaleFixture>>();
  std::unique_ptr<ScaleFixture>& slot = (*cache)[size];
  if (slot == nullptr) {
    slot = Build(size);
  }
  return *slot;
}

std::string RestoreToSave(absl::string_view restore) {
  constexpr absl::string_view kStamp = "Mon Jan  1 00:00:00 2024";
  std::string out;
  out.reserve(restore.size() + restore.size() / 8);
  std::string table;
  std::vector<std::string> builtins;
  std::map<std::string, std::vector<absl::string_view>> rules;  // sorted by name
  while (!restore.empty()) {
    size_t end = restore.find('\n');
    absl::string_view line = restore.substr(0, end);
    restore.remove_prefix(end == absl::string_view::npos ? restore.size() : end + 1);
    if (absl::ConsumePrefix(&line, "*")) {
      table = std::string(line);
      builtins.clear();
      rules.clear();
      for (const auto& row : kBuiltins) {
        if (table != row[0]) {
          continue;
        }
        for (int i = 1; i < 4 && row[i] != nullptr; ++i) {
          builtins.push_back(row[i]);
        }
      }
      for (const std::string& b : builtins) {
        rules[b];
      }
    } else if (absl::ConsumePrefix(&line, ":")) {
      rules[std::string(line.substr(0, line.find(' ')))];
    } else if (absl::ConsumePrefix(&line, "-I ")) {
      // "-I <builtin> 1 -j <chain>": inserted at the top.
      std::string chain(line.substr(0, line.find(' ')));
      absl::string_view rule = line.substr(line.find(" 1 ") + 3);
      std::vector<absl::string_view>& list = rules[chain];
      list.insert(list.begin(), rule);
    } else if (absl::ConsumePrefix(&line, "-A ")) {
      size_t space = line.find(' ');
      rules[std::string(line.substr(0, space))].push_back(
          space == absl::string_view::npos ? absl::string_view() : line.substr(space + 1));
    } else if (line == "COMMIT") {
      absl::StrAppend(&out, "# Generated by iptables-nft-save v1.8.9 (nf_tables) on ", kStamp,
                      "\n*", table, "\n");
      for (const std::string& b : builtins) {
        absl::StrAppend(&out, ":", b, " ACCEPT [0:0]\n");
      }
      auto is_builtin = [&builtins](const std::string& name) {
        return std::find(builtins.begin(), builtins.end(), name) != builtins.end();
      };
      for (const auto& [name, list] : rules) {
        if (!is_builtin(name)) {
          absl::StrAppend(&out, ":", name, " - [0:0]\n");
        }
      }
      auto write_rules = [&out](const std::string& name,
                                const std::vector<absl::string_view>& list) {
        for (absl::string_view r : list) {
          absl::StrAppend(&out, "-A ", name, r.empty() ? "" : " ", r, "\n");
        }
      };
      for (const std::string& b : builtins) {
        write_rules(b, rules[b]);
      }
      for (const auto& [name, list] : rules) {
        if (!is_builtin(name)) {
          write_rules(name, list);
        }
      }
      absl::StrAppend(&out, "COMMIT\n# Completed on ", kStamp, "\n");
    }
  }
  return out;
}

}  // namespace bench
}  // namespace fiptgen
