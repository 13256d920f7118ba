// `ringbench compare BASE.h5 NEW.h5 [--threshold 0.2]`: the regression check. Prints a table of
// new / base median iteration times for the cases both files hold, lists the cases only one of
// them holds, and exits 1 when any matched case is slower than the threshold allows.
#include <cstdio>
#include <iostream>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ResultsInput.hpp"
#include "core/Error.hpp"

namespace ringbench {

namespace po = boost::program_options;

namespace {

po::options_description compare_options() {
  po::options_description d("Options");
  d.add_options()("threshold", po::value<std::string>()->default_value("0.2"),
                  "allowed slowdown: a case fails when new/base > 1 + threshold");
  return d;
}

double parse_threshold(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && v >= 0.0) return v;
  } catch (const std::exception&) {
  }
  throw ConfigError("threshold", text, "a number >= 0 (0.2 = 20 % slower allowed)");
}

const char* verdict_text(Verdict v) {
  switch (v) {
    case Verdict::slower:
      return "SLOWER";
    case Verdict::faster:
      return "faster";
    default:
      return "same";
  }
}

void print_matched(const Comparison& c) {
  std::printf("#%7s %7s %11s %11s %7s %7s  %s\n", "base", "new", "base_ms", "new_ms", "ratio",
              "verdict", "case");
  for (const auto& m : c.matched)
    std::printf(" %7s %7s %11.4f %11.4f %7.3f %7s  %s\n", m.base_id.c_str(), m.new_id.c_str(),
                m.base_ms, m.new_ms, m.ratio, verdict_text(m.verdict), m.label.c_str());
}

void print_unmatched(const char* which, const std::vector<UnmatchedCase>& cases) {
  for (const auto& u : cases)
    std::printf("# only in %s: run %s, %s (%s)\n", which, u.id.c_str(), u.label.c_str(),
                u.reason.c_str());
}

}  // namespace

int compare_command(const Args& args, const MpiRuntime& rt) {
  if (wants_help(args)) {
    if (rt.is_root())
      std::cout
          << "usage: ringbench compare BASE.h5 NEW.h5 [--threshold 0.2]\n\n"
          << "Matches cases by configuration (without iterations, seed, check settings) and\n"
          << "world size, compares median iteration times, exits 1 when a case is slower than\n"
          << "(1 + threshold) x base, 0 otherwise; cases only one file holds are listed.\n\n"
          << compare_options() << "\n";
    return 0;
  }
  const po::variables_map vm = parse_results_args(args, compare_options(), {"base", "new"});
  const std::string base = vm["base"].as<std::string>(), fresh = vm["new"].as<std::string>();
  const double threshold = parse_threshold(vm["threshold"].as<std::string>());
  require_results_file("base", base);
  require_results_file("new", fresh);
  if (!rt.is_root()) return 0;

  const auto base_runs = read_all_runs(base), new_runs = read_all_runs(fresh);
  const Comparison c = compare_runs(base_runs, new_runs, threshold);
  std::printf(
      "# ringbench compare: BASE %s (%zu runs), NEW %s (%zu runs); slower when new/base > %.3g\n",
      base.c_str(), base_runs.size(), fresh.c_str(), new_runs.size(), 1.0 + threshold);
  print_matched(c);
  print_unmatched("BASE", c.only_base);
  print_unmatched("NEW", c.only_new);
  const int slower = c.slower();
  std::printf("# verdict: %s: %d of %zu matched case(s) slower than %.3g x base; %zu unmatched\n",
              slower ? "REGRESSION" : "ok", slower, c.matched.size(), 1.0 + threshold,
              c.only_base.size() + c.only_new.size());
  return slower ? 1 : 0;
}

}  // namespace ringbench
