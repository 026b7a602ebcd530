// Number and duration formatting for human-readable output.
#ifndef HEAPGAP_REPORT_FORMAT_H_
#define HEAPGAP_REPORT_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace heapgap::report {

// 1234567 -> "1,234,567".
std::string WithThousands(uint64_t value);

// "1 block", "2 blocks": the count with thousands separators and the noun,
// plural unless the count is 1.
std::string Count(uint64_t value, absl::string_view singular, absl::string_view plural);

// Nanoseconds as "850 ns", "12.3 us", "4.56 ms", "1.234 s".
std::string FormatDuration(uint64_t ns);

// A 64-bit address as "0x" followed by lowercase hex.
std::string HexAddress(uint64_t address);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_FORMAT_H_
