# Sourced by tools/*.sh: stage_tree DEST copies the files git tracks (and new, not ignored ones) to
# DEST, so that builds and sanity see the collection without caches, venvs or test output.
stage_tree() {
  local dest=$1
  rm -rf "$dest"
  mkdir -p "$dest"
  git ls-files -z --cached --others --exclude-standard \
    | xargs -0 -I{} sh -c 'test -e "$1" && cp --parents -a "$1" "$2"' _ {} "$dest"
}
