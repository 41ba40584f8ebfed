#pragma once
/// Who started this process and where its group meets: read from the environment of the
/// launchers people already use, in this order:
///   torchrun   RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
///              TORCHELASTIC_RESTART_COUNT, TORCHELASTIC_USE_AGENT_STORE (torchrun's agent
///              already serves the store on MASTER_PORT: every rank connects as a client,
///              under the prefix /worker/attempt_<restart count>, as PyTorch does)
///   Slurm srun SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE (or
///              SLURM_STEP_TASKS_PER_NODE); the master is MASTER_ADDR or the first host of
///              SLURM_JOB_NODELIST ("node[03-05,9]" -> node03), the port MASTER_PORT or 29500
///   Open MPI   OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE; the master is
///              MASTER_ADDR, or 127.0.0.1 when every rank is on this machine
/// and otherwise a single process. GLOO_SOCKET_IFNAME (the interface Gloo binds, which the
/// C++ constructor does not read by itself) is carried along.
#include <functional>
#include <optional>
#include <string>

namespace mura::dist {

struct LaunchInfo {
  std::string launcher = "none";  ///< none | torchrun | slurm | mpirun
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int restart_count = 0;      ///< torchrun's TORCHELASTIC_RESTART_COUNT
  bool agent_store = false;   ///< torchrun's agent serves the store: connect as a client
  std::string socket_ifname;  ///< GLOO_SOCKET_IFNAME (first of a comma list), or empty
  bool distributed() const { return world_size > 1; }
  /// "torchrun, rank 1 of 2 (local 1 of 2), master 127.0.0.1:29500"
  std::string describe() const;
};

/// Reads the launch from `env` (getenv by default). Throws mura::Error naming the variable
/// for a value that is not a number, out of range (RANK >= WORLD_SIZE, ...), or missing
/// where the launcher needs it.
using EnvReader = std::function<std::optional<std::string>(const std::string&)>;
LaunchInfo detect_launch(const EnvReader& env = {});

/// The first host of a Slurm node list: "node[03-05,9],gpu1" -> "node03", "a,b" -> "a".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace mura::dist
