#!/usr/bin/env bash
# The one place that installs skein's system (Debian) packages, for CI and developer machines.
# Idempotent and quiet: checks each package with dpkg -s, and only when something is missing runs
# `apt-get update` (once) and `apt-get install` for the missing ones. Needs root (or sudo).
#
# Later work adds its packages to SYSTEM_PACKAGES below, e.g. libxgboost0 (XGBoost hand-off),
# openmpi-bin (MPI launch), chromium (browser tests), iproute2 (network-fault tests).
set -euo pipefail

SYSTEM_PACKAGES=(
  iproute2   # `ip netns`, veth, bridge: test/multihost-netns.test.ts
  openssl    # throwaway CA and certificates: test/comm-tls.test.ts, test/cli-worker.test.ts
  libxgboost0  # XGBoost 1.7.4 C library, loaded through koffi: estimators/xgboost/ffi.ts, test/xgboost-*.test.ts
  chromium     # headless browser for dashboard and performance-report tests (playwright-core)
  openmpi-bin  # `mpirun` for the MPI launcher test (test/cli-mpi.test.ts)
)

log() { echo "[install-system-deps] $*"; }

missing=()
for pkg in "${SYSTEM_PACKAGES[@]+"${SYSTEM_PACKAGES[@]}"}"; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then missing+=("$pkg"); fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  if [ "${#SYSTEM_PACKAGES[@]}" -eq 0 ]; then
    log "no system packages required"
  else
    log "all present: ${SYSTEM_PACKAGES[*]}"
  fi
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    log "ERROR: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
"${SUDO[@]+"${SUDO[@]}"}" apt-get update -qq
log "apt-get install ${missing[*]}"
"${SUDO[@]+"${SUDO[@]}"}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for pkg in "${missing[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || { log "ERROR: $pkg still not installed" >&2; exit 1; }
done
log "installed: ${missing[*]}"
