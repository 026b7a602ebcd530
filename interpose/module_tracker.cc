#include "interpose/module_tracker.h"

#include <elf.h>
#include <string.h>
#include <unistd.h>

#include "interpose/trace_encoding.h"

namespace heapgap {
namespace {

uint64_t HashName(const char* s) {
  uint64_t h = 1469598103934665603ull;
  for (; s && *s; ++s) h = (h ^ static_cast<uint8_t>(*s)) * 1099511628211ull;
  return h;
}

uint64_t FirstLoadSegment(const dl_phdr_info* info) {
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_LOAD) return info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
  return 0;
}

// The NT_GNU_BUILD_ID note, read from the mapped PT_NOTE segments.
size_t FindBuildId(const dl_phdr_info* info, const uint8_t** id) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    const uint8_t* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const uint8_t* name = p + sizeof(ElfW(Nhdr));
      const uint8_t* desc = name + ((note->n_namesz + 3) & ~3u);
      const uint8_t* next = desc + ((note->n_descsz + 3) & ~3u);
      if (next > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        *id = desc;
        return note->n_descsz;
      }
      p = next;
    }
  }
  return 0;
}

const char* MainExecutablePath() {
  static char path[4096];
  if (!path[0]) {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
  }
  return path;
}

struct OwnSearch {
  uintptr_t address;
  uintptr_t begin;
  uintptr_t end;
};

int FindOwnModule(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<OwnSearch*>(data);
  uintptr_t begin = UINTPTR_MAX, end = 0;
  bool contains = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t s = info->dlpi_addr + ph.p_vaddr;
    uintptr_t e = s + ph.p_memsz;
    if (s < begin) begin = s;
    if (e > end) end = e;
    if (search->address >= s && search->address < e) contains = true;
  }
  if (!contains) return 0;
  search->begin = begin;
  search->end = end;
  return 1;
}

}  // namespace

void ModuleTracker::Init(uintptr_t own_address) {
  OwnSearch search{own_address, 0, 0};
  dl_iterate_phdr(FindOwnModule, &search);
  own_begin_ = search.begin;
  own_end_ = search.end;
}

int ModuleTracker::ProbeCallback(dl_phdr_info* info, size_t size, void* self) {
  auto* tracker = static_cast<ModuleTracker*>(self);
  if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
    tracker->probe_adds_ = info->dlpi_adds;
    tracker->probe_subs_ = info->dlpi_subs;
  }
  return 1;  // the counters are the same in every entry
}

int ModuleTracker::ScanCallback(dl_phdr_info* info, size_t, void* self) {
  static_cast<ModuleTracker*>(self)->OnModule(info);
  return 0;
}

bool ModuleTracker::CheckForChanges() {
  if (!scan_lock_.TryLock()) return false;  // another thread is scanning
  dl_iterate_phdr(ProbeCallback, this);
  bool unloaded = false;
  if (rescan_ || probe_adds_ != last_adds_ || probe_subs_ != last_subs_) {
    const uint64_t adds = probe_adds_, subs = probe_subs_;
    {
      SpinLockHolder hold(lock_);
      ++scan_;
    }
    dl_iterate_phdr(ScanCallback, this);
    SpinLockHolder hold(lock_);
    // Modules not seen in this scan were unloaded.
    size_t kept = 0;
    for (size_t i = 0; i < modules_.size(); ++i) {
      if (modules_[i].seen_in_scan == scan_) {
        modules_[kept++] = modules_[i];
        continue;
      }
      uint8_t buf[32];
      wire::Writer record(buf, sizeof buf);
      if (AppendModuleUnload(modules_[i].id, record)) records_.Append(buf, record.size());
      unloaded = true;
    }
    modules_.Truncate(kept);
    last_adds_ = adds;
    last_subs_ = subs;
    rescan_ = false;
  }
  scan_lock_.Unlock();
  return unloaded;
}

bool ModuleTracker::Covers(uintptr_t pc) {
  SpinLockHolder hold(lock_);
  for (size_t i = 0; i < modules_.size(); ++i)
    if (pc >= modules_[i].begin && pc < modules_[i].end) return true;
  return false;
}

