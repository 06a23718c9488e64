#!/bin/sh
# Builds the Debian packages of debian/ with Debian's tooling (dpkg-buildpackage,
# debhelper, dh_apache2) and checks them with lintian.  dpkg-buildpackage writes its
# outputs beside the source directory, so it builds a copy of the tree in
# build/deb/src/: the tree itself stays clean, and everything lands in build/deb/:
#   build/deb/*.deb (and *.ddeb, the debug symbols), build/deb/build.log,
#   build/deb/lintian.txt
# Exits non-zero when the build fails or lintian reports an error.
set -eu
cd "$(dirname "$0")/.."

version=$(sed -n 's/^#define TK_VERSION "\(.*\)"/\1/p' src/version.h)
changelog=$(dpkg-parsechangelog -S Version)
if [ "$version" != "$changelog" ]; then
    echo "build-deb: src/version.h says $version but debian/changelog $changelog:" \
        "add a debian/changelog entry for $version" >&2
    exit 1
fi

out=build/deb
src=$out/src/libapache2-mod-tls-tickets-$version
rm -rf "$out"
mkdir -p "$src"
# The sources as they are now (tracked files, and new ones not yet committed, without
# what .gitignore names: no build output or test-run leftovers); without git, the whole
# tree but build/.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -c -o --exclude-standard | while IFS= read -r f; do
        [ -e "$f" ] && printf '%s\n' "$f"
    done | tar -cf - -T - | tar -C "$src" -xf -
else
    tar --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

echo "build-deb: dpkg-buildpackage -b in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
fi
cp "$out"/src/*.deb "$out"/
cp "$out"/src/*.ddeb "$out"/ 2>/dev/null || true
ls -l "$out"/*.deb

# lintian exits non-zero on an error (its default --fail-on); warnings are printed.
# As root it warns that it runs as root, which says nothing of the packages.
echo "build-deb: lintian"
if ! lintian --info --display-experimental "$out"/src/*.changes > "$out/lintian.txt" 2>&1; then
    cat "$out/lintian.txt" >&2
    echo "build-deb: lintian reports an error ($out/lintian.txt)" >&2
    exit 1
fi
cat "$out/lintian.txt"
echo "build-deb: packages in $out/"
