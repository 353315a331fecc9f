#!/usr/bin/env bash
# make docs: the site - every plugin and role page (antsibull-docs) and the guides (docs/*.md, through MyST) -
# as HTML in build/docs/html, with antsibull-docs' documentation lint first. Any Sphinx warning fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/build/docs
export PATH=$repo/.venv-docs/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$repo/tests/output/collections
(cd "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/sharedvirt/kvm" && antsibull-docs lint-collection-docs --plugin-docs .)
echo "docs: lint-collection-docs --plugin-docs is clean"
rm -rf "$out"
mkdir -p "$out"
mkdir -m 700 "$out/rst"  # antsibull-docs writes only into a directory no one else can write to
antsibull-docs collection --use-current --dest-dir "$out/rst" sharedvirt.kvm >/dev/null
mkdir "$out/rst/guides"
cp docs/*.md "$out/rst/guides/"
cp -r docs/migration docs/examples docs/images "$out/rst/guides/"
cp tools/docsite/index.rst tools/docsite/ansible-references.rst "$out/rst/"
sphinx-build -q -b html -c tools/docsite -W --keep-going "$out/rst" "$out/html"
echo "docs: $(find "$out/html" -name '*.html' | wc -l) pages in build/docs/html (open build/docs/html/index.html)"
