#!/bin/sh
# git-tracker hook: installed by `git tracker init`; `git tracker uninstall` puts back what was here.
# It must cost nothing when no window is open, so the common path uses shell builtins only:
# no fork, no Python. See docs/hooks.md.
# git-tracker-hook-version: 3
# -P: never put the work tree on Python's import path (a repository must not be able to shadow us).
GT_PYTHON='@PYTHON@'
GT_HOOK='@HOOK@'
GT_LEGACY="$0.pre-tracker"

gt_status=0
if [ "$GT_HOOK" = post-rewrite ]; then
    gt_input=$(cat)
    if [ -x "$GT_LEGACY" ]; then
        printf '%s\n' "$gt_input" | "$GT_LEGACY" "$@" || gt_status=$?
    fi
elif [ -x "$GT_LEGACY" ]; then
    "$GT_LEGACY" "$@" || gt_status=$?
fi

# Locate the git dir and the common dir (worktrees share the latter) without running git.
gt_git_dir=${GIT_DIR:-.git}
if [ -f "$gt_git_dir" ]; then
    read -r _ gt_git_dir < "$gt_git_dir" || exit $gt_status
fi
gt_common=$gt_git_dir
if [ -f "$gt_git_dir/commondir" ]; then
    read -r gt_rel < "$gt_git_dir/commondir"
    case $gt_rel in
        /*) gt_common=$gt_rel ;;
        *) gt_common=$gt_git_dir/$gt_rel ;;
    esac
fi
gt_state=$gt_common/tracker
[ -d "$gt_state" ] || exit $gt_status

gt_nl='
'

gt_agent_lines() {
    # The note lines of agent $1's open windows, one per line, into gt_lines; false when it has none.
    case $1 in */* | .* | '') return 1 ;; esac
    gt_lines=
    for gt_note in "$gt_state/agents/$1/open/"*.note; do
        if [ -f "$gt_note" ] && read -r gt_line < "$gt_note" && [ -n "$gt_line" ]; then
            gt_lines=$gt_lines$gt_line$gt_nl
        fi
    done
    [ -n "$gt_lines" ]
}

