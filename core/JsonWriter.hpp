// A small streaming JSON writer for the files ringbench hands to other tools (Chrome traces,
// exports). Kept in-house rather than a library dependency because the GPU machine has no package
// registry; it only writes, so strict output is all it needs: strings escaped per RFC 8259,
// numbers that round-trip (%.17g), and null for NaN/infinity, which JSON cannot hold.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ringbench {

// Escapes `text` for use inside a JSON string literal (without the quotes).
std::string json_escape(std::string_view text);

// The shortest decimal text that reads back as the same double; "null" when not finite.
std::string json_number(double value);

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);  // inside an object, before each value

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(double number);
  JsonWriter& value(long long number);
  JsonWriter& value(int number) { return value(static_cast<long long>(number)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();

  // Starts a new line before the next element: keeps large files diff- and grep-friendly.
  JsonWriter& newline();

 private:
  void before_value();

  std::ostream& out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
  bool pending_newline_ = false;
};

}  // namespace ringbench
