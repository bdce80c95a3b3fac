// A deterministic mutation fuzzer for dnd's front end: the pipeline document parser,
// the ${...} evaluator and the planner (validate/plan without MPI), in process.
//
//   dnd-fuzz-frontend [--seconds S] [--seed N] [--limit-ms MS] [--out DIR] CORPUS_DIR...
//
// Each round takes a corpus file (every *.yaml under the directories given), applies a
// few mutations drawn from a seeded generator (byte flips, deletions, duplicated or
// swapped lines, YAML and expression tokens, huge numbers, anchors and aliases), and
// parses and plans the result at 1-4 ranks. A finding is:
//   - a crash (a signal: the input is written to OUT/crash-<round>.yaml first),
//   - a hang: one input using more than --limit-ms of CPU time (OUT/hang-<round>.yaml, exit 3),
//   - an exception other than PipelineError escaping parse_document/make_plan (exit 4),
//   - a file of tests/cli/broken/ or tests/cli/hostile/ that plans without error.
// Same seed, same corpus: the same inputs, so a finding reproduces with --seed.
#include "src/pipeline/plan.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <pthread.h>
#include <time.h>
#include <vector>

namespace fs = std::filesystem;
using dnd::pipeline::PipelineError;

namespace {

std::string g_out = ".";
// The input being processed, for the signal handler and the watchdog.
std::string g_current;
std::atomic<long long> g_started_ms{0};  // 0: idle
std::atomic<long long> g_round{0};
char g_crash_path[4096];

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void write_input(const char* path) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  const char* p = g_current.data();
  size_t left = g_current.size();
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
  ::close(fd);
}

