#include "interpose/options.h"

#include <cstring>

#include "interpose/support.h"

namespace heapgap {
namespace {

bool ParseUint(const char* s, size_t n, uint64_t& out) {
  if (n == 0 || n > 18) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  out = v;
  return true;
}

bool ParseBool(const char* s, size_t n, bool& out) {
  if (n == 1 && (s[0] == '1' || s[0] == '0')) {
    out = s[0] == '1';
    return true;
  }
  return false;
}

void CopyValue(char* dst, size_t capacity, const char* s, size_t n) {
  if (n >= capacity) n = capacity - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

}  // namespace

void ParseOptions(const char* text, Options& options, void (*complain)(const char*)) {
  if (!text) return;
  const char* p = text;
  while (*p) {
    const char* end = strchr(p, ':');
    if (!end) end = p + strlen(p);
    const char* eq = static_cast<const char*>(memchr(p, '=', static_cast<size_t>(end - p)));
    if (end != p) {
      char message[256];
      StringBuilder msg(message, sizeof message);
      if (!eq) {
        msg.Add("heapgap: ignoring option without '=': ").Add(p, static_cast<size_t>(end - p));
        complain(message);
      } else {
        const size_t key_len = static_cast<size_t>(eq - p);
        const char* value = eq + 1;
        const size_t value_len = static_cast<size_t>(end - value);
        auto key_is = [&](const char* k) { return strlen(k) == key_len && memcmp(p, k, key_len) == 0; };
        uint64_t number = 0;
        bool ok = true;
        if (key_is("output")) {
          ok = value_len > 0;
          if (ok) CopyValue(options.output, sizeof options.output, value, value_len);
        } else if (key_is("manifest")) {
          CopyValue(options.manifest, sizeof options.manifest, value, value_len);
        } else if (key_is("stack_depth")) {
          ok = ParseUint(value, value_len, number) && number >= 1 &&
               number <= static_cast<uint64_t>(Options::kMaxStackDepth);
          if (ok) options.stack_depth = static_cast<int>(number);
        } else if (key_is("flush_thread")) {
          ok = ParseBool(value, value_len, options.flush_thread);
        } else if (key_is("quiet")) {
          ok = ParseBool(value, value_len, options.quiet);
        } else if (key_is("leak_check")) {
          ok = ParseBool(value, value_len, options.leak_check);
        } else if (key_is("scan_mappings")) {
          ok = ParseBool(value, value_len, options.scan_mappings);
        } else if (key_is("freeres")) {
          ok = ParseBool(value, value_len, options.freeres);
        } else {
          msg.Add("heapgap: ignoring unknown option: ").Add(p, key_len);
          complain(message);
          ok = true;
        }
        if (!ok) {
          msg.Add("heapgap: ignoring bad value for option ").Add(p, static_cast<size_t>(end - p));
          complain(message);
        }
      }
    }
    p = *end ? end + 1 : end;
  }
}

}  // namespace heapgap
