// The registry behind NoteOwnMapping (support.h): a fixed table, since it
// must work before anything else is set up and must not allocate.
#include "interpose/support.h"

namespace heapgap {
namespace {

constexpr int kMaxMappings = 16384;

struct OwnMapping {
  uintptr_t begin;
  uintptr_t end;
};

constinit SpinLock g_lock;
constinit OwnMapping g_mappings[kMaxMappings] = {};
constinit int g_count = 0;

}  // namespace

void NoteOwnMapping(uintptr_t begin, size_t bytes) {
  SpinLockHolder hold(g_lock);
  if (g_count < kMaxMappings) g_mappings[g_count++] = OwnMapping{begin, begin + bytes};
}

void ForgetOwnMapping(uintptr_t begin) {
  SpinLockHolder hold(g_lock);
  for (int i = 0; i < g_count; ++i) {
    if (g_mappings[i].begin != begin) continue;
    g_mappings[i] = g_mappings[--g_count];
    return;
  }
}

bool OverlapsOwnMapping(uintptr_t begin, uintptr_t end) {
  SpinLockHolder hold(g_lock);
  for (int i = 0; i < g_count; ++i)
    if (g_mappings[i].begin < end && begin < g_mappings[i].end) return true;
  return false;
}

}  // namespace heapgap

namespace heapgap {
void ResetOwnMappingsAfterFork() { g_lock.ResetAfterFork(); }
}  // namespace heapgap
