#include "fiptgen/trace_text.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fiptgen/flows.h"

namespace fiptgen {
namespace {

std::string Hex(uint32_t v) { return absl::StrCat("0x", absl::Hex(v)); }

// The chains on the way to the hook's decisive step. Each entry is a chain and the call
// frame it runs in: a jump opens a frame, a goto stays in the frame of the chain that went,
// a return leaves the frame (every chain in it).
struct PathEntry {
  uint32_t chain;
  size_t frame;
};

std::vector<PathEntry> PathTo(const PacketSimulator& sim, const TraceResult& trace,
                              const HookTrace& hook) {
  std::vector<PathEntry> path = {{hook.chain, 0}};
  size_t frames = 0;
  for (size_t i = hook.first_step; i < hook.decisive_step; ++i) {
    const TraceStep& st = trace.steps[i];
    if (st.kind == TraceStep::Kind::kChainEnd ||
        (st.kind == TraceStep::Kind::kRule && st.matched &&
         sim.rule_target(st.table, st.chain, st.rule) == TargetKind::kReturn)) {
      const size_t frame = path.back().frame;
      while (path.size() > 1 && path.back().frame == frame) {
        path.pop_back();
      }
      continue;
    }
    if (st.kind != TraceStep::Kind::kRule || !st.matched) {
      continue;
    }
    const TargetKind target = sim.rule_target(st.table, st.chain, st.rule);
    if (target == TargetKind::kJump) {
      path.push_back({sim.rule_target_chain(st.table, st.chain, st.rule), ++frames});
    } else if (target == TargetKind::kGoto) {
      path.push_back({sim.rule_target_chain(st.table, st.chain, st.rule), path.back().frame});
    }
  }
  return path;
}

void AppendStepText(const PacketSimulator& sim, const TraceResult& trace, size_t index,
                    std::string* out) {
  const TraceStep& st = trace.steps[index];
  const uint32_t before = index == 0 ? st.mark : trace.steps[index - 1].mark;
  switch (st.kind) {
    case TraceStep::Kind::kPolicy:
      absl::StrAppend(out, "  = ", sim.chain_name(st.table, st.chain), " policy ",
                      sim.chain_policy(st.table, st.chain), "\n");
      return;
    case TraceStep::Kind::kChainEnd:
      absl::StrAppend(out, "  < ", sim.chain_name(st.table, st.chain), " ends: return\n");
      return;
    case TraceStep::Kind::kRule:
      break;
  }
  const bool unresolved = trace.verdict == Verdict::kUnresolved && index + 1 == trace.steps.size();
  absl::StrAppend(out, "  ",
                  unresolved   ? "?"
                  : st.matched ? "+"
                               : "-",
                  " ", sim.chain_name(st.table, st.chain), " #", st.rule + 1, "  ",
                  sim.rule_text(st.table, st.chain, st.rule));
  if (st.mark != before) {
    absl::StrAppend(out, "   [mark ", Hex(st.mark), "]");
  }
  if (st.matched && sim.rule_target(st.table, st.chain, st.rule) == TargetKind::kNotrack) {
    absl::StrAppend(out, "   [untracked]");
  }
  if (unresolved) {
    absl::StrAppend(out, "\n      cannot be decided: ", trace.unresolved);
  }
  out->push_back('\n');
}

void AppendStepJson(const PacketSimulator& sim, const TraceStep& st, std::string* out) {
  absl::StrAppend(out, "{\"table\":\"", sim.table_name(st.table), "\",\"chain\":");
  AppendJsonString(sim.chain_name(st.table, st.chain), out);
  switch (st.kind) {
    case TraceStep::Kind::kPolicy:
      absl::StrAppend(out, ",\"policy\":\"", sim.chain_policy(st.table, st.chain), "\"");
      break;
    case TraceStep::Kind::kChainEnd:
      absl::StrAppend(out, ",\"end\":true");
      break;
    case TraceStep::Kind::kRule:
      absl::StrAppend(out, ",\"rule\":", st.rule + 1, ",\"text\":");
      AppendJsonString(sim.rule_text(st.table, st.chain, st.rule), out);
      absl::StrAppend(out, ",\"matched\":", st.matched ? "true" : "false");
      break;
  }
  absl::StrAppend(out, ",\"mark\":\"", Hex(st.mark), "\"}");
}

// AppendHookPath without the table's name.
void AppendChainPath(const PacketSimulator& sim, const TraceResult& trace, const HookTrace& hook,
                     std::string* out) {
  const std::vector<PathEntry> path = PathTo(sim, trace, hook);
  for (size_t i = 0; i < path.size(); ++i) {
    absl::StrAppend(out, i == 0 ? "" : " → ", sim.chain_name(hook.table, path[i].chain));
  }
  const TraceStep& st = trace.steps[hook.decisive_step];
  if (st.kind == TraceStep::Kind::kPolicy) {
    absl::StrAppend(out, " → ", VerdictName(hook.verdict), " (policy)");
    return;
  }
  absl::StrAppend(out, " #", st.rule + 1);
  const absl::string_view comment = sim.rule_comment(st.table, st.chain, st.rule);
  if (!comment.empty()) {
    absl::StrAppend(out, " \"", comment, "\"");
  }
  absl::StrAppend(out, " → ", VerdictName(hook.verdict));
  if (hook.verdict == Verdict::kUnresolved) {
    absl::StrAppend(out, ": ", trace.unresolved);
  }
}

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      absl::StrAppend(out, "\\u00", absl::Hex(u, absl::kZeroPad2));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendHookPath(const PacketSimulator& sim, const TraceResult& trace, const HookTrace& hook,
                    std::string* out) {
  absl::StrAppend(out, sim.table_name(hook.table), " ");
  AppendChainPath(sim, trace, hook, out);
}

void AppendTraceText(const PacketSimulator& sim, const Packet& packet, const TraceResult& trace,
                     std::string* out) {
  absl::StrAppend(out, "packet   ");
  AppendPacket(packet, out);
  absl::StrAppend(out, "\nverdict  ", VerdictName(trace.verdict));
  if (trace.verdict != Verdict::kUnresolved) {
    absl::StrAppend(out, trace.untracked ? " (untracked)" : "",
                    trace.verdict == Verdict::kAccept && !trace.untracked
                        ? absl::StrCat(" (filter saw ", CtStateName(trace.filter_ct_state), ")")
                        : "");
  }
  out->push_back('\n');
  for (const HookTrace& hook : trace.hooks) {
    const size_t start = out->size();
    absl::StrAppend(out, sim.table_name(hook.table));
    out->append(9 - (out->size() - start), ' ');
    AppendChainPath(sim, trace, hook, out);
    out->push_back('\n');
  }
  if (!trace.hooks.empty()) {
    const TraceStep& st = trace.steps[trace.hooks.back().decisive_step];
    absl::StrAppend(out, "rule     ", sim.table_name(st.table), " ",
                    sim.chain_name(st.table, st.chain));
    if (st.kind == TraceStep::Kind::kPolicy) {
      absl::StrAppend(out, " policy ", sim.chain_policy(st.table, st.chain), "\n");
    } else {
      absl::StrAppend(out, " #", st.rule + 1, "  ", sim.rule_text(st.table, st.chain, st.rule),
                      "\n");
    }
  }
  for (const auto& [table, rules] : sim.ignored_tables()) {
    absl::StrAppend(out, "note     table ", table, " (", rules,
                    " rules) is not simulated: the verdict assumes it changes nothing\n");
  }
  for (const HookTrace& hook : trace.hooks) {
    absl::StrAppend(out, "\n", sim.table_name(hook.table), " ",
                    sim.chain_name(hook.table, hook.chain), "\n");
    const size_t end = hook.decisive_step + 1;
    for (size_t i = hook.first_step; i < end; ++i) {
      AppendStepText(sim, trace, i, out);
    }
  }
}

void AppendTraceJson(const PacketSimulator& sim, const Packet& packet, const TraceResult& trace,
                     std::string* out) {
  std::string spec;
  AppendPacket(packet, &spec);
  absl::StrAppend(out, "{\"packet\":");
  AppendJsonString(spec, out);
  absl::StrAppend(out, ",\"family\":", packet.family, ",\"verdict\":\"", VerdictName(trace.verdict),
                  "\",\"untracked\":", trace.untracked ? "true" : "false",
                  ",\"filter_ct_state\":\"", CtStateName(trace.filter_ct_state), "\",\"mark\":\"",
                  Hex(trace.mark), "\"");
  if (trace.verdict == Verdict::kUnresolved) {
    absl::StrAppend(out, ",\"unresolved\":");
    AppendJsonString(trace.unresolved, out);
  }
  absl::StrAppend(out, ",\"hooks\":[");
  for (size_t h = 0; h < trace.hooks.size(); ++h) {
    const HookTrace& hook = trace.hooks[h];
    std::string path;
    AppendHookPath(sim, trace, hook, &path);
    absl::StrAppend(out, h == 0 ? "" : ",", "{\"table\":\"", sim.table_name(hook.table),
                    "\",\"chain\":");
    AppendJsonString(sim.chain_name(hook.table, hook.chain), out);
    absl::StrAppend(out, ",\"verdict\":\"", VerdictName(hook.verdict), "\",\"path\":");
    AppendJsonString(path, out);
    absl::StrAppend(out, ",\"decided_by\":");
    AppendStepJson(sim, trace.steps[hook.decisive_step], out);
    out->push_back('}');
  }
  absl::StrAppend(out, "],\"steps\":[");
  for (size_t i = 0; i < trace.steps.size(); ++i) {
    if (i > 0) {
      out->push_back(',');
    }
    AppendStepJson(sim, trace.steps[i], out);
  }
  absl::StrAppend(out, "],\"notes\":[");
  bool first = true;
  for (const auto& [table, rules] : sim.ignored_tables()) {
    absl::StrAppend(out, first ? "" : ",");
    AppendJsonString(absl::StrCat("table ", table, " (", rules, " rules) is not simulated"), out);
    first = false;
  }
  absl::StrAppend(out, "]}");
}

}  // namespace fiptgen
