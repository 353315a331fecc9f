# shellcheck shell=bash
# Sourced by tools/*.sh: stage_tree DEST copies the files git tracks (and new, not ignored ones) to
# DEST, so that builds and sanity see the collection without caches, venvs or test output.
stage_tree() {
  local dest=$1
  rm -rf "$dest"
  mkdir -p "$dest"
  local file
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    # a file deleted in the work tree but not yet in git is listed and skipped
    if [ -e "$file" ]; then cp --parents -a "$file" "$dest"; fi
  done
}
