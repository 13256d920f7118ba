// The daemon's spool: screening of untrusted job files, names that cannot escape the spool,
// safe reads, and every move of a job between pending/, running/, done/ and failed/.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "apps/spool/DaemonStatus.hpp"
#include "apps/spool/JobFile.hpp"
#include "apps/spool/JobSpool.hpp"
#include "apps/spool/SafeFile.hpp"
#include "core/Error.hpp"
#include "tests/catch.hpp"

using namespace ringbench;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("ringbench-spool-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string refused_key(const std::string& text) {
  try {
    screen_job(text);
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "(accepted)";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// Pending files are claimed once they have not changed for a second: age the fresh ones.
void settle(const JobSpool& spool) {
  const auto past = fs::file_time_type::clock::now() - std::chrono::seconds(2);
  for (const auto& e : fs::directory_iterator(spool.folder(JobState::pending)))
    if (fs::last_write_time(e.path()) > past) fs::last_write_time(e.path(), past);
}

void age(const fs::path& p, std::chrono::minutes by) {
  fs::last_write_time(p, fs::file_time_type::clock::now() - by);
}

// What the daemon does with claim_next(): a refusal is filed in failed/ at once with its error as
// the report; the names of the jobs it would run are returned.
std::vector<std::string> claim_all(JobSpool& spool) {
  std::vector<std::string> claimed;
  while (auto job = spool.claim_next()) {
    if (job->error.empty())
      claimed.push_back(job->name);
    else
      spool.finish(job->name, false, job->text, "# error = " + job->error + "\n");
  }
  return claimed;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Every file in failed/, one after the other.
std::string failed_texts(const JobSpool& spool) {
  std::string all;
  for (const auto& e : spool.list(JobState::failed))
    all += slurp(spool.folder(JobState::failed) / e.name);
  return all;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("job screening keeps case keys and takes out the priority", "[spool]") {
  const ScreenedJob job =
      screen_job("# comment\nseq-len = 1K 2K  # trailing\n\npriority = 5\nmask=causal\n");
  REQUIRE(job.priority == 5);
  REQUIRE(job.options.find("seq-len = 1K 2K") != std::string::npos);
  REQUIRE(job.options.find("mask = causal") != std::string::npos);
  REQUIRE(job.options.find("priority =") == std::string::npos);
  REQUIRE(screen_job("").priority == 0);
}

TEST_CASE("job screening refuses what a job may not say", "[spool][security]") {
  REQUIRE(refused_key("output = /etc/passwd\n") == "output");
  REQUIRE(refused_key("config = /etc/shadow\n") == "config");
  REQUIRE(refused_key("trace = /tmp/t.json\n") == "trace");
  REQUIRE(refused_key("dump-tensors = true\n") == "dump-tensors");
  REQUIRE(refused_key("[section]\nheads = 2\n") == "job");
  REQUIRE(refused_key("heads 2\n") == "job");
  REQUIRE(refused_key("heads = 2\nheads = 4\n") == "heads");
  REQUIRE(refused_key("heads = 2\x1b[2J\n") == "job");  // control characters
  REQUIRE(refused_key("heads = \xc3\xa9\n") == "job");
  REQUIRE(refused_key("priority = 100000\n") == "priority");
  REQUIRE(refused_key("priority = high\n") == "priority");
  REQUIRE(refused_key(std::string(kMaxJobBytes + 1, '#')) == "job");
  REQUIRE(refused_key("# " + std::string(kMaxJobLineBytes, 'x') + "\n") == "job");
}

TEST_CASE("job names cannot leave their folder", "[spool][security]") {
  REQUIRE(valid_job_name("20261121T101500-000001-42-ab12-scaling.ini"));
  REQUIRE(valid_job_name("a.ini"));
  REQUIRE_FALSE(valid_job_name("../escape.ini"));
  REQUIRE_FALSE(valid_job_name("sub/dir.ini"));
  REQUIRE_FALSE(valid_job_name(".hidden.ini"));
  REQUIRE_FALSE(valid_job_name("job.txt"));
  REQUIRE_FALSE(valid_job_name("job .ini"));
  REQUIRE_FALSE(valid_job_name("-option.ini"));
  REQUIRE_FALSE(valid_job_name("caf\xc3\xa9.ini"));
  REQUIRE_FALSE(valid_job_name(std::string(200, 'a') + ".ini"));
}

TEST_CASE("untrusted reads refuse links, FIFOs and large files", "[spool][security]") {
  TempDir dir;
  const fs::path file = dir.path / "job.ini";
  write(file, "heads = 2\n");
  REQUIRE(read_untrusted_file(file, 100) == "heads = 2\n");
  REQUIRE_THROWS_AS(read_untrusted_file(file, 5), ConfigError);
  fs::create_symlink(file, dir.path / "link.ini");
  REQUIRE_THROWS_AS(read_untrusted_file(dir.path / "link.ini", 100), ConfigError);
  fs::create_hard_link(file, dir.path / "hard.ini");
  REQUIRE_THROWS_AS(read_untrusted_file(dir.path / "hard.ini", 100), ConfigError);
  REQUIRE(::mkfifo((dir.path / "fifo.ini").c_str(), 0600) == 0);
  REQUIRE_THROWS_AS(read_untrusted_file(dir.path / "fifo.ini", 100),
                    ConfigError);  // and does not block
  REQUIRE_THROWS_AS(read_untrusted_file(dir.path / "missing.ini", 100), ConfigError);
}

TEST_CASE("atomic writes replace the file and leave no temporary behind", "[spool]") {
  TempDir dir;
  write_file_atomically(dir.path / "status", "one\n");
  write_file_atomically(dir.path / "status", "two\n");
  REQUIRE(slurp(dir.path / "status") == "two\n");
  REQUIRE(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("a job moves pending -> running -> done with its report", "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path / "spool");
  REQUIRE_THROWS_AS(spool.require_layout(), ConfigError);
  spool.create();
  spool.require_layout();
  const std::string name = spool.submit("heads = 2\n", "my job!/..");
  REQUIRE(valid_job_name(name));
  REQUIRE(name.find("-myjob") != std::string::npos);
  REQUIRE(spool.list(JobState::pending).size() == 1);
  REQUIRE_FALSE(spool.claim_next());  // just written: left to settle

  settle(spool);
  auto job = spool.claim_next();
  REQUIRE(job);
  REQUIRE(job->name == name);
  REQUIRE(job->error.empty());
  REQUIRE(job->text == "heads = 2\n");
  REQUIRE(spool.list(JobState::pending).empty());
  REQUIRE(spool.list(JobState::running).size() == 1);
  REQUIRE_FALSE(spool.claim_next());

  spool.finish(name, true, job->text, "# report\n");
  REQUIRE(spool.list(JobState::running).empty());
  REQUIRE(slurp(spool.folder(JobState::done) / name) == "heads = 2\n# report\n");
}

TEST_CASE("pending jobs run by priority, then oldest first", "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path);
  spool.create();
  write(spool.folder(JobState::pending) / "b-old.ini", "heads = 2\n");
  write(spool.folder(JobState::pending) / "a-new.ini", "heads = 2\n");
  write(spool.folder(JobState::pending) / "c-urgent.ini", "priority = 10\n");
  write(spool.folder(JobState::pending) / "d-broken.ini",
        "output = x\n");  // priority 0, fails when claimed
  write(spool.folder(JobState::pending) / ".tmp-not-a-job.ini", "heads = 2\n");
  const auto t = fs::file_time_type::clock::now();
  fs::last_write_time(spool.folder(JobState::pending) / "b-old.ini", t - std::chrono::hours(2));
  fs::last_write_time(spool.folder(JobState::pending) / "d-broken.ini", t - std::chrono::hours(1));
  fs::last_write_time(spool.folder(JobState::pending) / "a-new.ini", t);
  const auto jobs = spool.list(JobState::pending);
  REQUIRE(jobs.size() == 4);
  REQUIRE(jobs[0].name == "c-urgent.ini");
  REQUIRE(jobs[1].name == "b-old.ini");
  REQUIRE(jobs[2].name == "d-broken.ini");
  REQUIRE(jobs[3].name == "a-new.ini");

  settle(spool);
  const auto stray = spool.claim_next();  // not a job's name: refused first, as a job of its own
  REQUIRE(stray->error.find("'.tmp-not-a-job.ini'") != std::string::npos);
  REQUIRE(spool.claim_next()->name == "c-urgent.ini");
  REQUIRE(spool.claim_next()->name == "b-old.ini");
  const auto broken = spool.claim_next();
  REQUIRE(broken->name == "d-broken.ini");
  REQUIRE(broken->error.find("'output'") != std::string::npos);
}

TEST_CASE("a job left in running/ goes back to pending/, until it has crashed too often",
          "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path);
  spool.create();
  const std::string name = spool.submit("heads = 2\n", "crashy");
  for (int crash = 1; crash <= 2; ++crash) {
    settle(spool);
    REQUIRE(spool.claim_next());
    spool.record_start(name);  // the daemon then dies: the job stays in running/
    const auto lines = spool.recover_running(3);
    REQUIRE(lines.size() == 1);
    REQUIRE(spool.list(JobState::pending).size() == 1);
    REQUIRE(spool.attempts(name).crashes == crash);
    REQUIRE(spool.attempts(name).starts == crash);
  }
  settle(spool);
  REQUIRE(spool.claim_next());
  spool.recover_running(3);
  REQUIRE(spool.list(JobState::pending).empty());
  REQUIRE(spool.list(JobState::failed).size() == 1);
  REQUIRE(slurp(spool.folder(JobState::failed) / name).find("stopped 3 times") !=
          std::string::npos);
}

TEST_CASE("a job that finished just before a crash is not run again", "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path);
  spool.create();
  const std::string name = spool.submit("heads = 2\n", "once");
  settle(spool);
  REQUIRE(spool.claim_next());
  write(spool.folder(JobState::done) / name,
        "heads = 2\n# report\n");  // finish() died before the unlink
  spool.recover_running(3);
  REQUIRE(spool.list(JobState::running).empty());
  REQUIRE(spool.list(JobState::pending).empty());
  REQUIRE(spool.list(JobState::done).size() == 1);

  write(spool.folder(JobState::pending) / name, "heads = 4\n");  // the same name submitted again
  settle(spool);
  REQUIRE_FALSE(spool.claim_next());
  REQUIRE(spool.list(JobState::failed).size() == 1);
  REQUIRE(spool.list(JobState::failed).front().name.find(".duplicate-") != std::string::npos);
}

TEST_CASE("put back, stop requests and the daemon lock", "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path);
  spool.create();
  const std::string name = spool.submit("heads = 2\n", "");
  settle(spool);
  REQUIRE(spool.claim_next());
  spool.put_back(name);
  REQUIRE(spool.list(JobState::pending).size() == 1);

  REQUIRE_FALSE(spool.stop_requested());
  spool.request_stop("test");
  REQUIRE(spool.stop_requested());
  spool.clear_stop();
  REQUIRE_FALSE(spool.stop_requested());

  {
    SpoolLock first(spool);
    REQUIRE_THROWS_AS(SpoolLock(spool), ConfigError);
  }
  SpoolLock again(spool);  // released with the first
}

TEST_CASE("the status file round-trips", "[spool]") {
  DaemonStatus s;
  s.state = "running";
  s.pid = "42";
  s.pids = "42 43";
  s.ranks = "2";
  s.hosts = "a,b";
  s.device = "cpu";
  s.results = "/x/results.h5";
  s.job = "job.ini";
  s.progress = "case 1/2\nwith a line break";
  s.jobs_done = 3;
  s.jobs_failed = 1;
  s.heartbeat = 1700000000;
  const DaemonStatus back = DaemonStatus::parse(s.to_text());
  REQUIRE(back.state == "running");
  REQUIRE(back.pids == "42 43");
  REQUIRE(back.progress == "case 1/2 with a line break");
  REQUIRE(back.jobs_done == 3);
  REQUIRE(back.jobs_failed == 1);
  REQUIRE(back.heartbeat == 1700000000);
}

TEST_CASE("files in pending/ under names submit never writes go to failed/ with the reason",
          "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path);
  spool.create();
  const fs::path pending = spool.folder(JobState::pending);
  const std::vector<std::string> strays = {"-dash.ini",      ".dot.ini",
                                           "with space.ini", "caf\xc3\xa9.ini",
                                           "new\nline.ini",  std::string(201, 'a') + ".ini",
                                           "job.txt"};
  for (const auto& name : strays) write(pending / name, "heads = 2\n");
  write(pending / "good.ini", "heads = 2\n");
  const std::string job = "20261121T101500-000001-42-ab12-x.ini";
  const fs::path abandoned = pending / temporary_name(job, 4242);  // its submit was killed
  write(abandoned, "heads = 2\n");
  settle(spool);
  age(abandoned, std::chrono::minutes(20));
  const fs::path writing = pending / temporary_name(job, 4243);  // a submit writing it now
  write(writing, "heads = ");

  REQUIRE(claim_all(spool) == std::vector<std::string>{"good.ini"});
  REQUIRE(names_in(pending) == std::vector<std::string>{writing.filename().string()});
  const auto failed = spool.list(JobState::failed);  // all listed: as ringbench status shows them
  REQUIRE(failed.size() == strays.size() + 1);
  REQUIRE(names_in(spool.folder(JobState::failed)).size() == failed.size());
  REQUIRE(names_in(spool.folder(JobState::running)) == std::vector<std::string>{"good.ini"});
  const std::string texts = failed_texts(spool);
  REQUIRE(count(texts, "heads = 2\n") == strays.size() + 1);  // the text kept with the reason
  REQUIRE(count(texts, "a name like ringbench submit writes") == strays.size());
  for (const char* quoted : {"'-dash.ini'", "'.dot.ini'", "'with space.ini'", "'caf\\xc3\\xa9.ini'",
                             "'new\\x0aline.ini'", "'job.txt'", "(205 bytes)"}) {
    INFO(quoted);
    REQUIRE(texts.find(quoted) != std::string::npos);
  }
  REQUIRE(texts.find("'" + abandoned.filename().string() + "'") != std::string::npos);
  REQUIRE(texts.find("stopped before renaming it in") != std::string::npos);
}

TEST_CASE("a folder in pending/ ends in failed/ at once, never in running/", "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path);
  spool.create();
  const fs::path pending = spool.folder(JobState::pending), failed = spool.folder(JobState::failed);
  fs::create_directories(pending / "folder.ini" / "inside");
  write(pending / "folder.ini" / "inside" / "data", "someone's data");
  fs::create_directory(pending / "-stray folder");
  settle(spool);

  REQUIRE(claim_all(spool).empty());
  REQUIRE(fs::is_empty(spool.folder(JobState::running)));
  REQUIRE(fs::is_empty(pending));
  REQUIRE(slurp(failed / "folder.ini").find("a job file, not a folder") != std::string::npos);
  REQUIRE(slurp(failed / "folder.ini.dir" / "inside" / "data") == "someone's data");  // kept whole
  REQUIRE(spool.list(JobState::failed).size() == 2);
  REQUIRE(failed_texts(spool).find("'-stray folder'") != std::string::npos);
  REQUIRE(spool.recover_running(3).empty());  // nothing left over for the next start
}

TEST_CASE("the next start removes temporaries of writes cut off by a kill, and says so",
          "[spool]") {
  TempDir dir;
  JobSpool spool(dir.path);
  spool.create();
  SpoolLock lock(spool);  // as the daemon holds it while it recovers
  const std::string job = "20261121T101500-000001-42-ab12-x.ini";
  const fs::path done = spool.folder(JobState::done), failed = spool.folder(JobState::failed);
  const std::vector<fs::path> leftovers = {
      done / temporary_name(job, 999999999),  // its report was being written
      failed / temporary_name(job, 1),        // a live pid here: but only the lock holder writes
      dir.path / "state" / temporary_name(job, 2),
      dir.path / temporary_name("status", 3),
      dir.path / temporary_name("stop", 4),  // of a ringbench stop, long ago
  };
  for (const auto& p : leftovers) write(p, "cut off");
  age(leftovers.back(), std::chrono::minutes(20));
  const std::vector<fs::path> kept = {
      dir.path / temporary_name("stop", 5),    // a ringbench stop writing it now
      done / temporary_name(job, ::getpid()),  // ours
      done / ".keep",
      done / temporary_name("notes.txt", 6),
      failed / (job + ".tmp.7"),
      dir.path / "results.h5.tmp.8",  // the results file's: append_run judges those
  };
  for (const auto& p : kept) write(p, "keep");

  const auto lines = spool.recover_running(3);
  REQUIRE(lines.size() == leftovers.size());
  REQUIRE(lines.front().find("done/" + temporary_name(job, 999999999)) != std::string::npos);
  REQUIRE(lines.front().find("removed, 7 bytes") != std::string::npos);
  for (const auto& p : leftovers) {
    INFO(p);
    REQUIRE_FALSE(fs::exists(p));
  }
  for (const auto& p : kept) {
    INFO(p);
    REQUIRE(fs::exists(p));
  }
}

TEST_CASE("a job key given twice is refused naming both values and lines", "[spool]") {
  try {
    screen_job("heads = 4\n# a comment\nheads = 8\n");
    FAIL("a repeated key was accepted");
  } catch (const ConfigError& e) {
    REQUIRE(e.key() == "heads");
    REQUIRE(e.value() == "4 (line 1) and 8 (line 3)");
    REQUIRE(e.allowed().find("heads = 4 8") != std::string::npos);
  }
}
