#include "fiptgen/model.h"

#include <algorithm>

#include "fiptgen/protocols.h"

namespace fiptgen {

Config DefaultConfig() {
  Config c;
  MetadataConfig md;
  md.addr = *ParseIpNet("127.0.0.1", 4);
  md.port = 8775;
  c.metadata = md;
  c.failsafe_inbound = {{kProtoTcp, 22}};
  c.failsafe_outbound = {
      {kProtoTcp, 2379}, {kProtoTcp, 2380}, {kProtoTcp, 4001}, {kProtoTcp, 7001}};
  return c;
}

RulePorts::RulePorts(const RulePorts& other) : end_{}, heap_(nullptr) { *this = other; }

RulePorts& RulePorts::operator=(const RulePorts& other) {
  if (this == &other) {
    return *this;
  }
  if (other.on_heap()) {
    // Allocated before anything is freed: if it throws, this is left as it was.
    PortRange* const heap = Allocate(other.end_[kNotDst]);
    std::copy(other.heap_, other.heap_ + other.end_[kNotDst], heap);
    Free();
    heap_ = heap;
  } else {
    Free();
    // As bytes: slots past the last list were never written.
    std::memcpy(static_cast<void*>(inline_), other.inline_, sizeof(inline_));
  }
  std::memcpy(end_, other.end_, sizeof(end_));
  return *this;
}

void RulePorts::Set(List list, absl::Span<const PortRange> ranges) {
  // Copied first: `ranges` may be one of this rule's own lists, which Resize moves.
  const std::vector<PortRange> copy(ranges.begin(), ranges.end());
  std::copy(copy.begin(), copy.end(), Resize(list, static_cast<uint32_t>(copy.size())));
}

PortRange* RulePorts::ResizeMoving(List list, uint32_t n) {
  const uint32_t begin = Begin(list);
  const uint32_t old_n = end_[list] - begin;
  const uint32_t total = end_[kNotDst];
  const uint32_t new_total = total - old_n + n;
  if (!on_heap() && new_total <= kInline) {  // most rules: in place
    std::memmove(static_cast<void*>(inline_ + begin + n), inline_ + begin + old_n,
                 (total - begin - old_n) * sizeof(PortRange));
  } else {
    // The lists before `list` and after it, copied around the new room.
    PortRange room[kInline];
    PortRange* const to = new_total > kInline ? Allocate(new_total) : room;
    const PortRange* const from = data();
    std::copy(from, from + begin, to);
    std::copy(from + begin + old_n, from + total, to + begin + n);
    Free();
    if (to == room) {
      std::copy(room, room + new_total, inline_);
    } else {
      heap_ = to;
    }
  }
  for (int i = list; i <= kNotDst; ++i) {
    end_[i] = end_[i] - old_n + n;
  }
  return (on_heap() ? heap_ : inline_) + begin;
}

}  // namespace fiptgen
