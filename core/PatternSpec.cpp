#include "core/PatternSpec.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <mutex>
#include <string_view>

#include "core/Error.hpp"
#include "core/patterns/BigBirdPattern.hpp"
#include "core/patterns/BlockSparsePattern.hpp"
#include "core/patterns/DilatedPattern.hpp"
#include "core/patterns/LongformerPattern.hpp"
#include "core/patterns/WindowPattern.hpp"

namespace ringbench {

namespace {

// Every length in a spec fits a position; seeds take the range of --seed.
constexpr std::int64_t kMaxLength = kMaxSeqLen;
constexpr std::int64_t kMaxSeed = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kMaxBranches = 64;  // LongNet's geometric series needs at most 31

constexpr const char* kForms =
    "one of none, causal, window:L:R, longformer:L:R:G, bigbird:B:W:G:N[:SEED], "
    "dilated:W1,W2,...:R1,R2,..., blocksparse:B:DENSITY[:SEED], each optionally followed by "
    "+causal";

// The spec forms: what follows the name, as the README and the messages write it.
struct Form {
  std::string_view name, usage;
  std::size_t min_fields, max_fields;  // ':'-separated fields after the name
};
constexpr Form kFormList[] = {
    {"none", "none", 0, 0},
    {"causal", "causal", 0, 0},
    {"window", "window:L:R", 2, 2},
    {"longformer", "longformer:L:R:G", 3, 3},
    {"bigbird", "bigbird:B:W:G:N[:SEED]", 4, 5},
    {"dilated", "dilated:W1,W2,...:R1,R2,...", 2, 2},
    {"blocksparse", "blocksparse:B:DENSITY[:SEED]", 2, 3},
};

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;  // empty parts kept: "a::b" has an empty field
  for (std::size_t start = 0;;) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string quoted(std::string_view text) {
  std::string out(1, '\'');
  out.append(text);
  out += '\'';
  return out;
}

// Reads one spec. Every refusal is ConfigError("mask", the whole spec, "<form> with <part>
// <what it may be>, not <what it is>"), so the message names the part that is wrong.
class SpecReader {
 public:
  SpecReader(const std::string& spec, std::int64_t seq_len) : spec_(spec), seq_len_(seq_len) {}

  std::shared_ptr<const AttentionPattern> pattern();

 private:
  [[noreturn]] void refuse(const std::string& allowed) const {
    throw ConfigError("mask", spec_, allowed);
  }
  [[noreturn]] void refuse_part(std::string_view part, const std::string& allowed,
                                const std::string& given) const {
    const std::string subject = part.empty() ? "" : std::string(part) + " ";
    refuse(std::string(form_->usage) + " with " + subject + allowed + ", not " + given);
  }
  std::string_view base_and_causal();
  void read_form(std::string_view base);
  std::int64_t integer(std::string_view part, std::string_view text, std::int64_t min,
                       std::int64_t max) const;
  std::int64_t divisor_of_length(std::string_view part, std::string_view text) const;
  std::uint64_t seed(std::size_t field) const;
  double density(std::string_view text) const;

  std::shared_ptr<const AttentionPattern> window() const;
  std::shared_ptr<const AttentionPattern> longformer() const;
  std::shared_ptr<const AttentionPattern> bigbird() const;
  std::shared_ptr<const AttentionPattern> dilated() const;
  std::shared_ptr<const AttentionPattern> blocksparse() const;

