#include "report/module_map.h"

#include <algorithm>

namespace heapgap::report {

void ModuleMap::Load(const trace::ModuleLoad& load) {
  TracedModule module;
  module.module_id = load.module_id();
  module.info.path = load.path();
  module.info.build_id = load.build_id();
  module.info.load_bias = load.load_bias();
  module.info.segments.reserve(load.segments_size());
  for (const trace::Segment& s : load.segments()) {
    module.info.segments.push_back(ModuleSegment{s.start(), s.size(), s.flags(), s.file_offset()});
  }
  module.is_main_executable = load.is_main_executable();
  module.is_heapgap = load.is_heapgap();
  loaded_[load.module_id()] = static_cast<Index>(modules_.size());
  modules_.push_back(std::move(module));
  ranges_stale_ = true;
}

void ModuleMap::Unload(uint32_t module_id) {
  if (loaded_.erase(module_id) != 0) ranges_stale_ = true;
}

void ModuleMap::RebuildRanges() {
  ranges_.clear();
  for (const auto& [id, index] : loaded_) {
    for (const ModuleSegment& s : modules_[index].info.segments) {
      if (s.size != 0) ranges_.push_back(Range{s.start, s.start + s.size, index});
    }
  }
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
  ranges_stale_ = false;
}

ModuleMap::Index ModuleMap::Find(uint64_t address) {
  if (ranges_stale_) RebuildRanges();
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                             [](uint64_t a, const Range& r) { return a < r.start; });
  if (it == ranges_.begin()) return kNoModule;
  --it;
  return address < it->end ? it->index : kNoModule;
}

}  // namespace heapgap::report
