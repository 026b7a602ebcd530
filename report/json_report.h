// The report as JSON; the schema is documented in docs/REPORT_JSON.md.
#ifndef HEAPGAP_REPORT_JSON_REPORT_H_
#define HEAPGAP_REPORT_JSON_REPORT_H_

#include <string>

#include "report/report.h"

namespace heapgap::report {

std::string JsonReport(const Report& report);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_JSON_REPORT_H_
