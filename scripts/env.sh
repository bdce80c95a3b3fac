# Sourced by the scripts: the environment every dnd command here runs with.
# Open MPI refuses to run as root unless told; CI and containers run as root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Let the demo and tests start more ranks than this machine has cores.
export OMPI_MCA_rmaps_base_oversubscribe="${OMPI_MCA_rmaps_base_oversubscribe:-1}"
DND_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DND_BUILD="${DND_BUILD:-$DND_ROOT/build}"
export DND_ROOT DND_BUILD
