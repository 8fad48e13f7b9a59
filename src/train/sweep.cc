#include "train/sweep.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/child_process.h"
#include "common/error.h"
#include "io/run_files.h"

namespace emotune::train {
namespace fs = std::filesystem;

namespace {

std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./=,:+@%", c);
  });
  if (plain) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The last path component of a backbone ("${models_root}/electra-large" -> "electra-large").
std::string backbone_label(const std::string& backbone) {
  auto trimmed = backbone;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const auto slash = trimmed.find_last_of('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

pid_t spawn_member(const std::vector<std::string>& command, const fs::path* log) {
  try {
    return spawn_child(command, log);
  } catch (const Error& e) {
    throw Error(fmt::format("sweep: {}", e.what()));
  }
}

std::vector<std::string> full_command(const SweepRunner& runner,
                                      const std::vector<std::string>& arguments) {
  std::vector<std::string> command{runner.program.string()};
  command.insert(command.end(), runner.global_arguments.begin(), runner.global_arguments.end());
  command.insert(command.end(), arguments.begin(), arguments.end());
  return command;
}

}  // namespace

std::vector<SweepMember> plan_sweep(const SweepAxes& axes) {
  if (axes.seeds.empty()) throw Error("sweep: no seeds (--seeds 1,2,3)");
  for (const auto& augment : axes.augments) {
    if (augment != "none" && augment != "ba" && augment != "ra") {
      throw Error(fmt::format("sweep --augment {}: expected none, ba or ra", augment));
    }
  }
  const std::vector<std::string> no_value{""};
  const auto& backbones = axes.backbones.empty() ? no_value : axes.backbones;
  const auto& augments = axes.augments.empty() ? no_value : axes.augments;
  std::vector<SweepMember> members;
  std::map<std::string, std::string> seen;  // name -> backbone, to report clashes
  for (const auto& backbone : backbones) {
    for (const auto& augment : augments) {
      for (const auto seed : axes.seeds) {
        SweepMember member;
        member.index = members.size();
        member.seed = seed;
        member.backbone = backbone;
        member.augment = augment;
        std::vector<std::string> parts;
        if (!backbone.empty()) parts.push_back(backbone_label(backbone));
        if (!augment.empty()) parts.push_back("aug-" + augment);
        parts.push_back(fmt::format("seed-{}", seed));
        member.name = fmt::format("{}", fmt::join(parts, "_"));
        if (const auto clash = seen.find(member.name); clash != seen.end()) {
          throw Error(
              fmt::format("sweep: two members would both be named {} (backbones {} and "
                          "{}, or a repeated value); give distinct values",
                          member.name, clash->second, backbone));
        }
        seen.emplace(member.name, backbone);
        member.run_dir = axes.out / member.name;
        member.arguments = {"train", axes.config.string(), "--seeds", std::to_string(seed)};
        if (!backbone.empty())
          member.arguments.insert(member.arguments.end(), {"--backbone", backbone});
        if (!augment.empty())
          member.arguments.insert(member.arguments.end(), {"--set", "augment=" + augment});
        member.arguments.insert(member.arguments.end(), axes.extra_arguments.begin(),
                                axes.extra_arguments.end());
        member.arguments.insert(member.arguments.end(), {"--out", member.run_dir.string()});
        members.push_back(std::move(member));
      }
    }
  }
  return members;
}

std::string manifest_tsv(const std::vector<SweepMember>& members, const fs::path& program) {
  std::string out = "index\tname\tseed\tbackbone\taugment\trun_dir\tcommand\n";
  for (const auto& member : members) {
    std::vector<std::string> words{shell_word(program.string())};
    for (const auto& argument : member.arguments) words.push_back(shell_word(argument));
    out += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", member.index, member.name, member.seed,
                       member.backbone.empty() ? "-" : member.backbone,
                       member.augment.empty() ? "-" : member.augment, member.run_dir.string(),
                       fmt::join(words, " "));
  }
  return out;
}

std::optional<std::vector<std::string>> member_arguments(const SweepMember& member,
                                                         const std::vector<std::string>& extra) {
  if (io::RunSummary::present_in(member.run_dir)) return std::nullopt;
  std::vector<std::string> arguments = member.arguments;
  if (fs::exists(member.run_dir / "config.toml")) {
    arguments = {"train", "--resume", member.run_dir.string()};
  }
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return arguments;
}

std::vector<MemberOutcome> run_sweep(const std::vector<SweepMember>& members,
                                     const SweepRunner& runner) {
  if (runner.max_parallel < 1) throw Error("sweep --max-parallel: expected at least 1");
  fs::create_directories(runner.log_dir);
  std::vector<MemberOutcome> outcomes(members.size());
  struct Running {
    std::size_t member;
    std::chrono::steady_clock::time_point start;
  };
  std::map<pid_t, Running> running;
  std::size_t next = 0;
  std::size_t done = 0;
  const auto report = [&](const MemberOutcome& outcome) {
    ++done;
    if (outcome.skipped) {
      spdlog::info("[{}/{}] {}: already finished, skipped", done, members.size(), outcome.name);
    } else if (outcome.exit_code == 0) {
      spdlog::info("[{}/{}] {}: done in {:.1f} s", done, members.size(), outcome.name,
                   outcome.seconds);
    } else {
      spdlog::error("[{}/{}] {}: failed (exit code {}) after {:.1f} s; log: {}", done,
                    members.size(), outcome.name, outcome.exit_code, outcome.seconds,
                    outcome.log.string());
    }
  };
  while (next < members.size() || !running.empty()) {
    while (next < members.size() && running.size() < runner.max_parallel) {
      const auto& member = members[next];
      auto& outcome = outcomes[next];
      outcome.index = member.index;
      outcome.name = member.name;
      outcome.log = runner.log_dir / (member.name + ".log");
      const auto arguments = member_arguments(member, runner.extra_arguments);
      if (!arguments) {
        outcome.skipped = true;
        report(outcome);
      } else {
        const pid_t pid = spawn_member(full_command(runner, *arguments), &outcome.log);
        running.emplace(pid, Running{next, std::chrono::steady_clock::now()});
      }
      ++next;
    }
    if (running.empty()) continue;
    const auto ended = wait_any_child();
    if (!ended) throw Error("sweep: waitpid failed: no child process left");
    const auto found = running.find(ended->first);
    if (found == running.end()) continue;
    auto& outcome = outcomes[found->second.member];
    outcome.exit_code = ended->second;
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - found->second.start)
            .count();
    running.erase(found);
    report(outcome);
  }
  return outcomes;
}

int run_member(const SweepMember& member, const SweepRunner& runner) {
  const auto arguments = member_arguments(member, runner.extra_arguments);
  if (!arguments) {
    spdlog::info("{}: already finished ({})", member.name,
                 (member.run_dir / io::kSummaryFileName).string());
    return 0;
  }
  return wait_child(spawn_member(full_command(runner, *arguments), nullptr));
}

}  // namespace emotune::train
