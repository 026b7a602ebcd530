// The exit-time leak check: with the other threads stopped, scan the roots
// (writable mappings other than the heap — module data, anonymous memory —
// thread stacks from their stack pointer, registers, static TLS) for words
// that point into live blocks, flood through the blocks, and classify every
// block the way valgrind's memcheck does: still reachable, possibly lost
// (reached only through interior pointers), definitely lost, indirectly lost.
#ifndef HEAPGAP_INTERPOSE_LEAK_SCANNER_H_
#define HEAPGAP_INTERPOSE_LEAK_SCANNER_H_

#include <sys/types.h>

#include <cstdint>

#include "interpose/live_table.h"
#include "interpose/trace_writer.h"

namespace heapgap {

struct LeakScanSettings {
  // Scan every readable and writable mapping that is not the heap (memcheck
  // does); false: only the modules' writable segments, stacks and TLS.
  bool scan_mappings = true;
  uintptr_t own_module_begin = 0;  // libheapgap's own module is never a root
  uintptr_t own_module_end = 0;
  uintptr_t stack_start = 0;       // the exiting thread's stack is scanned from here up
  pid_t skip_tid = 0;              // heapgap's flush thread: not the program's
  uintptr_t skip_stack_address = 0;  // an address in that thread's stack
  uint64_t seq = 0;
  uint64_t time_ns = 0;
};

// Runs the scan and writes a LeakScan record. Call with the live table
// unlocked, from the clean-exit handler, with nothing of glibc's locked by
// this thread.
void RunLeakScan(const LeakScanSettings& settings, LiveTable& table, TraceWriter& writer);

// Threads of the process other than `skip_tid` (at most 64 are counted).
size_t CountThreads(pid_t skip_tid);

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_LEAK_SCANNER_H_
