#!/bin/sh
#
# backup-agent: the restic backup agent of a cdktf-container-backup sidecar.
#
# POSIX sh; runs under busybox sh and dash with busybox applets as the only coreutils, and
# with restic 0.14 or newer, and jq. Every decision is made at synth time and arrives as one
# JSON plan (BACKUP_PLAN; secrets as files it names). docs/agent-contract.md is the reference
# for the plan, the paths, status.json and the exit codes.
#
# Usage: backup-agent daemon | run | snapshots | audit | restore | verify | prune | health
#        (see usage())
#
# Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 partial backup (some files
# could not be read), 75 another cycle holds the lock (nothing was done).

set -u

readonly EX_OK=0
readonly EX_FAIL=1
readonly EX_USAGE=2
readonly EX_PARTIAL=3
readonly EX_BUSY=75
# Exit code of run_restic when the agent could not prepare a target's environment.
readonly EX_TARGET_ENV=125
# Seconds restic gets to release its lock after SIGINT before timeout sends SIGKILL.
readonly KILL_GRACE_SECONDS=30
readonly LOG_RUNS_KEPT=20
# Seconds before the first retry of a failed start/unpause; doubled after each attempt.
readonly RELEASE_FIRST_DELAY=1

# Globals: each is assigned in one part only, which declares it at its top (the plan's
# settings: 20-plan.sh, read-only after plan_load); the constants that TypeScript decides come
# in the generated part that follows this one. test/agent/globals.test.ts checks both.
