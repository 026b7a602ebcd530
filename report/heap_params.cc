#include "report/heap_params.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace heapgap::report {

bool SetMmapThreshold(uint64_t value, MallocParams& params) {
  // do_set_mmap_threshold: at most HEAP_MAX_SIZE / 2.
  if (value > glibc::kArenaHeapBytes / 2) return false;
  params.mmap_threshold = value;
  params.no_dyn_threshold = true;
  return true;
}

bool SetTrimThreshold(uint64_t value, MallocParams& params) {
  params.trim_threshold = value;
  params.no_dyn_threshold = true;
  return true;
}

bool SetTopPad(uint64_t value, MallocParams& params) {
  params.top_pad = value;
  params.no_dyn_threshold = true;
  return true;
}

bool SetMmapMax(uint64_t value, MallocParams& params) {
  params.mmap_max = value;
  params.no_dyn_threshold = true;
  return true;
}

bool SetMaxFast(uint64_t value, MallocParams& params) {
  if (value > glibc::kMaxFastRequest) return false;
  // set_max_fast: below one chunk's worth nothing is fast.
  params.max_fast = value <= 7 ? glibc::kMinChunk / 2 : (value + 8) & ~uint64_t{15};
  return true;
}

bool SetTcacheCount(uint64_t value, MallocParams& params) {
  if (value > glibc::kMaxTcacheCount) return false;
  params.tcache_count = static_cast<uint32_t>(value);
  return true;
}

bool SetTcacheMax(uint64_t value, MallocParams& params) {
  if (value > glibc::kMaxTcacheRequest) return false;
  params.tcache_bins =
      static_cast<uint32_t>(glibc::TcacheIndex(glibc::RequestToChunk(value)) + 1);
  return true;
}

bool ApplyMallopt(int param, int64_t value, MallocParams& params) {
  // mallopt's int converts to size_t: negative values become huge.
  const uint64_t as_size = static_cast<uint64_t>(value);
  switch (param) {
    case glibc::kMallocMxFast: return SetMaxFast(as_size, params);
    case glibc::kMallocTrimThreshold: return SetTrimThreshold(as_size, params);
    case glibc::kMallocTopPad: return SetTopPad(as_size, params);
    case glibc::kMallocMmapThreshold: return SetMmapThreshold(as_size, params);
    case glibc::kMallocMmapMax: return SetMmapMax(static_cast<uint64_t>(static_cast<int>(value)),
                                                  params);
    case glibc::kMallocArenaMax:
      if (value > 0) params.arena_max = static_cast<uint64_t>(value);
      return true;
    default: return true;
  }
}

namespace {

// glibc's tunables accept decimal and 0x-prefixed hexadecimal numbers.
bool ParseNumber(absl::string_view text, uint64_t& value) {
  const std::string s(text);
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtoull(s.c_str(), &end, 0);
  return errno == 0 && end != nullptr && *end == '\0';
}

// Applies one glibc.malloc tunable; false for a name that does not change
// the model (or a value glibc refuses).
bool ApplyTunable(absl::string_view name, uint64_t value, MallocParams& params) {
  if (name == "mmap_threshold") return SetMmapThreshold(value, params);
  if (name == "trim_threshold") return SetTrimThreshold(value, params);
  if (name == "top_pad") return SetTopPad(value, params);
  if (name == "mmap_max") return SetMmapMax(value, params);
  if (name == "mxfast") return SetMaxFast(value, params);
  if (name == "tcache_count") return SetTcacheCount(value, params);
  if (name == "tcache_max") return SetTcacheMax(value, params);
  if (name == "arena_max") {
    params.arena_max = value;
    return true;
  }
  return false;
}

// The tunable an environment variable is an alias of (dl-tunables.list).
absl::string_view TunableForEnvironment(absl::string_view name) {
  if (name == "MALLOC_MMAP_THRESHOLD_") return "mmap_threshold";
  if (name == "MALLOC_TRIM_THRESHOLD_") return "trim_threshold";
  if (name == "MALLOC_TOP_PAD_") return "top_pad";
  if (name == "MALLOC_MMAP_MAX_") return "mmap_max";
  if (name == "MALLOC_ARENA_MAX") return "arena_max";
  return {};
}

}  // namespace

void ApplyMallocSettings(const trace::MallocSettings& settings, MallocParams& params,
                         std::vector<std::string>& applied) {
  for (const std::string& entry : settings.environment()) {
    const size_t equals = entry.find('=');
    if (equals == std::string::npos) continue;
    const absl::string_view name = absl::string_view(entry).substr(0, equals);
    const absl::string_view tunable = TunableForEnvironment(name);
    uint64_t value;
    if (tunable.empty() || !ParseNumber(absl::string_view(entry).substr(equals + 1), value)) {
      continue;
    }
    if (ApplyTunable(tunable, value, params)) applied.push_back(entry);
  }
  constexpr absl::string_view kPrefix = "glibc.malloc.";
  for (absl::string_view item : absl::StrSplit(settings.glibc_tunables(), ':')) {
    const size_t equals = item.find('=');
    if (equals == absl::string_view::npos || !absl::StartsWith(item, kPrefix)) continue;
    uint64_t value;
    if (!ParseNumber(item.substr(equals + 1), value)) continue;
    if (ApplyTunable(item.substr(kPrefix.size(), equals - kPrefix.size()), value, params)) {
      applied.emplace_back(item);
    }
  }
}

std::string MalloptName(int param) {
  switch (param) {
    case glibc::kMallocMxFast: return "M_MXFAST";
    case glibc::kMallocTrimThreshold: return "M_TRIM_THRESHOLD";
    case glibc::kMallocTopPad: return "M_TOP_PAD";
    case glibc::kMallocMmapThreshold: return "M_MMAP_THRESHOLD";
    case glibc::kMallocMmapMax: return "M_MMAP_MAX";
    case -5: return "M_CHECK_ACTION";
    case -6: return "M_PERTURB";
    case glibc::kMallocArenaTest: return "M_ARENA_TEST";
    case glibc::kMallocArenaMax: return "M_ARENA_MAX";
    default: return absl::StrCat("mallopt parameter ", param);
  }
}

}  // namespace heapgap::report
