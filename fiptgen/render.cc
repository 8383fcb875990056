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
  for (const Chain* c : edit.fill) {
    // Plain appends: Debian's abseil StrAppend zero-fills before it copies.
    c->ForEachRule([&](absl::string_view rule) {
      out->append("-A ").append(c->name()).append(" ").append(rule.data(), rule.size());
      out->push_back('\n');
    });
  }
  for (absl::string_view name : edit.remove) {
    absl::StrAppend(out, "-X ", name, "\n");
  }
  out->append("COMMIT\n");
}

void RenderIpsetRestore(const std::vector<IpSetSpec>& sets, std::string* out) {
  for (const IpSetSpec& s : sets) {
    absl::StrAppend(out, "create ", s.name, " ", s.type, " family ",
                    s.family == 4 ? "inet" : "inet6");
    if (s.members.size() > 65536) {
      size_t max = 65536;
      while (max < s.members.size()) {
        max *= 2;
      }
      absl::StrAppend(out, " maxelem ", max);
    }
    out->push_back('\n');
    for (const std::string& m : s.members) {
      absl::StrAppend(out, "add ", s.name, " ", m, "\n");
    }
  }
}

RestoreFiles RenderFiles(const Desired& desired) {
  RestoreFiles files;
  RenderIpsetRestore(desired.ipsets, &files.ipsets);
  if (const Ruleset* rs = desired.ForFamily(4)) {
    RenderRestore(*rs, &files.iptables);
  }
  if (const Ruleset* rs = desired.ForFamily(6)) {
    RenderRestore(*rs, &files.ip6tables);
  }
  return files;
}

}  // namespace fiptgen
