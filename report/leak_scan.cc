#include "report/leak_scan.h"

#include "absl/strings/str_cat.h"
#include "report/leak_kind.h"

namespace heapgap::report {

bool LeakScanApplier::Take(const trace::LeakScan& scan, std::string* error) {
  if (scan.address_delta_size() != scan.kind_size()) {
    *error = absl::StrCat("leak scan with ", scan.address_delta_size(), " addresses and ",
                          scan.kind_size(), " kinds");
    return false;
  }
  LeakScanFacts facts;
  facts.seq = scan.seq();
  facts.time_ns = scan.time_ns();
  facts.blocks = scan.kind_size();
  facts.threads_scanned = scan.threads_scanned();
  facts.threads_not_stopped = scan.threads_not_stopped();
  facts.root_bytes = scan.root_bytes();
  facts.anonymous_mappings_are_roots = scan.anonymous_mappings_are_roots();
  for (const std::string& note : scan.notes()) facts.notes.push_back(note);

  addresses_.clear();
  kinds_.clear();
  addresses_.reserve(scan.kind_size());
  kinds_.reserve(scan.kind_size());
  uint64_t address = 0;
  for (int i = 0; i < scan.kind_size(); ++i) {
    address += static_cast<uint64_t>(scan.address_delta(i));
    uint32_t kind = scan.kind(i);
    if (kind < static_cast<uint32_t>(LeakKind::kStillReachable) ||
        kind > static_cast<uint32_t>(LeakKind::kPossiblyLost)) {
      ++facts.unknown_kinds;
      kind = static_cast<uint32_t>(LeakKind::kUnchecked);
    }
    addresses_.push_back(address);
    kinds_.push_back(static_cast<uint8_t>(kind));
  }
  facts_ = std::move(facts);
  pending_ = true;
  return true;
}

void LeakScanApplier::Apply(HeapReplay& replay) {
  pending_ = false;
  facts_->blocks_not_live = replay.SetLeakKinds(addresses_, kinds_);
  addresses_ = {};
  kinds_ = {};
}

}  // namespace heapgap::report
