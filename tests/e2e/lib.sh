# shellcheck shell=bash
# Helpers the e2e suites share (run.sh, rootless.sh), sourced: diagnostics
# on stderr, ending processes, the processes a run tagged ($SNE2E_TAG),
# setup steps that set SETUP_ERR.

diag() { printf '# %s\n' "$*" >&2; }

diag_file() { # diag_file LABEL FILE: the tail of FILE on stderr
    [[ -s $2 ]] || return 0
    printf '#   --- %s (%s)\n' "$1" "${2##*/}" >&2
    tail -n 15 -- "$2" | cut -c1-300 | sed 's/^/#   /' >&2
}

wait_gone() { # wait_gone TENTHS PID...: true once none of PIDs is alive
    local n=$1 p alive
    shift
    while ((n-- > 0)); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || return 0
        sleep 0.1
    done
    return 1
}

end_pids() { # end_pids PID...: TERM, up to 3 s, then KILL
    (($#)) || return 0
    kill -TERM "$@" 2>/dev/null
    wait_gone 30 "$@" || kill -KILL "$@" 2>/dev/null
    wait_gone 20 "$@"
}

tagged_pids() { # processes (other than this shell) carrying $SNE2E_TAG
    local d p e env
    TAGGED=()
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        [[ $p == "$$" ]] && continue
        mapfile -d '' env 2>/dev/null <"$d/environ" || continue
        for e in "${env[@]}"; do
            if [[ $e == "SNE2E_TAG=$SNE2E_TAG" ]]; then
                TAGGED+=("$p")
                break
            fi
        done
    done
}

must() { # must DESCRIPTION ARGV...
    local d=$1 out
    shift
    if ! out=$("$@" 2>&1 </dev/null); then
        SETUP_ERR="$d: $(printf '%s' "$out" | tail -n 1)"
        return 1
    fi
}

wait_for() { # wait_for TENTHS DESCRIPTION ARGV...: until ARGV succeeds
    local n=$1 d=$2
    shift 2
    while ((n-- > 0)); do
        "$@" >/dev/null 2>&1 </dev/null && return 0
        sleep 0.1
    done
    SETUP_ERR="$d not ready"
    return 1
}
