// The GPU kernels' tile lists (ring/KeyTileList.hpp), forward and backward shapes, judged pair by
// pair: a tile is listed exactly when it holds an allowed pair, a tile listed full holds only
// allowed pairs and is not cut short, tiles come in increasing order and blocks longest first.
// Over every listable pattern, +causal, and the shards of all three layouts.
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

// Whether outer block b and inner tile t hold any allowed pair, and whether only allowed ones.
TileTruth judge(const AttentionPattern& p, const std::vector<std::int64_t>& q,
                const std::vector<std::int64_t>& k, TileShape shape, std::int64_t b,
                std::int64_t t) {
  const auto& outer = shape.by_keys ? k : q;
  const auto& inner = shape.by_keys ? q : k;
  TileTruth truth;
  const auto o_end = std::min<std::int64_t>((b + 1) * shape.block, outer.size());
  const auto i_end = std::min<std::int64_t>((t + 1) * shape.tile, inner.size());
  if ((t + 1) * shape.tile > static_cast<std::int64_t>(inner.size())) truth.all = false;
  for (std::int64_t i = b * shape.block; i < o_end; ++i)
    for (std::int64_t j = t * shape.tile; j < i_end; ++j) {
      const bool allowed =
          shape.by_keys ? p.allows(inner[j], outer[i], 0, 0) : p.allows(outer[i], inner[j], 0, 0);
      truth.any = truth.any || allowed;
      truth.all = truth.all && allowed;
    }
  return truth;
}

void check_list(const AttentionPattern& p, const std::vector<std::int64_t>& q,
                const std::vector<std::int64_t>& k, TileShape shape) {
  const KeyTileList list = build_tile_list(p, q, k, shape);
  const auto outer = static_cast<std::int64_t>((shape.by_keys ? k : q).size());
  const auto inner = static_cast<std::int64_t>((shape.by_keys ? q : k).size());
  const std::int64_t tiles = (inner + shape.tile - 1) / shape.tile;
  REQUIRE(list.blocks() == (outer + shape.block - 1) / shape.block);
  REQUIRE(static_cast<std::int64_t>(list.order.size()) == list.blocks());
  for (std::size_t i = 1; i < list.order.size(); ++i)
    REQUIRE(list.offsets[list.order[i - 1] + 1] - list.offsets[list.order[i - 1]] >=
            list.offsets[list.order[i] + 1] - list.offsets[list.order[i]]);
  for (std::int64_t b = 0; b < list.blocks(); ++b) {
    std::vector<int> listed(static_cast<std::size_t>(tiles), -1);  // -1 absent, else partial
    int previous = -1;
    for (std::int32_t e = list.offsets[b]; e < list.offsets[b + 1]; ++e) {
      const int tile = list.entries[e] >> 1;
      REQUIRE(tile > previous);
      previous = tile;
      listed[tile] = list.entries[e] & 1;
    }
    for (std::int64_t t = 0; t < tiles; ++t) {
      const TileTruth truth = judge(p, q, k, shape, b, t);
      INFO(p.spec() << (shape.by_keys ? " key block " : " query block ") << b << " tile " << t);
      CHECK((listed[t] >= 0) == truth.any);
      if (listed[t] == 0) CHECK(truth.all);
    }
  }
}

}  // namespace

