#include "mura/dist/launch.h"

#include <cstdlib>

#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::dist {

namespace {

struct Env {
  const EnvReader& read;
  std::optional<std::string> get(const std::string& name) const {
    auto v = read(name);
    if (v && trim(*v).empty()) return std::nullopt;
    return v;
  }
  int number(const std::string& name, int lo, int hi) const {
    const auto v = get(name);
    if (!v) throw Error(name + " is not set (the launcher sets it)");
    const std::string s(trim(*v));
    char* end = nullptr;
    const long x = std::strtol(s.c_str(), &end, 10);
    if (end == s.c_str() || *end != '\0' || x < lo || x > hi)
      throw Error(name + "=" + s + " is not a whole number from " + std::to_string(lo) + " to " +
                  std::to_string(hi));
    return static_cast<int>(x);
  }
  int number_or(const std::string& name, int fallback, int lo, int hi) const {
    return get(name) ? number(name, lo, hi) : fallback;
  }
};

/// "2(x3),1" -> 2: the tasks of the first node (Slurm's compressed per-node counts).
std::optional<int> first_count(const std::string& s) {
  const std::string t(trim(s));
  std::size_t i = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  return std::atoi(t.substr(0, i).c_str());
}

constexpr int kMax = 1 << 20;

/// The variables a launcher puts its ranks in.
struct RankVars {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;
  const char* local_size;  ///< nullptr: the caller works it out
};

void check_ranks(const LaunchInfo& l, const std::string& rank_var, const std::string& size_var);

/// Rank, size, local rank and local size (the whole job when the launcher does not say).
void read_ranks(const Env& env, const RankVars& v, LaunchInfo& l) {
  l.launcher = v.launcher;
  l.world_size = env.number(v.size, 1, kMax);
  l.rank = env.number(v.rank, 0, kMax);
  l.local_rank = env.number_or(v.local_rank, 0, 0, kMax);
  l.local_world_size =
      v.local_size ? env.number_or(v.local_size, l.world_size, 1, kMax) : l.world_size;
}

void check_ranks(const LaunchInfo& l, const std::string& rank_var, const std::string& size_var) {
  if (l.rank >= l.world_size)
    throw Error(rank_var + "=" + std::to_string(l.rank) + " is not below " + size_var + "=" +
                std::to_string(l.world_size));
  if (l.local_rank >= l.local_world_size)
    throw Error("the local rank " + std::to_string(l.local_rank) +
                " is not below the processes per node " + std::to_string(l.local_world_size));
  if (l.local_world_size > l.world_size)
    throw Error("more processes per node (" + std::to_string(l.local_world_size) +
                ") than in the whole job (" + std::to_string(l.world_size) + ")");
}

}  // namespace

std::string LaunchInfo::describe() const {
  if (!distributed()) return "single process";
  return launcher + ", rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
         " (local " + std::to_string(local_rank) + " of " + std::to_string(local_world_size) +
         "), master " + master_addr + ":" + std::to_string(master_port);
}

std::string first_slurm_host(const std::string& nodelist) {
  const std::string s(trim(nodelist));
  std::string host;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ',') break;
    if (c == '[') {
      // the first number of the range list: "03-05,9]" -> "03"
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '-' && s[j] != ',' && s[j] != ']') ++j;
      host += s.substr(i + 1, j - i - 1);
      break;
    }
    host += c;
  }
  if (host.empty()) throw Error("SLURM_JOB_NODELIST=" + s + " names no host");
  return host;
}

LaunchInfo detect_launch(const EnvReader& reader) {
  const EnvReader process_env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  const Env env{reader ? reader : process_env};
  LaunchInfo l;
  if (auto ifname = env.get("GLOO_SOCKET_IFNAME"))
    l.socket_ifname = std::string(trim(split(*ifname, ',')[0]));
  const auto port = [&] { return env.number_or("MASTER_PORT", 29500, 1, 65535); };

  if (env.get("RANK") || env.get("WORLD_SIZE") || env.get("TORCHELASTIC_RUN_ID")) {
    read_ranks(env, {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"}, l);
    check_ranks(l, "RANK", "WORLD_SIZE");
    if (l.world_size > 1) {
      if (!env.get("MASTER_ADDR")) throw Error("MASTER_ADDR is not set (the launcher sets it)");
      l.master_addr = trim(*env.get("MASTER_ADDR"));
      l.master_port = env.number("MASTER_PORT", 1, 65535);
    }
    l.restart_count = env.number_or("TORCHELASTIC_RESTART_COUNT", 0, 0, kMax);
    const auto agent = env.get("TORCHELASTIC_USE_AGENT_STORE");
    l.agent_store = agent && to_lower(trim(*agent)) == "true";
    return l;
  }
  if (env.get("SLURM_PROCID") && env.get("SLURM_NTASKS")) {
    read_ranks(env, {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", nullptr}, l);
    for (const char* v : {"SLURM_NTASKS_PER_NODE", "SLURM_STEP_TASKS_PER_NODE"})
      if (auto s = env.get(v); s && first_count(*s)) {
        l.local_world_size = *first_count(*s);
        break;
      }
    check_ranks(l, "SLURM_PROCID", "SLURM_NTASKS");
    if (auto addr = env.get("MASTER_ADDR"))
      l.master_addr = trim(*addr);
    else if (auto nodes = env.get("SLURM_JOB_NODELIST"))
      l.master_addr = first_slurm_host(*nodes);
    else if (l.world_size > 1)
      throw Error("neither MASTER_ADDR nor SLURM_JOB_NODELIST is set: where is rank 0?");
    l.master_port = port();
    return l;
  }
  if (env.get("OMPI_COMM_WORLD_RANK") || env.get("OMPI_COMM_WORLD_SIZE")) {
    read_ranks(env,
               {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
               l);
    check_ranks(l, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE");
    if (auto addr = env.get("MASTER_ADDR"))
      l.master_addr = trim(*addr);
    else if (l.local_world_size < l.world_size)
      throw Error(
          "MASTER_ADDR is not set: mpirun does not say where rank 0 is (export it, e.g. "
          "mpirun -x MASTER_ADDR=host0)");
    l.master_port = port();
    return l;
  }
  return l;
}

}  // namespace mura::dist
