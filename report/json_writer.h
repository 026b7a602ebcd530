// A small streaming JSON writer with indentation.
#ifndef HEAPGAP_REPORT_JSON_WRITER_H_
#define HEAPGAP_REPORT_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace heapgap::report {

// Appends `text` to `out` as a JSON string literal, quotes included. Control
// characters, quotes and backslashes are escaped; so are '<', '>', '&', U+2028
// and U+2029, so that the output can be embedded in an HTML <script> as is.
// Bytes that are not valid UTF-8 become U+FFFD.
void AppendJsonString(absl::string_view text, std::string* out);

// The caller is responsible for a well-formed sequence of calls: a Key before
// each value inside an object, matching Begin/End.
class JsonWriter {
 public:
  // `indent` spaces per level; 0 writes everything on one line.
  explicit JsonWriter(std::string* out, int indent = 2) : out_(out), indent_(indent) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(absl::string_view key);
  void String(absl::string_view value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Bool(bool value);
  void Null();
  // A value that is already JSON (e.g. another writer's document), written
  // as is; trailing white space is dropped.
  void Raw(absl::string_view json);

 private:
  void BeforeValue();
  void Open(char bracket);
  void Close(char bracket);
  void NewLine();

  std::string* out_;
  int indent_;
  std::vector<bool> has_members_;  // per open container
  bool after_key_ = false;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_JSON_WRITER_H_
