#include "report/format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace heapgap::report {

std::string WithThousands(uint64_t value) {
  std::string digits = absl::StrCat(value);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Count(uint64_t value, absl::string_view singular, absl::string_view plural) {
  return absl::StrCat(WithThousands(value), " ", value == 1 ? singular : plural);
}

std::string FormatDuration(uint64_t ns) {
  if (ns < 1000) return absl::StrCat(ns, " ns");
  if (ns < 1000000) return absl::StrFormat("%.1f us", ns / 1e3);
  if (ns < 1000000000) return absl::StrFormat("%.2f ms", ns / 1e6);
  return absl::StrFormat("%.3f s", ns / 1e9);
}

std::string HexAddress(uint64_t address) { return absl::StrFormat("0x%x", address); }

}  // namespace heapgap::report
