#!/bin/sh
# git-tracker hook: installed by `git tracker init`; `git tracker uninstall` puts back what was here.
# It must cost nothing when no window is open, so the common path uses shell builtins only:
# no fork, no Python. See docs/hooks.md.
# git-tracker-hook-version: 1
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

gt_spawn_flush() {
    # Notes are written by a detached flusher so the commit returns at once. mkdir is atomic: the
    # one commit that creates the marker starts the flusher; the others find it and leave their
    # stamp to that flusher, which re-reads the queue after it removes the marker.
    mkdir "$gt_state/flush.running" 2>/dev/null || return 0
    ("$GT_PYTHON" -P -m gittracker.hookrun flush "$PWD" </dev/null >/dev/null 2>&1 &)
}

gt_post_commit() {
    gt_agent=${AGENT_ID:-main}
    case $gt_agent in */* | .* | '') return 0 ;; esac
    # A rebase runs this hook once per commit it picks: those are rewrites of older commits, whose
    # notes git and post-rewrite carry over, so they are skipped. The rebase machinery writes
    # rebase-merge/author-script for each pick (and keeps it while a conflicted pick is resolved);
    # a commit the user makes at an edit stop (rebase-merge/amend), at a break, or from an exec line
    # is new work and is stamped.
    [ -d "$gt_git_dir/rebase-apply" ] && return 0
    if [ -f "$gt_git_dir/rebase-merge/author-script" ] && [ ! -f "$gt_git_dir/rebase-merge/amend" ]; then
        return 0
    fi
    if [ -f "$gt_git_dir/CHERRY_PICK_HEAD" ]; then
        read -r gt_picked < "$gt_git_dir/CHERRY_PICK_HEAD"
    else
        gt_picked=
    fi
    set -- "$gt_state/agents/$gt_agent/open/"*.note
    if [ ! -f "$1" ] && [ -z "$gt_picked" ]; then
        return 0
    fi
    read -r gt_head < "$gt_git_dir/HEAD" || return 0
    gt_sha=
    case $gt_head in
        "ref: "*) [ -f "$gt_common/${gt_head#ref: }" ] && read -r gt_sha < "$gt_common/${gt_head#ref: }" ;;
        *) gt_sha=$gt_head ;;
    esac
    [ -n "$gt_sha" ] || gt_sha=$(git rev-parse -q --verify HEAD 2>/dev/null) || return 0
    gt_queue=$gt_state/queue
    if [ -n "$gt_picked" ]; then
        printf 'copy %s %s\n' "$gt_picked" "$gt_sha" >> "$gt_queue"
    fi
    for gt_note do
        if [ -f "$gt_note" ] && read -r gt_line < "$gt_note"; then
            printf '%s %s\n' "$gt_sha" "$gt_line" >> "$gt_queue"
        fi
    done
    gt_spawn_flush
    return 0
}

gt_post_rewrite() {
    # git has already copied every flushed note (notes.rewriteRef); only stamps still queued (or
    # being flushed right now) need the old -> new mapping on stdin.
    set -- "$gt_state/queue"* "$gt_state/flush.running"
    for gt_pending do
        if [ -e "$gt_pending" ]; then
            printf '%s\n' "$gt_input" | "$GT_PYTHON" -P -m gittracker.hookrun post-rewrite "$gt_type" "$PWD"
            return 0
        fi
    done
    return 0
}

case $GT_HOOK in
    post-commit) gt_post_commit ;;
    post-rewrite) gt_type=$1; gt_post_rewrite ;;
esac
exit $gt_status