  const std::string& spec_;
  std::int64_t seq_len_;
  bool causal_ = false;
  const Form* form_ = nullptr;
  std::vector<std::string_view> fields_;  // after the name
};

std::string_view SpecReader::base_and_causal() {
  // SPEC+causal: '+' starts the suffix (no pattern's fields contain one)
  const std::string_view text(spec_);
  const std::size_t plus = text.find('+');
  if (plus == std::string_view::npos) return text;
  const std::vector<std::string_view> suffixes = split(text.substr(plus + 1), '+');
  for (const auto& suffix : suffixes)
    if (suffix != "causal")
      refuse("a pattern optionally followed by +causal, not " +
             quoted(std::string(1, '+').append(suffix)) + " after it");
  if (suffixes.size() > 1)
    refuse("+causal at most once, not " + std::to_string(suffixes.size()) + " times");
  causal_ = true;
  return text.substr(0, plus);
}

void SpecReader::read_form(std::string_view base) {
  std::vector<std::string_view> fields = split(base, ':');
  for (const Form& form : kFormList)
    if (form.name == fields.front()) form_ = &form;
  if (!form_) refuse(std::string(kForms) + ", not the pattern " + quoted(fields.front()));
  fields_.assign(fields.begin() + 1, fields.end());
  const std::size_t n = fields_.size();
  if (n < form_->min_fields || n > form_->max_fields) {
    const std::string wanted =
        form_->min_fields == form_->max_fields
            ? std::to_string(form_->min_fields)
            : std::to_string(form_->min_fields) + " or " + std::to_string(form_->max_fields);
    refuse(std::string(form_->usage) + " (" + wanted + " ':'-separated fields after " +
           quoted(form_->name) + "), not " + std::to_string(n));
  }
}

std::int64_t SpecReader::integer(std::string_view part, std::string_view text, std::int64_t min,
                                 std::int64_t max) const {
  // digits only: no sign, no spaces, no suffix
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == text.npos;
  if (!digits || ec != std::errc() || ptr != end || value < min || value > max)
    refuse_part(part, "an integer from " + std::to_string(min) + " to " + std::to_string(max),
                quoted(text));
  return value;
}

std::int64_t SpecReader::divisor_of_length(std::string_view part, std::string_view text) const {
  const std::int64_t value = integer(part, text, 1, kMaxLength);
  if (seq_len_ % value != 0)
    refuse_part(part, "a divisor of the sequence length " + std::to_string(seq_len_), quoted(text));
  return value;
}

std::uint64_t SpecReader::seed(std::size_t field) const {
  if (field >= fields_.size()) return 0;  // the default seed
  return static_cast<std::uint64_t>(integer("SEED", fields_[field], 0, kMaxSeed));
}

double SpecReader::density(std::string_view text) const {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !(value > 0 && value <= 1))
    refuse_part("DENSITY", "a number in (0, 1]", quoted(text));
  return value;
}

std::shared_ptr<const AttentionPattern> SpecReader::window() const {
  const std::int64_t left = integer("L", fields_[0], 0, kMaxLength);
  const std::int64_t right = integer("R", fields_[1], 0, kMaxLength);
  return std::make_shared<WindowPattern>(left, right, causal_);
}

std::shared_ptr<const AttentionPattern> SpecReader::longformer() const {
  const std::int64_t left = integer("L", fields_[0], 0, kMaxLength);
  const std::int64_t right = integer("R", fields_[1], 0, kMaxLength);
  const std::int64_t globals = integer("G", fields_[2], 0, seq_len_);
  return std::make_shared<LongformerPattern>(left, right, globals, causal_);
}

std::shared_ptr<const AttentionPattern> SpecReader::bigbird() const {
  BigBirdShape shape;
  shape.block = divisor_of_length("B", fields_[0]);
  shape.window = integer("W", fields_[1], 1, kMaxLength);
  if (shape.window % 2 == 0)
    refuse_part("W", "odd (a window centred on the diagonal)", quoted(fields_[1]));
  const std::int64_t blocks = seq_len_ / shape.block;
  shape.globals = integer("G", fields_[2], 0, blocks);
  shape.randoms = integer("N", fields_[3], 0, std::min(blocks, BigBirdShape::kMaxRandoms));
  shape.seed = seed(4);
  return std::make_shared<BigBirdPattern>(shape, seq_len_, causal_);
}

std::shared_ptr<const AttentionPattern> SpecReader::dilated() const {
  const std::vector<std::string_view> segments = split(fields_[0], ','),
                                      dilations = split(fields_[1], ',');
  if (segments.size() != dilations.size())
    refuse_part("", "one dilation rate per segment length",
                std::to_string(segments.size()) + " segment lengths and " +
                    std::to_string(dilations.size()) + " dilation rates");
  if (segments.size() > kMaxBranches)
    refuse_part("", "at most " + std::to_string(kMaxBranches) + " pairs",
                std::to_string(segments.size()));
  std::vector<DilatedBranch> branches;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    DilatedBranch b;
    b.segment = divisor_of_length("W" + n, segments[i]);
    b.dilation = integer("R" + n, dilations[i], 1, kMaxLength);
    if (b.segment % b.dilation != 0)
      refuse_part("R" + n, "a divisor of W" + n + " = " + std::to_string(b.segment),
                  quoted(dilations[i]));
    branches.push_back(b);
  }
  return std::make_shared<DilatedPattern>(std::move(branches), causal_);
}

