#include "report/stack_table.h"

#include "absl/strings/str_cat.h"

namespace heapgap::report {
namespace {
// Ids are consecutive in a well-formed trace; small gaps are tolerated, but
// more skipped ids in total mean corrupt ids that would make the table
// explode (gaps of many records together, not just one large gap).
constexpr uint64_t kMaxIdGap = 1 << 20;
}  // namespace

bool StackTable::Add(const trace::StackNodes& record, ModuleMap& modules, std::string* error) {
  const int n = record.parent_distance_size();
  if (record.return_address_delta_size() != n) {
    *error = absl::StrCat("stack nodes: ", n, " parents but ", record.return_address_delta_size(),
                          " return addresses");
    return false;
  }
  const uint64_t first = record.first_id();
  if (first == 0 || first < nodes_.size()) {
    *error = absl::StrCat("stack nodes: first id ", first, " is not after the last id ",
                          nodes_.size() - 1);
    return false;
  }
  if (first - nodes_.size() > kMaxIdGap - skipped_ids_) {
    *error = absl::StrCat("stack nodes: first id ", first, " jumps far beyond the last id ",
                          nodes_.size() - 1);
    return false;
  }
  skipped_ids_ += first - nodes_.size();
  nodes_.resize(first + n);
  uint64_t address = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t id = first + i;
    const uint64_t distance = record.parent_distance(i);
    if (distance > id || (distance != 0 && !nodes_[id - distance].defined)) {
      *error = absl::StrCat("stack node ", id, " has parent distance ", distance,
                            ", which names no node");
      return false;
    }
    address += static_cast<uint64_t>(record.return_address_delta(i));
    Node& node = nodes_[id];
    node.parent = distance == 0 ? 0 : id - distance;
    node.return_address = address;
    node.module = modules.Find(address);
    node.defined = true;
  }
  return true;
}

std::vector<StackFrame> StackTable::Frames(uint64_t id, const ModuleMap& modules) const {
  std::vector<StackFrame> frames;
  // Parents always have smaller ids, so this terminates.
  while (Contains(id)) {
    const Node& node = nodes_[id];
    if (node.module == ModuleMap::kNoModule || !modules.module(node.module).is_heapgap) {
      frames.push_back(StackFrame{node.return_address, node.module});
    }
    id = node.parent;
  }
  return frames;
}

}  // namespace heapgap::report