void ModuleTracker::OnModule(dl_phdr_info* info) {
  const char* name = info->dlpi_name;
  const uint64_t name_hash = HashName(name);
  const uint64_t first = FirstLoadSegment(info);
  SpinLockHolder hold(lock_);
  for (size_t i = 0; i < modules_.size(); ++i) {
    Module& m = modules_[i];
    if (m.bias == info->dlpi_addr && m.first_segment == first && m.name_hash == name_hash) {
      m.seen_in_scan = scan_;
      return;
    }
  }
  uint64_t begin = UINT64_MAX, end = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uint64_t s = info->dlpi_addr + ph.p_vaddr;
    if (s < begin) begin = s;
    if (s + ph.p_memsz > end) end = s + ph.p_memsz;
  }
  Module m{info->dlpi_addr, first, name_hash, begin, end, next_id_++, scan_};
  if (!modules_.PushBack(m)) return;
  EncodeLoad(info, m.id);
}

void ModuleTracker::EncodeLoad(const dl_phdr_info* info, uint32_t id) {
  static uint8_t storage[16 * 1024];  // guarded by lock_
  static uint8_t segment_storage[64];
  wire::Writer load(storage, sizeof storage);
  const bool is_main = info->dlpi_name == nullptr || info->dlpi_name[0] == '\0';
  const char* path = is_main ? MainExecutablePath() : info->dlpi_name;
  if (strcmp(path, "linux-vdso.so.1") == 0) path = "[vdso]";
  // dlopen("./libx.so") names the module as given: make it absolute, so the
  // trace can be symbolized from any directory.
  static char absolute[8192];  // guarded by lock_
  if (path[0] != '/' && path[0] != '[' && getcwd(absolute, 4096)) {
    StringBuilder b(absolute + strlen(absolute), sizeof absolute - strlen(absolute));
    b.Add("/").Add(path[0] == '.' && path[1] == '/' ? path + 2 : path);
    path = absolute;
  }
  load.UintField(1, id);
  load.StringField(2, path);
  const uint8_t* build_id = nullptr;
  size_t build_id_size = FindBuildId(info, &build_id);
  load.BytesField(3, build_id, build_id_size);
  load.UintField(4, info->dlpi_addr);
  bool is_heapgap = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    wire::Writer segment(segment_storage, sizeof segment_storage);
    const uint64_t start = info->dlpi_addr + ph.p_vaddr;
    segment.UintField(1, start);
    segment.UintField(2, ph.p_memsz);
    segment.UintField(3, ph.p_flags);
    segment.UintField(4, ph.p_offset);
    load.RequiredMessageField(5, segment);
    if (own_begin_ <= start && start < own_end_) is_heapgap = true;
  }
  load.BoolField(6, is_main);
  load.BoolField(7, is_heapgap);
  // Encode the whole delimited record into a second buffer, then keep it.
  static uint8_t record_storage[sizeof storage + 32];
  wire::Writer record(record_storage, sizeof record_storage);
  if (AppendRecord(kRecordModuleLoad, load, record)) records_.Append(record_storage, record.size());
}

bool ModuleTracker::DrainRecords(TraceWriter& writer) {
  SpinLockHolder hold(lock_);
  const uint8_t* p = records_.data();
  size_t left = records_.size();
  while (left > 0) {
    size_t chunk = left < TraceWriter::kBufferBytes / 2 ? left : TraceWriter::kBufferBytes / 2;
    // Records are whole; splitting the byte stream across writes is fine
    // because the buffer is written out in order.
    if (!writer.MakeRoom(chunk)) {
      records_.Clear();
      return false;
    }
    writer.buffer().Raw(p, chunk);
    p += chunk;
    left -= chunk;
  }
  records_.Clear();
  return true;
}

void ModuleTracker::ResetForNewTrace() {
  scan_lock_.ResetAfterFork();
  lock_.ResetAfterFork();
  modules_.Clear();
  records_.Clear();
  next_id_ = 1;
  rescan_ = true;
}

}  // namespace heapgap
