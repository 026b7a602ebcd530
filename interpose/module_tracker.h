// Which ELF modules are loaded, so that return addresses can be symbolized
// offline: path, build-id, load bias and PT_LOAD segments of each, written as
// ModuleLoad/ModuleUnload records whenever the set changes.
//
// Changes are noticed through dl_iterate_phdr's load/unload counters, which
// also see libc-internal loads (gconv, libgcc_s) that an interposed dlopen
// would miss.
#ifndef HEAPGAP_INTERPOSE_MODULE_TRACKER_H_
#define HEAPGAP_INTERPOSE_MODULE_TRACKER_H_

#include <link.h>

#include <cstdint>

#include "interpose/support.h"
#include "interpose/trace_writer.h"

namespace heapgap {

class ModuleTracker {
 public:
  // Finds heapgap's own module (the one containing `own_address`).
  void Init(uintptr_t own_address);
  bool IsOwnAddress(uintptr_t pc) const { return pc >= own_begin_ && pc < own_end_; }
  // True when `pc` lies in a module already recorded. A stack with a frame
  // outside them comes from a module loaded since the last check.
  bool Covers(uintptr_t pc);
  void OwnRange(uintptr_t& begin, uintptr_t& end) const {
    begin = own_begin_;
    end = own_end_;
  }

  // Records loads and unloads since the last call; cheap when nothing
  // changed. Takes the dynamic loader's lock: call it with none of heapgap's
  // locks held. Returns true when a module went away.
  bool CheckForChanges();

  // Moves the pending ModuleLoad/ModuleUnload records into `writer`.
  bool DrainRecords(TraceWriter& writer);

  // Fork child: its trace starts empty, so every module is written again.
  void ResetForNewTrace();

 private:
  struct Module {
    uint64_t bias;
    uint64_t first_segment;
    uint64_t name_hash;
    uint64_t begin;  // lowest and highest PT_LOAD address
    uint64_t end;
    uint32_t id;
    uint32_t seen_in_scan;
  };
  static int ProbeCallback(dl_phdr_info* info, size_t size, void* self);
  static int ScanCallback(dl_phdr_info* info, size_t size, void* self);
  void OnModule(dl_phdr_info* info);
  void EncodeLoad(const dl_phdr_info* info, uint32_t id);

  uintptr_t own_begin_ = 0;
  uintptr_t own_end_ = 0;

  SpinLock scan_lock_;  // one scan at a time; only ever try-locked
  SpinLock lock_;       // guards everything below; a leaf lock
  MappedArray<Module> modules_;
  MappedArray<uint8_t> records_;
  uint64_t last_adds_ = 0;
  uint64_t last_subs_ = 0;
  bool rescan_ = true;
  uint32_t next_id_ = 1;
  uint32_t scan_ = 0;
  // Filled by ProbeCallback.
  uint64_t probe_adds_ = 0;
  uint64_t probe_subs_ = 0;
};

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_MODULE_TRACKER_H_
