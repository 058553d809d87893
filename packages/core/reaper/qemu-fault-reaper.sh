#!/bin/sh
# qemu-fault's reaper: the one piece of clean-up that survives its owner.
#
# `launch()` starts one reaper per Node process, in its own session (so a terminal's Ctrl-C, sent
# to the owner's process group, does not reach it), with a pipe from the owner as its stdin. The
# owner announces on it, one line each, the QEMU processes it starts (`qemu PID`) and the private
# temp dirs it creates (`dir PATH`, sent *before* the dir exists), and takes them back when it has
# cleaned them up itself (`gone PID`, `done PATH`).
#
# However the owner ends (normal exit, uncaught error, SIGINT, SIGTERM, or SIGKILL, where none of
# its own handlers run) the kernel closes the pipe. The reaper then kills the QEMUs still announced
# (checking each pid's start time first, so a recycled pid is never hit), waits for them to go,
# removes the dirs, and exits.
#
# A POSIX shell script, not Node: with test isolation every test file's worker starts a reaper, and
# a shell starts in a millisecond where Node takes tens of milliseconds of CPU. Everything in the
# loop is a builtin: a message costs no process.

set -f
nl='
'
dirs=''
# One "PID START" line per announced QEMU: START is its start time when announced.
qemus=''

# Sets `state` and `started` from /proc/PID/stat (fields 3 and 22), both empty when PID is gone or
# there is no /proc.
proc_stat() {
  state=''
  started=''
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  # The command name (field 2) may hold spaces and parentheses: count from the last ') '.
  set -- ${stat##*) }
  state=$1
  started=${20}
}

# Sets `kept` to the lines of $1 but those equal to $2 ("line") or starting with "$2 " ("pid").
drop() {
  kept=''
  IFS=$nl
  for entry in $1; do
    case $3 in
    line) [ "$entry" = "$2" ] && continue ;;
    pid) case $entry in "$2 "*) continue ;; esac ;;
    esac
    kept=$kept$entry$nl
  done
  unset IFS
}

# True while an announced QEMU is still the process it was, and not a zombie.
any_alive() {
  IFS=$nl
  for entry in $qemus; do
    unset IFS
    set -- $entry
    proc_stat "$1"
    if [ -n "$started" ] && [ "$started" = "$2" ] && [ "$state" != Z ]; then return 0; fi
    IFS=$nl
  done
  unset IFS
  return 1
}

reap() {
  trap '' TERM
  IFS=$nl
  for entry in $qemus; do
    unset IFS
    set -- $entry
    proc_stat "$1"
    if [ -n "$started" ] && [ "$started" = "$2" ] && [ "$state" != Z ]; then kill -KILL "$1" 2>/dev/null; fi
    IFS=$nl
  done
  unset IFS
  # QEMU may still hold files in its dir for a moment; removing the dir under it would race.
  tries=0
  while [ "$tries" -lt 300 ] && any_alive; do
    sleep 0.01
    tries=$((tries + 1))
  done
  IFS=$nl
  for dir in $dirs; do rm -rf -- "$dir" 2>/dev/null; done
  exit 0
}

# A terminal's signals are for the owner; the owner's end is what we wait for.
trap '' INT HUP
# Someone ending the reaper itself (e.g. a shutdown): do its job first.
trap reap TERM

while IFS= read -r line; do
  case $line in
  'dir '?*) dirs=$dirs${line#dir }$nl ;;
  'done '?*)
    drop "$dirs" "${line#done }" line
    dirs=$kept
    ;;
  'qemu '*)
    pid=${line#qemu }
    case $pid in '' | *[!0-9]*) continue ;; esac
    proc_stat "$pid"
    qemus="$qemus$pid $started$nl"
    ;;
  'gone '*)
    drop "$qemus" "${line#gone }" pid
    qemus=$kept
    ;;
  esac
done
reap
