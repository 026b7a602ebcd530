// Turns the columns of an EventBatch back into events.
#ifndef HEAPGAP_REPORT_EVENT_DECODER_H_
#define HEAPGAP_REPORT_EVENT_DECODER_H_

#include <string>
#include <vector>

#include "report/event.h"
#include "trace.pb.h"

namespace heapgap::report {

// Appends the batch's events to `out` in the order written (increasing seq
// within one thread). Returns false and describes the problem in `error` when
// the columns are inconsistent: lengths differ, the number of aux or
// mmapped_chunk_offset entries does not match the events that need one, or an
// op no writer produces. Ops from a newer writer are decoded like any other
// and left to the caller, as long as they carry no aux entries.
bool DecodeEventBatch(const trace::EventBatch& batch, std::vector<Event>* out, std::string* error);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_EVENT_DECODER_H_