gt_session_lines() {
    # A coding agent's session in the commit's environment ($2, provider $1): its agent is
    # <provider>-<first 8 characters>, cut by parameter expansion (no fork), all of an id shorter than that.
    gt_after8=${2#????????}
    gt_first8=${2%"$gt_after8"}
    gt_agent_lines "$1-${gt_first8:-$2}"
}

gt_marked_lines() {
    # The automatic windows marked in this worktree (<worktree git dir>/tracker-auto/<agent>, holding the window
    # id) that are still open: their note lines into gt_lines, their ids into gt_shared when there are several.
    gt_lines=
    gt_ids=
    gt_count=0
    for gt_mark in "$gt_git_dir/tracker-auto/"*; do
        [ -f "$gt_mark" ] || continue
        gt_wid=
        { read -r gt_wid || [ -n "$gt_wid" ]; } 2>/dev/null < "$gt_mark" || continue
        [ -n "$gt_wid" ] || continue
        gt_mark_agent=${gt_mark##*/}
        for gt_note in "$gt_state/agents/$gt_mark_agent/open/"*.note; do
            [ -f "$gt_note" ] && read -r gt_line 2>/dev/null < "$gt_note" || continue
            case $gt_line in
                *"\"id\":\"$gt_wid\""*)
                    gt_lines=$gt_lines$gt_line$gt_nl
                    gt_ids="$gt_ids $gt_wid"
                    gt_count=$((gt_count + 1))
                    ;;
            esac
        done
    done
    [ "$gt_count" -gt 1 ] && gt_shared=$gt_ids
    [ -n "$gt_lines" ]
}

gt_choose_lines() {
    # Which windows this commit belongs to (docs/hooks.md#attribution), first match wins: AGENT_ID when set;
    # else the agent of a session the commit's environment names, when it has a window open; else agent main's
    # open windows; else the automatic windows marked in this worktree (several: the commit is shared).
    gt_lines=
    gt_shared=
    if [ -n "${AGENT_ID:-}" ]; then
        gt_agent_lines "$AGENT_ID"
        return 0
    fi
    [ -n "${CLAUDE_CODE_SESSION_ID:-}" ] && gt_session_lines claude "$CLAUDE_CODE_SESSION_ID" && return 0
    [ -n "${CODEX_THREAD_ID:-}" ] && gt_session_lines codex "$CODEX_THREAD_ID" && return 0
    [ -n "${CODEX_SESSION_ID:-}" ] && gt_session_lines codex "$CODEX_SESSION_ID" && return 0
    gt_agent_lines main && return 0
    gt_marked_lines
    return 0
}

gt_commit_windows() {
    # post-commit: false when there is nothing to queue, else gt_lines (and gt_shared, gt_picked) say what.
    case ${AGENT_ID:-main} in */* | .*) return 1 ;; esac
    # A rebase runs this hook once per commit it picks: those are rewrites of older commits, whose
    # notes git and post-rewrite carry over, so they are skipped. The rebase machinery writes
    # rebase-merge/author-script for each pick (and keeps it while a conflicted pick is resolved);
    # a commit the user makes at an edit stop (rebase-merge/amend), at a break, or from an exec line
    # is new work and is stamped.
    [ -d "$gt_git_dir/rebase-apply" ] && return 1
    if [ -f "$gt_git_dir/rebase-merge/author-script" ] && [ ! -f "$gt_git_dir/rebase-merge/amend" ]; then
        return 1
    fi
    if [ -f "$gt_git_dir/CHERRY_PICK_HEAD" ]; then
        read -r gt_picked < "$gt_git_dir/CHERRY_PICK_HEAD"
    else
        gt_picked=
    fi
    gt_choose_lines
    [ -n "$gt_lines" ] || [ -n "$gt_picked" ]
}

# The common case, a commit no window claims, ends here: the rest of this script is not even parsed.
if [ "$GT_HOOK" = post-commit ]; then
    gt_commit_windows || exit $gt_status
fi

gt_spawn_flush() {
    # Notes are written by a detached flusher so the commit returns at once. mkdir is atomic: the
    # one commit that creates the marker starts the flusher; the others find it and leave their
    # stamp to that flusher, which re-reads the queue after it removes the marker.
    mkdir "$gt_state/flush.running" 2>/dev/null || return 0
    ("$GT_PYTHON" -P -m gittracker.hookrun flush "$PWD" </dev/null >/dev/null 2>&1 &)
}

gt_is_id() {
    # A full object id (SHA-1 or SHA-256), so nothing else (a symbolic ref's "ref: ...") gets queued.
    case $1 in *[!0-9a-f]*) return 1 ;; esac
    [ ${#1} -eq 40 ] || [ ${#1} -eq 64 ]
}

gt_append() {
    # One line, one write, O_APPEND: concurrent hooks never interleave. On a full disk or a read-only
    # state dir the shell's own message is swallowed; the caller says what was lost, in one line.
    { printf '%s\n' "$1" >> "$gt_state/queue"; } 2>/dev/null
}

gt_cannot_queue() {
    if [ -w "$gt_state" ]; then
        gt_why="writing $gt_state/queue failed (is the disk full?)"
    else
        gt_why="$gt_state is not writable"
    fi
    printf 'git-tracker: %s: could not queue %s: %s; %s\n' "$GT_HOOK" "$1" "$gt_why" "$2" >&2
}

gt_post_commit() {
    # gt_commit_windows (above) found what to queue: the windows' note lines, a cherry-pick.
    read -r gt_head < "$gt_git_dir/HEAD" || return 0
    gt_sha=
    case $gt_head in
        "ref: "*) [ -f "$gt_common/${gt_head#ref: }" ] && read -r gt_sha < "$gt_common/${gt_head#ref: }" ;;
        *) gt_sha=$gt_head ;;
    esac
    # A packed ref, or a branch that is itself a symbolic ref ("ref: refs/heads/main"): ask git.
    gt_is_id "$gt_sha" || gt_sha=$(git rev-parse -q --verify HEAD 2>/dev/null) || return 0
    gt_is_id "$gt_sha" || return 0
    gt_queued=yes
    if [ -n "$gt_picked" ] && gt_is_id "$gt_picked"; then
        gt_append "copy $gt_picked $gt_sha" || gt_queued=
    fi
    while [ -n "$gt_lines" ]; do
        gt_append "$gt_sha ${gt_lines%%"$gt_nl"*}" || gt_queued=
        gt_lines=${gt_lines#*"$gt_nl"}
    done
    if [ -n "$gt_shared" ]; then
        gt_append "shared $gt_sha$gt_shared" || gt_queued=
    fi
    if [ -z "$gt_queued" ]; then
        gt_cannot_queue "the stamp for $gt_sha" 'your commit is fine; `git tracker doctor` restores it'
        return 0
    fi
    gt_spawn_flush
    return 0
}

gt_post_rewrite() {
    # git has already copied every written note (notes.rewriteRef). Queue its old -> new mapping: the
    # flusher carries over stamps that were still queued and notes on each new commit which commit it
    # replaces, so churn counts the work once (docs/hooks.md#rewrites). Builtins only: the mapping is
    # split into words, two ids per line (git passes no extra fields today; anything else is skipped).
    [ -n "$gt_input" ] || return 0
    case $gt_type in amend | rebase) ;; *) gt_type=rebase ;; esac
    set -f
    # shellcheck disable=SC2086 # word splitting is the point
    set -- $gt_input
    set +f
    gt_failed=
    while [ $# -ge 2 ]; do
        if gt_is_id "$1" && gt_is_id "$2"; then
            gt_append "rewrite $1 $2 $gt_type" || gt_failed=$1
            shift 2
        else
            shift 1
        fi
    done
    if [ -n "$gt_failed" ]; then
        gt_cannot_queue "the rewrite of $gt_failed" 'your commits are fine (churn then tells copies from originals by their author lines)'
        return 0
    fi
    # With no window open the lines can wait: every command that reads notes writes the queue first,
    # and a rebase in a repository nobody is tracking right now costs no Python.
    set -- "$gt_state"/agents/*/open/*.note
    [ -f "$1" ] && gt_spawn_flush
    return 0
}

gt_pre_push() {
    # Sync on push (docs/sync.md#sync-on-push): off unless `init --sync-on-push` left its switch. A push a
    # chained hook refused does not go out, so nothing follows it. The sync runs in the background once
    # git push ($PPID) has exited: the push waits for one fork, never for the network. Python starts only
    # then too (a start-up competing with the push for the CPU showed as ~60 ms on a busy machine), and
    # the wait is bounded (18000 x 50 ms = 15 min).
    [ "$gt_status" -eq 0 ] && [ -f "$gt_state/sync-on-push" ] || return 0
    gt_push_pid=$PPID
    (
        gt_waited=0
        while kill -0 "$gt_push_pid" 2>/dev/null && [ "$gt_waited" -lt 18000 ]; do
            sleep 0.05 2>/dev/null || sleep 1
            gt_waited=$((gt_waited + 1))
        done
        exec "$GT_PYTHON" -P -m gittracker.hookrun after-push "$PWD" "$1" "$gt_push_pid"
    ) </dev/null >/dev/null 2>&1 &
    return 0
}

case $GT_HOOK in
    post-commit) gt_post_commit ;;
    post-rewrite) gt_type=$1; gt_post_rewrite ;;
    pre-push) gt_pre_push "$@" ;;
esac
exit $gt_status
