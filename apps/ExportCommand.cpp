// `ringbench export RESULTS.h5 --format json|csv [--output FILE]`: one record per case, for
// notebooks and other benchmark suites (fields: see core/ResultsExport.hpp and the README).
#include <fstream>
#include <iostream>

#include "apps/CaseOptions.hpp"
#include "apps/Commands.hpp"
#include "apps/ResultsInput.hpp"
#include "core/Error.hpp"
#include "core/ResultsExport.hpp"

namespace ringbench {

namespace po = boost::program_options;

namespace {

po::options_description export_options() {
  po::options_description d("Options");
  d.add_options()                                                                //
      ("format", po::value<std::string>()->default_value("json"), "json | csv")  //
      ("output", po::value<std::string>()->default_value("-"),
       "file to write; - = standard output");
  return d;
}

void write_records(const std::vector<ExportRecord>& records, const std::string& format,
                   std::ostream& out) {
  if (format == "json")
    write_export_json(records, out);
  else
    write_export_csv(records, out);
}

}  // namespace

int export_command(const Args& args, const MpiRuntime& rt) {
  if (wants_help(args)) {
    if (rt.is_root())
      std::cout << "usage: ringbench export RESULTS.h5 [--format json|csv] [--output FILE]\n\n"
                << "One record per case: times (ms), memory (MiB), throughput, TFLOP/s, exposed\n"
                << "communication and the configuration.\n\n"
                << export_options() << "\n";
    return 0;
  }
  const po::variables_map vm = parse_results_args(args, export_options(), {"results"});
  const std::string file = vm["results"].as<std::string>(), format = vm["format"].as<std::string>(),
                    output = vm["output"].as<std::string>();
  if (format != "json" && format != "csv") throw ConfigError("format", format, "json, csv");
  require_results_file("results", file);
  if (!rt.is_root()) return 0;

  std::vector<ExportRecord> records;
  for (const auto& r : read_all_runs(file)) records.push_back(export_record(r.id, r.run));
  if (output == "-") {
    write_records(records, format, std::cout);
    std::cout.flush();
    return std::cout ? 0 : 1;
  }
  std::ofstream out(output);
  if (!out) throw ConfigError("output", output, "a file that can be written");
  write_records(records, format, out);
  out.close();
  if (!out) throw std::runtime_error("writing " + output + " failed");
  return 0;
}

}  // namespace ringbench
