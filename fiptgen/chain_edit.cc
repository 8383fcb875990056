#include "fiptgen/chain_edit.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace fiptgen {
namespace {

enum class Step { kKeep, kDelete, kInsert };

// Myers' greedy search for a shortest edit script from a to b (lines interned as ints):
// after round d, v[k] is the furthest x reached on diagonal k = x - y with d steps. Every
// round's v is kept to walk the path back. Returns the script in order (kDelete takes the
// next line of a, kInsert the next of b, kKeep one of each), or false when it needs more
// than max_d steps.
bool ShortestEdit(const std::vector<int>& a, const std::vector<int>& b, size_t max_d,
                  std::vector<Step>* script) {
  const int n = static_cast<int>(a.size());
  const int m = static_cast<int>(b.size());
  const int limit = static_cast<int>(std::min<size_t>(max_d, a.size() + b.size()));
  const int offset = limit + 1;
  std::vector<int> v(2 * limit + 3, 0);
  std::vector<std::vector<int>> trace;  // trace[d][k + d]: v[k] after round d
  int found = -1;
  for (int d = 0; d <= limit && found < 0; ++d) {
    for (int k = -d; k <= d; k += 2) {
      // Down from diagonal k+1 (an insertion) or right from k-1 (a deletion), whichever
      // got further, then along the diagonal while the lines agree.
      int x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                  ? v[offset + k + 1]
                  : v[offset + k - 1] + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) {
        ++x;
        ++y;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    trace.emplace_back(v.begin() + offset - d, v.begin() + offset + d + 1);
  }
  if (found < 0) {
    return false;
  }
  // Back from (n, m): each round undoes one step and the diagonal run after it.
  script->clear();
  int x = n;
  int y = m;
  for (int d = found; d > 0; --d) {
    const std::vector<int>& prev = trace[d - 1];
    auto at = [&prev, d](int k) { return prev[k + d - 1]; };
    const int k = x - y;
    const bool down = k == -d || (k != d && at(k - 1) < at(k + 1));
    const int prev_k = down ? k + 1 : k - 1;
    const int prev_x = at(prev_k);
    const int step_x = down ? prev_x : prev_x + 1;  // where the step ended
    for (; x > step_x; --x, --y) {
      script->push_back(Step::kKeep);
    }
    script->push_back(down ? Step::kInsert : Step::kDelete);
    x = prev_x;
    y = prev_x - prev_k;
  }
  for (; x > 0; --x) {
    script->push_back(Step::kKeep);
  }
  std::reverse(script->begin(), script->end());
  return true;
}

// Moves each change that only deletes, or only inserts, down while the rule after it equals
// its first one: the run's first rule is kept instead of that one, a script as short. Among
// equal scripts this picks the one that reads as the chains are made: a rule and the
// RETURN after it go together, so removing "allow 1006" (a MARK rule and its RETURN) after
// "allow 1005" (the same) deletes 1006's RETURN, not 1005's, whose counters stay where they
// are. `have` and `want` are the whole chains; the script covers them.
void SlideRunsDown(const std::vector<absl::string_view>& have,
                   const std::vector<absl::string_view>& want, std::vector<Step>* script) {
  std::vector<Step>& s = *script;
  size_t x = 0;  // have's rule at step i
  size_t y = 0;  // want's rule at step i
  for (size_t i = 0; i < s.size();) {
    if (s[i] == Step::kKeep) {
      ++i, ++x, ++y;
      continue;
    }
    size_t end = i;
    while (end < s.size() && s[end] == s[i]) {
      ++end;
    }
    const size_t run = end - i;
    // Only a run that is a whole change on its own: half of a change that both deletes and
    // inserts is written as replacements, and sliding it away would cost lines.
    if ((i == 0 || s[i - 1] == Step::kKeep) && end < s.size() && s[end] == Step::kKeep) {
      // The rules the run skips are [x, x + run) of `have` or [y, y + run) of `want`, and
      // the kept rule after it is have[x + run] or want[y + run].
      const bool deletes = s[i] == Step::kDelete;
      const std::vector<absl::string_view>& lines = deletes ? have : want;
      size_t& at = deletes ? x : y;
      while (end < s.size() && s[end] == Step::kKeep && lines[at] == lines[at + run]) {
        std::swap(s[i], s[end]);
        ++i, ++end, ++x, ++y;
      }
    }
    for (; i < end; ++i) {
      if (s[i] == Step::kDelete) {
        ++x;
      } else {
        ++y;
      }
    }
  }
}

}  // namespace

std::optional<std::vector<RuleEdit>> DiffRules(const std::vector<absl::string_view>& have,
                                               const std::vector<absl::string_view>& want,
                                               size_t max_steps) {
  const size_t n = have.size();
  const size_t m = want.size();
  // The common head and tail cost nothing to find and are most of a small change.
  size_t head = 0;
  while (head < n && head < m && have[head] == want[head]) {
    ++head;
  }
  size_t tail = 0;
  while (tail < n - head && tail < m - head && have[n - 1 - tail] == want[m - 1 - tail]) {
    ++tail;
  }
  const size_t a_size = n - head - tail;
  const size_t b_size = m - head - tail;
  if (std::max(a_size, b_size) - std::min(a_size, b_size) > max_steps) {
    return std::nullopt;
  }
  // The rest is compared as ints: equal lines, equal ids.
  absl::flat_hash_map<absl::string_view, int> ids;
  auto intern = [&ids](absl::string_view line) {
    return ids.emplace(line, static_cast<int>(ids.size())).first->second;
  };
  std::vector<int> a, b;
  a.reserve(a_size);
  b.reserve(b_size);
  for (size_t i = head; i < head + a_size; ++i) {
    a.push_back(intern(have[i]));
  }
  for (size_t i = head; i < head + b_size; ++i) {
    b.push_back(intern(want[i]));
  }
  std::vector<Step> middle;
  if (!ShortestEdit(a, b, max_steps, &middle)) {
    return std::nullopt;
  }
  std::vector<Step> script(head, Step::kKeep);
  script.insert(script.end(), middle.begin(), middle.end());
  script.insert(script.end(), tail, Step::kKeep);
  SlideRunsDown(have, want, &script);

  // Top down: rules above `position` are as wanted, the rule at it and below are still the
  // old ones, and `length` is the chain's length as the steps so far leave it.
  std::vector<RuleEdit> steps;
  size_t position = 1;
  size_t length = n;
  size_t next_want = 0;
  size_t deleted = 0;                    // of the current run of changes
  std::vector<absl::string_view> added;  // of the current run of changes
  auto end_run = [&] {
    const size_t replaced = std::min(deleted, added.size());
    for (size_t i = 0; i < replaced; ++i) {
      steps.push_back({RuleEdit::Kind::kReplace, position++, added[i]});
    }
    for (size_t i = replaced; i < deleted; ++i) {
      steps.push_back({RuleEdit::Kind::kDelete, position, {}});
      --length;
    }
    for (size_t i = replaced; i < added.size(); ++i) {
      if (position == length + 1) {
        steps.push_back({RuleEdit::Kind::kAppend, 0, added[i]});
      } else {
        steps.push_back({RuleEdit::Kind::kInsert, position, added[i]});
      }
      ++position;
      ++length;
    }
    deleted = 0;
    added.clear();
  };
  for (Step s : script) {
    switch (s) {
      case Step::kKeep:
        end_run();
        ++position;
        ++next_want;
        break;
      case Step::kDelete:
        ++deleted;
        break;
      case Step::kInsert:
        added.push_back(want[next_want++]);
        break;
    }
  }
  end_run();
  return steps;
}

size_t RefillSize(const Chain& want) {
  // ":<chain> - [0:0]\n", then "-A <chain> <rule>\n" for each rule (body() holds "<rule>\n").
  const size_t name = want.name().size();
  return name + 10 + want.body().size() + want.rule_count() * (name + 4);
}

std::optional<ChainEdit> EditChain(const Chain& have, const Chain& want) {
  if (have.body() == want.body()) {
    return std::nullopt;
  }
  auto lines = [](const Chain& c) {
    std::vector<absl::string_view> rules;
    rules.reserve(c.rule_count());
    c.ForEachRule([&rules](absl::string_view rule) { rules.push_back(rule); });
    return rules;
  };
  std::vector<absl::string_view> have_rules = lines(have);
  if (have_rules.size() != have.rule_count()) {
    // A rule that spans lines (a quoted newline, which only a hand-made rule can hold):
    // positions counted by lines would miss the kernel's, so the chain is written whole.
    return std::nullopt;
  }
  std::optional<std::vector<RuleEdit>> steps = DiffRules(have_rules, lines(want));
  if (!steps.has_value()) {
    return std::nullopt;
  }
  ChainEdit edit{want.name(), *std::move(steps)};
  std::string text;
  RenderChainEdit(edit, &text);
  if (text.size() >= RefillSize(want)) {
    return std::nullopt;
  }
  return edit;
}

}  // namespace fiptgen