std::shared_ptr<const AttentionPattern> SpecReader::blocksparse() const {
  const std::int64_t block = divisor_of_length("B", fields_[0]);
  const double kept = density(fields_[1]);
  if (seq_len_ / block > BlockSparsePattern::kMaxBlocks)
    refuse_part("B",
                "at least seq-len / " + std::to_string(BlockSparsePattern::kMaxBlocks) +
                    " (the block map keeps one bit per block pair)",
                quoted(fields_[0]) + " (" + std::to_string(seq_len_ / block) + " blocks per side)");
  return std::make_shared<BlockSparsePattern>(block, kept, seed(2), seq_len_, causal_);
}

std::shared_ptr<const AttentionPattern> SpecReader::pattern() {
  read_form(base_and_causal());
  const std::string_view name = form_->name;
  if (name == "none" && causal_) return std::make_shared<CausalPattern>();  // the same mask
  if (name == "none") return std::make_shared<FullPattern>();
  if (name == "causal" && causal_) refuse("causal alone (it is causal already), not causal+causal");
  if (name == "causal") return std::make_shared<CausalPattern>();
  if (name == "window") return window();
  if (name == "longformer") return longformer();
  if (name == "bigbird") return bigbird();
  if (name == "dilated") return dilated();
  return blocksparse();
}

}  // namespace

namespace {

// Patterns are immutable, and a case asks for its pattern in several places (validation, FLOP
// counts, the ring, the reference); a block-sparse map of a 1M-token sequence takes most of a
// second to draw. So the last few patterns made are kept and shared.
class PatternCache {
 public:
  std::shared_ptr<const AttentionPattern> get(const std::string& spec, std::int64_t seq_len) {
    const std::lock_guard lock(mutex_);
    for (const auto& e : entries_)
      if (e.spec == spec && e.seq_len == seq_len) return e.pattern;
    auto pattern = SpecReader(spec, seq_len).pattern();
    if (entries_.size() == kEntries) entries_.erase(entries_.begin());
    entries_.push_back({spec, seq_len, pattern});
    return pattern;
  }

 private:
  static constexpr std::size_t kEntries = 8;
  struct Entry {
    std::string spec;
    std::int64_t seq_len;
    std::shared_ptr<const AttentionPattern> pattern;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace

std::shared_ptr<const AttentionPattern> make_pattern(const std::string& spec,
                                                     std::int64_t seq_len) {
  if (seq_len < 1) throw ConfigError("seq-len", std::to_string(seq_len), "a positive integer");
  static PatternCache cache;
  return cache.get(spec, seq_len);
}

std::vector<std::string> split_mask_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (!space) {
      item += c;
    } else if (!item.empty()) {
      items.push_back(item);
      item.clear();
    }
  }
  if (!item.empty()) items.push_back(std::move(item));
  return items;
}

}  // namespace ringbench