extern "C" void on_crash(int sig) {
  std::snprintf(g_crash_path, sizeof g_crash_path, "%s/crash-%lld.yaml", g_out.c_str(), g_round.load());
  write_input(g_crash_path);
  const char msg[] = "dnd-fuzz-frontend: CRASH (signal); the input is in ";
  (void)!::write(2, msg, sizeof msg - 1);
  (void)!::write(2, g_crash_path, std::strlen(g_crash_path));
  (void)!::write(2, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

const std::vector<std::string> kTokens = {"${",
                                          "}",
                                          "${n}",
                                          "${n * 2}",
                                          "${2 ** 64}",
                                          "${1 ** 999999999999999}",
                                          "${(-9223372036854775807 - 1) // -1}",
                                          "${(-9223372036854775807 - 1) % -1}",
                                          "${-(-(-(1)))}",
                                          "${1 / 0}",
                                          "${a}${a}",
                                          "**",
                                          "//",
                                          "%",
                                          "(",
                                          ")",
                                          "[",
                                          "]",
                                          "{",
                                          "}",
                                          ":",
                                          ", ",
                                          "- ",
                                          "&a ",
                                          "*a",
                                          "<<: *a",
                                          "---\n",
                                          "...\n",
                                          "!!str ",
                                          "!!binary ",
                                          "? ",
                                          "|\n  ",
                                          ">-\n  ",
                                          "\"",
                                          "'",
                                          "\\0",
                                          "\\x00",
                                          "#",
                                          "\t",
                                          "\n",
                                          "\n  ",
                                          "\n    - ",
                                          "-1",
                                          "0",
                                          "1e308",
                                          "nan",
                                          "inf",
                                          "-inf",
                                          "9223372036854775807",
                                          "9223372036854775808",
                                          "-9223372036854775808",
                                          "4294967296",
                                          "99999999999999999999999",
                                          "0.5",
                                          "true",
                                          "null",
                                          "~",
                                          "none",
                                          "split: 1",
                                          "split: -5",
                                          "axis: 99",
                                          "dtype: int8",
                                          "dtype: complex64",
                                          "dtype: bool",
                                          "dtype: float16",
                                          "shape: [4294967296, 4294967296]",
                                          "shape: [9223372036854775807, 2]",
                                          "shape: []",
                                          "shape: [0]",
                                          "shape: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
                                          "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
                                          "op: zeros",
                                          "op: load",
                                          "op: reduce",
                                          "op: matmul",
                                          "op: kmeans",
                                          "op: clip",
                                          "op: power",
                                          "op: reshape",
                                          "op: slice",
                                          "index: '::-1, 0'",
                                          "input: X",
                                          "inputs: [X, X]",
                                          "inputs: [X, 2.5]",
                                          "id: X",
                                          "id: Y",
                                          "path: /dev/zero",
                                          "path: /dev/null",
                                          "path: /",
                                          "path: missing.h5",
                                          "params: {n: 10}",
                                          "max: 2.5",
                                          "min: -1",
                                          "fn: argmax",
                                          "k: 0",
                                          "tol: -1",
                                          "std: -1",
                                          "low: 10",
                                          "high: 0.5",
                                          "num: 100000000",
                                          "stop: 1e9",
                                          "step: 0.5",
                                          "\xef\xbb\xbf",
                                          "\xff\xfe",
                                          "\x01",
                                          std::string(1, '\0')};

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}
  size_t below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string mutate(std::string s, const std::vector<std::string>& corpus) {
    const size_t rounds = 1 + below(4);
    for (size_t r = 0; r < rounds; ++r) {
      const size_t at = below(s.size() + 1);
      switch (below(10)) {
        case 0:  // flip a byte
          if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1u << below(8));
          break;
        case 1:  // delete a run
          if (!s.empty()) s.erase(at < s.size() ? at : 0, 1 + below(16));
          break;
        case 2:
        case 3:
        case 4:  // insert a token
          s.insert(at, kTokens[below(kTokens.size())]);
          break;
        case 5: {  // duplicate a line
          auto lines = split(s);
          if (!lines.empty()) {
            const size_t i = below(lines.size());
            lines.insert(lines.begin() + static_cast<long>(below(lines.size() + 1)), lines[i]);
          }
          s = join(lines);
          break;
        }
        case 6: {  // swap two lines
          auto lines = split(s);
          if (lines.size() > 1) std::swap(lines[below(lines.size())], lines[below(lines.size())]);
          s = join(lines);
          break;
        }
        case 7: {  // a line from another corpus file
          const std::string& other = corpus[below(corpus.size())];
          auto lines = split(s), theirs = split(other);
          if (!theirs.empty())
            lines.insert(lines.begin() + static_cast<long>(below(lines.size() + 1)),
                         theirs[below(theirs.size())]);
          s = join(lines);
          break;
        }
        case 8: {  // replace a number by an extreme one
          const size_t d = s.find_first_of("0123456789", at);
          if (d != std::string::npos) {
            size_t e = d;
            while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
            static const char* big[] = {"0",     "-1", "9223372036854775807", "4294967296", "100000000",
                                        "1e300", "3"};
            s.replace(d, e - d, big[below(7)]);
          }
          break;
        }
        default: {  // repeat a slice (nesting, long lines)
          if (!s.empty()) {
            const size_t b = below(s.size()), len = 1 + below(std::min<size_t>(8, s.size() - b));
            const std::string piece = s.substr(b, len);
            std::string rep;
            for (size_t k = 0, n = 1 + below(64); k < n; ++k) rep += piece;
            s.insert(b, rep);
          }
        }
      }
      if (s.size() > (1u << 16)) s.resize(1u << 16);
    }
    return s;
  }

 private:
  static std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string l;
    while (std::getline(in, l)) out.push_back(l);
    return out;
  }
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& l : v) s += l + "\n";
    return s;
  }
  std::mt19937_64 rng_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

enum class Outcome { ok, invalid, other };