TEST_CASE("key tile lists hold exactly the tiles with allowed pairs", "[patterns][gpu-lists]") {
  const std::int64_t S = 2048;
  const std::vector<std::string> specs = {"longformer:100:50:20",
                                          "longformer:300:0:130",
                                          "bigbird:64:3:1:2",
                                          "bigbird:128:3:2:1:7",
                                          "bigbird:32:5:0:4",
                                          "blocksparse:64:0.2",
                                          "blocksparse:128:0.3:5",
                                          "blocksparse:256:0.5",
                                          "window:200:30",
                                          "dilated:256:1",
                                          "dilated:64:1",
                                          "causal",
                                          "none"};
  for (const std::string& base : specs)
    for (const std::string& spec : {base, base + "+causal"}) {
      if ((base == "causal" || base == "none") && spec != base) continue;
      const auto pattern = make_pattern(spec, S);
      REQUIRE(pattern->mask_terms());
      for (const LayoutKind layout :
           {LayoutKind::contiguous, LayoutKind::zigzag, LayoutKind::striped}) {
        const SequenceLayout shards(layout, S, 4);
        // rank 1's queries against the keys of ranks 1 and 3, and the whole sequence unsharded
        for (const TileShape shape : {kForwardTiles, kBackwardTiles}) {
          check_list(*pattern, shards.positions(1), shards.positions(1), shape);
          check_list(*pattern, shards.positions(1), shards.positions(3), shape);
        }
      }
      const SequenceLayout whole(LayoutKind::contiguous, S, 1);
      for (const TileShape shape : {kForwardTiles, kBackwardTiles})
        check_list(*pattern, whole.positions(0), whole.positions(0), shape);
    }
}

TEST_CASE("key tile lists skip the tiles a sparse pattern never reads", "[patterns][gpu-lists]") {
  // blocksparse at 10 % with blocks of the kernel's tile: about 10 % of the tiles, none partial
  const std::int64_t S = 65536;
  const auto pattern = make_pattern("blocksparse:128:0.1", S);
  const SequenceLayout whole(LayoutKind::contiguous, S, 1);
  const KeyTileList list =
      build_tile_list(*pattern, whole.positions(0), whole.positions(0), kForwardTiles);
  const double tiles = double(S / 128) * double(S / 128);
  CHECK(list.tiles() / tiles == Approx(0.1).margin(0.01));
  CHECK(list.partial_tiles() == 0);
  // the same with +causal: only the diagonal tiles are partial
  const auto causal = make_pattern("blocksparse:128:0.1+causal", S);
  const KeyTileList causal_list =
      build_tile_list(*causal, whole.positions(0), whole.positions(0), kForwardTiles);
  CHECK(causal_list.partial_tiles() == S / 128);
}

TEST_CASE("key tile lists refuse head-dependent patterns", "[patterns][gpu-lists]") {
  const auto dilated = make_pattern("dilated:256:2", 1024);
  CHECK_FALSE(dilated->mask_terms());
  const SequenceLayout whole(LayoutKind::contiguous, 1024, 1);
  CHECK_THROWS(build_tile_list(*dilated, whole.positions(0), whole.positions(0), kForwardTiles));
}

TEST_CASE("a block bitmap holds the block map bit for bit", "[patterns][gpu-lists]") {
  for (const char* spec : {"blocksparse:16:0.3", "blocksparse:64:0.1:9+causal", "bigbird:32:3:1:2"})
    for (const std::int64_t S : {2048, 64 * 33}) {
      const auto pattern = make_pattern(spec, S);
      INFO(spec << " S " << S);
      const BlockBitmap direct = pattern->block_bitmap();
      const BlockMap map = pattern->block_map();
      CHECK(direct.block == map.block);
      REQUIRE(direct.blocks == map.blocks);
      REQUIRE(direct.words == (direct.blocks + 31) / 32);
      REQUIRE(direct.bits.size() == static_cast<std::size_t>(direct.blocks * direct.words));
      int wrong = 0;  // every bit, and every padding bit past the last block, against the map
      for (std::int64_t i = 0; i < direct.blocks; ++i)
        for (std::int64_t j = 0; j < 32 * direct.words; ++j) {
          const bool bit =
              (direct.bits[static_cast<std::size_t>(i * direct.words + j / 32)] >> (j % 32)) & 1u;
          const bool kept =
              j < map.blocks && map.kept[static_cast<std::size_t>(i * map.blocks + j)] != 0;
          wrong += bit != kept ? 1 : 0;
        }
      CHECK(wrong == 0);
      // an override gives what the generic packing of block_map() gives
      CHECK(direct.bits == pattern->AttentionPattern::block_bitmap().bits);
      REQUIRE(pattern->mask_terms());
      CHECK(pattern->mask_terms()->block == direct.block);  // what the memory plan sizes by
    }
}
