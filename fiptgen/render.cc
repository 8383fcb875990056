#include "fiptgen/render.h"

#include "absl/strings/str_cat.h"

namespace fiptgen {

void RenderRestore(const Ruleset& ruleset, std::string* out) {
  size_t size = 0;
  for (const Table& t : ruleset.tables) {
    size += 16 + 32 * t.hooks.size();
    for (const Chain& c : t.chains) {
      size += 2 * c.name().size() + 10 + c.body().size() + c.rule_count() * (c.name().size() + 4);
    }
  }
  out->reserve(out->size() + size);
  for (const Table& t : ruleset.tables) {
    TableEdit edit;
    edit.table = t.name;
    edit.fill.reserve(t.chains.size());
    for (const Chain& c : t.chains) {
      edit.fill.push_back(&c);
    }
    for (const Hook& h : t.hooks) {
      edit.hook.push_back(&h);
    }
    RenderTableEdit(edit, out);
  }
}

void RenderTableEdit(const TableEdit& edit, std::string* out) {
  absl::StrAppend(out, "*", edit.table, "\n");
  for (const Chain* c : edit.fill) {
    absl::StrAppend(out, ":", c->name(), " - [0:0]\n");
  }
  for (absl::string_view name : edit.flush) {
    absl::StrAppend(out, ":", name, " - [0:0]\n");
  }
  for (const Hook* h : edit.unhook) {
    absl::StrAppend(out, "-D ", h->builtin, " -j ", h->target, "\n");
  }
  for (const Hook* h : edit.hook) {
    absl::StrAppend(out, "-I ", h->builtin, " 1 -j ", h->target, "\n");
  }
  for (const Hook* h : edit.append) {
    absl::StrAppend(out, "-A ", h->builtin, " -j ", h->target, "\n");
  }
  for (const Chain* c : edit.fill) {
    // Plain appends: Debian's abseil StrAppend zero-fills before it copies.
    c->ForEachRule([&](absl::string_view rule) {
      out->append("-A ").append(c->name()).append(" ").append(rule.data(), rule.size());
      out->push_back('\n');
    });
  }
  for (const ChainEdit& e : edit.edit) {
    RenderChainEdit(e, out);
  }
  for (absl::string_view name : edit.remove) {
    absl::StrAppend(out, "-X ", name, "\n");
  }
  out->append("COMMIT\n");
}

void RenderChainEdit(const ChainEdit& edit, std::string* out) {
  for (const RuleEdit& step : edit.steps) {
    switch (step.kind) {
      case RuleEdit::Kind::kDelete:
        absl::StrAppend(out, "-D ", edit.chain, " ", step.position, "\n");
        break;
      case RuleEdit::Kind::kInsert:
        absl::StrAppend(out, "-I ", edit.chain, " ", step.position, " ", step.rule, "\n");
        break;
      case RuleEdit::Kind::kReplace:
        absl::StrAppend(out, "-R ", edit.chain, " ", step.position, " ", step.rule, "\n");
        break;
      case RuleEdit::Kind::kAppend:
        absl::StrAppend(out, "-A ", edit.chain, " ", step.rule, "\n");
        break;
    }
  }
}

// What ipset gives a set created without maxelem.
constexpr size_t kIpsetDefaultMaxelem = 65536;

size_t IpsetCapacity(size_t members) {
  size_t max = kIpsetDefaultMaxelem;
  while (max < members) {
    max *= 2;
  }
  return max;
}

void RenderIpsetRestore(const std::vector<IpSetSpec>& sets, std::string* out) {
  for (const IpSetSpec& s : sets) {
    absl::StrAppend(out, "create ", s.name, " ", s.type, " family ",
                    s.family == 4 ? "inet" : "inet6");
    if (s.members.size() > kIpsetDefaultMaxelem) {
      absl::StrAppend(out, " maxelem ", IpsetCapacity(s.members.size()));
    }
    out->push_back('\n');
    for (const std::string& m : s.members) {
      absl::StrAppend(out, "add ", s.name, " ", m, "\n");
    }
  }
}

namespace {

// The note at the top of every script for an empty state (RenderFiles, `fiptgen` on stdout):
// how to load it, and that a live host is brought to the model's state with fiptgen-apply.
// Measured with iptables 1.8.9 (nft, legacy) and ipset 7.17: all three restore tools skip
// "#" lines; a plain iptables-restore flushes every chain of the tables it names, a second
// `--noflush` load inserts the hooks again, and `ipset restore` stops at a set that exists.
void AppendLoadNote(absl::string_view state, absl::string_view load, absl::string_view second_load,
                    std::string* out) {
  absl::StrAppend(out, "# fiptgen: ", state, ":\n#   ", load, "\n# A second load ", second_load,
                  ": fiptgen-apply brings a live host to the model's state.\n");
}

}  // namespace

void RenderRestoreFile(const Ruleset& ruleset, std::string* out) {
  const absl::string_view tool = ruleset.family == 6 ? "ip6tables-restore" : "iptables-restore";
  AppendLoadNote(absl::StrCat("the model's full IPv", ruleset.family,
                              " state, for loading into a host with none of its chains"),
                 absl::StrCat(tool, " --noflush < FILE   (plain ", tool,
                              " would wipe the tables' other rules)"),
                 "doubles the hooks", out);
  RenderRestore(ruleset, out);
}

void RenderIpsetFile(const std::vector<IpSetSpec>& sets, std::string* out) {
  if (sets.empty()) {
    return;
  }
  AppendLoadNote("the model's ipsets, for loading into a host with none of them",
                 "ipset restore < FILE", "fails (the sets exist)", out);
  RenderIpsetRestore(sets, out);
}

RestoreFiles RenderFiles(const Desired& desired) {
  RestoreFiles files;
  RenderIpsetFile(desired.ipsets, &files.ipsets);
  if (const Ruleset* rs = desired.ForFamily(4)) {
    RenderRestoreFile(*rs, &files.iptables);
  }
  if (const Ruleset* rs = desired.ForFamily(6)) {
    RenderRestoreFile(*rs, &files.ip6tables);
  }
  return files;
}

}  // namespace fiptgen