// Parses and plans; any exception other than PipelineError is returned as `other`.
Outcome front_end(const std::string& text, int nranks, std::string& why) {
  try {
    const dnd::pipeline::Document d = dnd::pipeline::parse_document(text, "fuzz.yaml");
    const dnd::pipeline::Plan p = dnd::pipeline::make_plan(d, nranks);
    (void)dnd::pipeline::plan_table(p);
    (void)dnd::pipeline::plan_json(p);
    return Outcome::ok;
  } catch (const PipelineError& e) {
    why = e.message();
    return Outcome::invalid;
  } catch (const std::exception& e) {
    why = e.what();
    return Outcome::other;
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = 1;
  long long limit_ms = 2000;
  std::vector<fs::path> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dnd-fuzz-frontend: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seconds")
      seconds = std::stod(next());
    else if (a == "--seed")
      seed = std::stoull(next());
    else if (a == "--limit-ms")
      limit_ms = std::stoll(next());
    else if (a == "--out")
      g_out = next();
    else
      dirs.emplace_back(a);
  }
  std::vector<std::string> corpus;
  std::vector<std::string> names;
  int broken_ok = 0;
  for (const fs::path& d : dirs) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d))
      if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      corpus.push_back(read_file(f));
      names.push_back(f.string());
      // A broken file must be refused as such (exit 2 from validate).
      if (d.filename() == "broken" || d.filename() == "hostile") {
        std::string why;
        g_current = corpus.back();
        if (front_end(corpus.back(), 2, why) == Outcome::ok) {
          std::fprintf(stderr, "dnd-fuzz-frontend: FINDING: broken file %s plans without error\n",
                       f.c_str());
          ++broken_ok;
        }
      }
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "dnd-fuzz-frontend: no *.yaml files in the corpus directories\n");
    return 2;
  }
  fs::create_directories(g_out);
  for (int sig : {SIGSEGV, SIGFPE, SIGABRT, SIGBUS, SIGILL}) std::signal(sig, on_crash);

  // The watchdog: an input using more than the limit of CPU time (this thread's, so that a
  // loaded machine or `nice` does not count) is a hang.
  clockid_t main_clock;
  pthread_getcpuclockid(pthread_self(), &main_clock);
  std::thread([limit_ms, main_clock] {
    auto cpu_ms = [main_clock] {
      timespec ts{};
      clock_gettime(main_clock, &ts);
      return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
    };
    long long seen = -1, cpu0 = 0;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const long long s = g_started_ms.load(), round = g_round.load();
      if (round != seen) {  // a new input: its CPU time counts from here
        seen = round;
        cpu0 = cpu_ms();
      }
      if (s != 0 && cpu_ms() - cpu0 > limit_ms) {
        const std::string path = fmt::format("{}/hang-{}.yaml", g_out, g_round.load());
        write_input(path.c_str());
        std::fprintf(stderr, "dnd-fuzz-frontend: HANG: an input ran past %lld ms; it is in %s\n",
                     limit_ms, path.c_str());
        std::_Exit(3);
      }
    }
  }).detach();

  Mutator m(seed);
  const long long end = now_ms() + static_cast<long long>(seconds * 1000);
  long long execs = 0, slowest = 0;
  std::map<Outcome, long long> outcomes;
  std::set<std::string> messages;  // distinct first words of the messages: a coverage proxy
  int others = 0;
  while (now_ms() < end) {
    const size_t k = m.below(corpus.size());
    g_current = m.mutate(corpus[k], corpus);
    const int nranks = 1 + static_cast<int>(m.below(4));
    g_round.store(execs);
    const long long t0 = now_ms();
    g_started_ms.store(t0);
    std::string why;
    const Outcome o = front_end(g_current, nranks, why);
    g_started_ms.store(0);
    slowest = std::max(slowest, now_ms() - t0);
    ++execs;
    ++outcomes[o];
    std::string key = why.substr(0, why.find_first_of("'0123456789("));
    if (messages.size() < 100000) messages.insert(key);
    if (o == Outcome::other) {
      const std::string path = fmt::format("{}/other-{}.yaml", g_out, execs);
      write_input(path.c_str());
      std::fprintf(stderr, "dnd-fuzz-frontend: FINDING: not a PipelineError: %s (input in %s)\n",
                   why.c_str(), path.c_str());
      if (++others >= 10) break;
    }
  }
  std::printf(
      "dnd-fuzz-frontend: %lld inputs from %zu corpus files in %.0f s (seed %llu): %lld valid, %lld "
      "refused "
      "with a message, %d other exceptions; %zu distinct messages; slowest input %lld ms (limit %lld)\n",
      execs, corpus.size(), seconds, static_cast<unsigned long long>(seed), outcomes[Outcome::ok],
      outcomes[Outcome::invalid], others, messages.size(), slowest, limit_ms);
  return others > 0 || broken_ok > 0 ? 4 : 0;
}
