// Protocol-buffer wire format, written by hand into caller-owned memory.
//
// The preload library must not link libprotobuf (the traced program may carry
// its own, other version), so it writes the bytes of proto/trace.proto itself.
// Nothing here allocates. tests/interpose/wire_encoder_test.cc parses what this
// writes with the generated classes.
#ifndef HEAPGAP_INTERPOSE_WIRE_ENCODER_H_
#define HEAPGAP_INTERPOSE_WIRE_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace heapgap::wire {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

constexpr uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

constexpr size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

constexpr uint64_t Tag(uint32_t field, WireType type) {
  return (static_cast<uint64_t>(field) << 3) | type;
}

// Size of a length-delimited field holding `payload` bytes (0 if empty, since
// proto3 omits empty strings, messages we choose to omit and empty packed
// columns).
constexpr size_t LengthDelimitedFieldSize(uint32_t field, size_t payload) {
  return VarintSize(Tag(field, kLengthDelimited)) + VarintSize(payload) + payload;
}

// Appends to a fixed byte range. A write that does not fit sets overflow()
// and every later write is ignored, so callers check once at the end.
class Writer {
 public:
  Writer() = default;
  Writer(uint8_t* begin, size_t capacity)
      : begin_(begin), cur_(begin), end_(begin + capacity) {}

  void Varint(uint64_t v) {
    if (!Fits(VarintSize(v))) return;
    while (v >= 0x80) {
      *cur_++ = static_cast<uint8_t>(v) | 0x80;
      v >>= 7;
    }
    *cur_++ = static_cast<uint8_t>(v);
  }

  // For a writer whose capacity the caller has sized for the worst case
  // (10 bytes per varint): no bounds check.
  void VarintUnchecked(uint64_t v) {
    while (v >= 0x80) {
      *cur_++ = static_cast<uint8_t>(v) | 0x80;
      v >>= 7;
    }
    *cur_++ = static_cast<uint8_t>(v);
  }

  void Raw(const void* data, size_t n) {
    if (!Fits(n)) return;
    if (n != 0) memcpy(cur_, data, n);
    cur_ += n;
  }

  // proto3 scalars: a zero value is not written.
  void UintField(uint32_t field, uint64_t v) {
    if (v == 0) return;
    Varint(Tag(field, kVarint));
    Varint(v);
  }
  void IntField(uint32_t field, int64_t v) { UintField(field, static_cast<uint64_t>(v)); }
  void SintField(uint32_t field, int64_t v) { UintField(field, ZigZag(v)); }
  void BoolField(uint32_t field, bool v) { UintField(field, v ? 1 : 0); }

  // Strings, bytes, nested messages and packed columns; empty ones are skipped.
  void BytesField(uint32_t field, const void* data, size_t n) {
    if (n == 0) return;
    Varint(Tag(field, kLengthDelimited));
    Varint(n);
    Raw(data, n);
  }
  void StringField(uint32_t field, const char* s) { BytesField(field, s, s ? strlen(s) : 0); }
  void MessageField(uint32_t field, const Writer& message) {
    BytesField(field, message.data(), message.size());
  }
  // A nested message that must be present even when empty.
  void RequiredMessageField(uint32_t field, const Writer& message) {
    Varint(Tag(field, kLengthDelimited));
    Varint(message.size());
    Raw(message.data(), message.size());
  }

  const uint8_t* data() const { return begin_; }
  size_t size() const { return static_cast<size_t>(cur_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - cur_); }
  bool overflow() const { return overflow_; }
  void Clear() {
    cur_ = begin_;
    overflow_ = false;
  }

 private:
  bool Fits(size_t n) {
    if (!overflow_ && static_cast<size_t>(end_ - cur_) >= n) return true;
    overflow_ = true;
    return false;
  }

  uint8_t* begin_ = nullptr;
  uint8_t* cur_ = nullptr;
  uint8_t* end_ = nullptr;
  bool overflow_ = false;
};

}  // namespace heapgap::wire

#endif  // HEAPGAP_INTERPOSE_WIRE_ENCODER_H_
