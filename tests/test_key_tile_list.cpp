// The GPU kernels' key tile lists (ring/KeyTileList.hpp), judged pair by pair: a tile is listed
// exactly when it holds an allowed pair, a tile listed full holds only allowed pairs and is not
// cut short, and tiles come in increasing order. Over every listable pattern, +causal, and the
// shards of all three layouts.
#include <string>
#include <vector>

#include "core/PatternSpec.hpp"
#include "core/SequenceLayout.hpp"
#include "ring/KeyTileList.hpp"
#include "tests/catch.hpp"

using namespace ringbench;

namespace {

struct TileTruth {
  bool any = false, all = true;
};

TileTruth judge(const AttentionPattern& p, const std::vector<std::int64_t>& q, std::int64_t b,
                const std::vector<std::int64_t>& k, std::int64_t t) {
  TileTruth truth;
  const auto q_end = std::min<std::int64_t>((b + 1) * KeyTileList::kQueryTile, q.size());
  const auto k_end = std::min<std::int64_t>((t + 1) * KeyTileList::kKeyTile, k.size());
  if ((t + 1) * KeyTileList::kKeyTile > static_cast<std::int64_t>(k.size())) truth.all = false;
  for (std::int64_t i = b * KeyTileList::kQueryTile; i < q_end; ++i)
    for (std::int64_t j = t * KeyTileList::kKeyTile; j < k_end; ++j) {
      const bool allowed = p.allows(q[i], k[j], 0, 0);
      truth.any = truth.any || allowed;
      truth.all = truth.all && allowed;
    }
  return truth;
}

void check_list(const AttentionPattern& p, const std::vector<std::int64_t>& q,
                const std::vector<std::int64_t>& k) {
  const KeyTileList list = build_key_tile_list(p, q, k);
  const auto k_tiles = (static_cast<std::int64_t>(k.size()) + KeyTileList::kKeyTile - 1) /
                       KeyTileList::kKeyTile;
  REQUIRE(list.query_blocks() ==
          (static_cast<std::int64_t>(q.size()) + KeyTileList::kQueryTile - 1) /
              KeyTileList::kQueryTile);
  for (std::int64_t b = 0; b < list.query_blocks(); ++b) {
    std::vector<int> listed(static_cast<std::size_t>(k_tiles), -1);  // -1 absent, else partial
    int previous = -1;
    for (std::int32_t e = list.offsets[b]; e < list.offsets[b + 1]; ++e) {
      const int tile = list.entries[e] >> 1;
      REQUIRE(tile > previous);
      previous = tile;
      listed[tile] = list.entries[e] & 1;
    }
    for (std::int64_t t = 0; t < k_tiles; ++t) {
      const TileTruth truth = judge(p, q, b, k, t);
      INFO(p.spec() << " query block " << b << " key tile " << t);
      CHECK((listed[t] >= 0) == truth.any);
      if (listed[t] == 0) CHECK(truth.all);
    }
  }
}

}  // namespace

TEST_CASE("key tile lists hold exactly the tiles with allowed pairs", "[patterns][gpu-lists]") {
  const std::int64_t S = 2048;
  const std::vector<std::string> specs = {
      "longformer:100:50:20",       "longformer:300:0:130",    "bigbird:64:3:1:2",
      "bigbird:128:3:2:1:7",        "bigbird:32:5:0:4",        "blocksparse:64:0.2",
      "blocksparse:128:0.3:5",      "blocksparse:256:0.5",     "window:200:30",
      "dilated:256:1",              "dilated:64:1",
      "causal",                     "none"};
  for (const std::string& base : specs)
    for (const std::string& spec : {base, base + "+causal"}) {
      if ((base == "causal" || base == "none") && spec != base) continue;
      const auto pattern = make_pattern(spec, S);
      REQUIRE(pattern->mask_terms());
      for (const LayoutKind layout :
           {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
        const SequenceLayout shards(layout, S, 4);
        // rank 1's queries against the keys of ranks 1 and 3, and the whole sequence unsharded
        check_list(*pattern, shards.positions(1), shards.positions(1));
        check_list(*pattern, shards.positions(1), shards.positions(3));
      }
      const SequenceLayout whole(LayoutKind::contiguous, S, 1);
      check_list(*pattern, whole.positions(0), whole.positions(0));
    }
}

TEST_CASE("key tile lists skip the tiles a sparse pattern never reads", "[patterns][gpu-lists]") {
  // blocksparse at 10 % with blocks of the kernel's tile: about 10 % of the tiles, none partial
  const std::int64_t S = 65536;
  const auto pattern = make_pattern("blocksparse:128:0.1", S);
  const SequenceLayout whole(LayoutKind::contiguous, S, 1);
  const KeyTileList list = build_key_tile_list(*pattern, whole.positions(0), whole.positions(0));
  const double tiles = double(S / 128) * double(S / 128);
  CHECK(list.tiles() / tiles == Approx(0.1).margin(0.01));
  CHECK(list.partial_tiles() == 0);
  // the same with +causal: only the diagonal tiles are partial
  const auto causal = make_pattern("blocksparse:128:0.1+causal", S);
  const KeyTileList causal_list =
      build_key_tile_list(*causal, whole.positions(0), whole.positions(0));
  CHECK(causal_list.partial_tiles() == S / 128);
}

TEST_CASE("key tile lists refuse head-dependent patterns", "[patterns][gpu-lists]") {
  const auto dilated = make_pattern("dilated:256:2", 1024);
  CHECK_FALSE(dilated->mask_terms());
  const SequenceLayout whole(LayoutKind::contiguous, 1024, 1);
  CHECK_THROWS(build_key_tile_list(*dilated, whole.positions(0), whole.positions(0)));
}
