#!/usr/bin/env bash
# Builds berth's test images from busybox-static, as image archives in OUTDIR:
#
#   busybox-docker.tar  docker-archive (`docker save` v1.2 layout), RepoTags berth.test/busybox:latest
#   busybox-oci.tar     OCI image layout archive, name berth.test/busybox:latest (gzip layer)
#   layers-docker.tar   docker-archive, berth.test/layers:latest, 4 uncompressed layers
#   layers-oci.tar      OCI archive, berth.test/layers:latest; layers gzip, tar, zstd, gzip
#   with --big also:
#   big-docker.tar, big-oci.tar   berth.test/big:latest: busybox + 5 layers of 20 MiB of
#                       incompressible data each (uncompressed layers), for benchmarks
#
# The busybox rootfs holds /bin/busybox, one symlink per applet (`busybox --list`), /etc/passwd,
# /etc/group, /root and /tmp (1777). The "layers" image stacks upper layers that exercise layer
# application: whiteouts (.wh.<name>) of a file and of a directory, an opaque directory
# (.wh..wh..opq), a hard link, relative and absolute symlinks, a file whose mode changes, and a
# file removed in one layer and recreated in the next. Its /expected.txt lists what the merged
# rootfs must look like (see below).
#
# Output is reproducible for a given busybox binary: entries sorted by name, mtime 0, uid/gid 0,
# gzip without name or timestamp; the big layers come from a fixed keystream (openssl) when
# openssl is installed, from /dev/urandom otherwise. Each archive is written to a temporary name
# and renamed, so re-running is safe and an interrupted run leaves no half-written archive.
#
# Usage: scripts/make-test-images.sh [--big] OUTDIR
# Needs: GNU tar, gzip, zstd, sha256sum, jq, /bin/busybox (busybox-static). Takes ~1 s without
# --big.
set -euo pipefail

usage() {
  echo "usage: $0 [--big] OUTDIR" >&2
  exit 2
}

big=0
out=""
for arg in "$@"; do
  case "$arg" in
    --big) big=1 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) [ -z "$out" ] || usage; out=$arg ;;
  esac
done
[ -n "$out" ] || usage

busybox_bin=${BUSYBOX:-/bin/busybox}
for tool in tar gzip zstd sha256sum jq; do
  command -v "$tool" >/dev/null || { echo "make-test-images: $tool is required" >&2; exit 1; }
done
[ -x "$busybox_bin" ] || { echo "make-test-images: $busybox_bin is required (busybox-static)" >&2; exit 1; }

umask 022
export LC_ALL=C TZ=UTC
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-images.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  armv7l | armv6l) arch=arm ;;
  i?86) arch=386 ;;
  *) arch=$(uname -m) ;;
esac

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# tar_dir DIR OUT: a reproducible layer tar of DIR's contents (names relative, no "./").
tar_dir() {
  local dir=$1 tarball=$2
  local -a names=()
  mapfile -t names < <(cd "$dir" && ls -A | sort)
  tar -C "$dir" --sort=name --format=gnu --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$tarball" -- "${names[@]}"
}

# Blob store for one image build: put_blob FILE -> prints the digest hex and copies the file to
# $blobs/<hex>.
put_blob() {
  local f=$1 h
  h=$(sha "$f")
  [ -e "$blobs/$h" ] || cp "$f" "$blobs/$h"
  echo "$h"
}

# --- root file systems ---------------------------------------------------------------------------

make_busybox_root() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp"
  install -m 0755 "$busybox_bin" "$root/bin/busybox"
  for applet in $("$busybox_bin" --list | sort -u); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
  chmod 0644 "$root/etc/passwd" "$root/etc/group"
  chmod 0700 "$root/root"
  chmod 1777 "$root/tmp"
}

# The "layers" image: layer 1 is busybox; layers 2-4 change it. Each upper layer is a directory
# of changes in the image-spec's change set format (whiteouts as .wh. files).
make_layer_roots() {
  local base=$1
  local l2=$base/l2 l3=$base/l3 l4=$base/l4
  make_busybox_root "$base/l1"
  # layer 2: the lower content the later layers change.
  mkdir -p "$l2/data/sub" "$l2/opaque/nested" "$l2/gone/deeper"
  echo keep >"$l2/data/keep.txt"
  echo remove >"$l2/data/remove-me.txt"
  echo sub >"$l2/data/sub/file.txt"
  echo old1 >"$l2/opaque/old1.txt"
  echo old2 >"$l2/opaque/nested/old2.txt"
  echo gone >"$l2/gone/deeper/file.txt"
  printf '#!/bin/sh\necho mode\n' >"$l2/mode.sh"
  chmod 0644 "$l2/mode.sh"
  echo v1 >"$l2/recreate.txt"
  # layer 3: whiteouts, an opaque dir, a hard link, symlinks, a mode change.
  mkdir -p "$l3/data" "$l3/opaque"
  : >"$l3/data/.wh.remove-me.txt"
  : >"$l3/.wh.gone"
  : >"$l3/.wh.recreate.txt"
  : >"$l3/opaque/.wh..wh..opq"
  echo new1 >"$l3/opaque/new1.txt"
  echo linked >"$l3/data/linked.txt"
  ln "$l3/data/linked.txt" "$l3/data/hardlink.txt"
  ln -s keep.txt "$l3/data/rel-link"
  ln -s /bin/busybox "$l3/abs-link"
  ln -s data/sub "$l3/dir-link"
  printf '#!/bin/sh\necho mode\n' >"$l3/mode.sh"
  chmod 0755 "$l3/mode.sh"
  # layer 4: the removed file comes back with new content; the expected result of the merge.
  mkdir -p "$l4"
  echo v3 >"$l4/recreate.txt"
  cat >"$l4/expected.txt" <<'EOF'
/data/keep.txt           file "keep"
/data/remove-me.txt      absent (whiteout in layer 3)
/data/sub/file.txt       file "sub"
/data/linked.txt         file "linked", hard link with /data/hardlink.txt
/data/rel-link           symlink -> keep.txt
/abs-link                symlink -> /bin/busybox
/dir-link                symlink -> data/sub
/gone                    absent (directory whited out in layer 3)
/opaque/new1.txt         file "new1"
/opaque/old1.txt         absent (opaque directory in layer 3)
/opaque/nested           absent (opaque directory in layer 3)
/mode.sh                 mode 0755
/recreate.txt            file "v3" (removed in layer 3, recreated in layer 4)
EOF
}

# make_big_roots BASE: busybox plus 5 layers of 20 MiB of incompressible data.
make_big_roots() {
  local base=$1 i
  make_busybox_root "$base/l1"
  for i in 1 2 3 4 5; do
    mkdir -p "$base/l$((i + 1))/big"
    if command -v openssl >/dev/null; then
      openssl enc -aes-128-ctr -nosalt -pass "pass:berth-$i" -pbkdf2 </dev/zero 2>/dev/null |
        head -c $((20 * 1024 * 1024)) >"$base/l$((i + 1))/big/data$i.bin" || true
    else
      head -c $((20 * 1024 * 1024)) /dev/urandom >"$base/l$((i + 1))/big/data$i.bin"
    fi
    chmod 0644 "$base/l$((i + 1))/big/data$i.bin"
  done
}

# --- image assembly ------------------------------------------------------------------------------

# config_json DIFF_ID... : the image config (docker and OCI share the format).
config_json() {
  local ids
  ids=$(printf 'sha256:%s\n' "$@" | jq -R . | jq -cs .)
  jq -cn --arg arch "$arch" --argjson ids "$ids" '{
    architecture: $arch,
    config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             Cmd: ["sh"]},
    created: "1970-01-01T00:00:00Z",
    history: [$ids[] | {created: "1970-01-01T00:00:00Z", created_by: "make-test-images.sh"}],
    os: "linux",
    rootfs: {type: "layers", diff_ids: $ids}
  }'
}

# build_image NAME REF ROOTS_DIR NLAYERS COMPRESSIONS
#   Writes NAME-docker.tar and NAME-oci.tar for the layer roots ROOTS_DIR/l1..lN. COMPRESSIONS is
#   one word per layer for the OCI archive: gzip, zstd or none (the docker archive keeps every
#   layer uncompressed, as `docker save` does).
build_image() {
  local name=$1 ref=$2 roots=$3 n=$4
  local -a comps
  read -r -a comps <<<"$5"
  local img=$work/img-$name
  mkdir -p "$img/layers"
  local -a diff_ids=()
  local i
  for ((i = 1; i <= n; i++)); do
    tar_dir "$roots/l$i" "$img/layers/$i.tar"
    diff_ids+=("$(sha "$img/layers/$i.tar")")
  done
  config_json "${diff_ids[@]}" | tr -d '\n' >"$img/config.json"
  local config_hex
  config_hex=$(sha "$img/config.json")
  local repo=${ref%:*} tag=${ref##*:}

  # docker-archive: <id>/{VERSION,json,layer.tar}, <config hex>.json, manifest.json, repositories.
  local d=$img/docker
  mkdir -p "$d"
  cp "$img/config.json" "$d/$config_hex.json"
  local parent="" chain="" id
  local -a layer_paths=()
  for ((i = 1; i <= n; i++)); do
    # The legacy v1 id: any stable hex string; use the chain of diff ids.
    chain=$(printf '%s %s' "$chain" "${diff_ids[i - 1]}" | sha256sum | cut -d' ' -f1)
    id=$chain
    mkdir -p "$d/$id"
    printf '1.0' >"$d/$id/VERSION"
    jq -cn --arg id "$id" --arg parent "$parent" \
      '{id: $id, created: "1970-01-01T00:00:00Z"} + (if $parent == "" then {} else {parent: $parent} end)' |
      tr -d '\n' >"$d/$id/json"
    cp "$img/layers/$i.tar" "$d/$id/layer.tar"
    layer_paths+=("$id/layer.tar")
    parent=$id
  done
  jq -cn --arg config "$config_hex.json" --arg ref "$ref" \
    --argjson layers "$(printf '%s\n' "${layer_paths[@]}" | jq -R . | jq -cs .)" \
    '[{Config: $config, RepoTags: [$ref], Layers: $layers}]' | tr -d '\n' >"$d/manifest.json"
  jq -cn --arg repo "$repo" --arg tag "$tag" --arg id "$id" '{($repo): {($tag): $id}}' |
    tr -d '\n' >"$d/repositories"
  find "$d" -type f -exec chmod 0644 {} + 
  tar_dir "$d" "$out/.$name-docker.tar.tmp"
  mv -f "$out/.$name-docker.tar.tmp" "$out/$name-docker.tar"

  # OCI layout: oci-layout, index.json, blobs/sha256/<hex>.
  local o=$img/oci
  blobs=$o/blobs/sha256
  mkdir -p "$blobs"
  local layers_json="[]" f mt h
  for ((i = 1; i <= n; i++)); do
    case "${comps[i - 1]:-none}" in
      gzip) gzip -n -6 -c "$img/layers/$i.tar" >"$img/layers/$i.tar.gz"
        f=$img/layers/$i.tar.gz; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
      zstd) zstd -q -3 --no-check -c "$img/layers/$i.tar" >"$img/layers/$i.tar.zst"
        f=$img/layers/$i.tar.zst; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
      none) f=$img/layers/$i.tar; mt=application/vnd.oci.image.layer.v1.tar ;;
      *) echo "make-test-images: unknown compression ${comps[i - 1]}" >&2; exit 1 ;;
    esac
    h=$(put_blob "$f")
    layers_json=$(jq -c --arg mt "$mt" --arg h "$h" --argjson size "$(size "$f")" \
      '. + [{mediaType: $mt, digest: ("sha256:" + $h), size: $size}]' <<<"$layers_json")
  done
  h=$(put_blob "$img/config.json")
  jq -cn --arg h "$h" --argjson size "$(size "$img/config.json")" --argjson layers "$layers_json" '{
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json",
             digest: ("sha256:" + $h), size: $size},
    layers: $layers
  }' | tr -d '\n' >"$img/manifest.json"
  h=$(put_blob "$img/manifest.json")
  jq -cn --arg h "$h" --argjson size "$(size "$img/manifest.json")" --arg ref "$ref" \
    --arg tag "$tag" --arg arch "$arch" '{
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
                 digest: ("sha256:" + $h), size: $size,
                 annotations: {"io.containerd.image.name": $ref,
                               "org.opencontainers.image.ref.name": $tag},
                 platform: {architecture: $arch, os: "linux"}}]
  }' | tr -d '\n' >"$o/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$o/oci-layout"
  find "$o" -type f -exec chmod 0644 {} +
  tar_dir "$o" "$out/.$name-oci.tar.tmp"
  mv -f "$out/.$name-oci.tar.tmp" "$out/$name-oci.tar"
}

make_busybox_root "$work/busybox/l1"
build_image busybox berth.test/busybox:latest "$work/busybox" 1 "gzip"

make_layer_roots "$work/layers"
build_image layers berth.test/layers:latest "$work/layers" 4 "gzip none zstd gzip"

if [ "$big" = 1 ]; then
  make_big_roots "$work/big"
  build_image big berth.test/big:latest "$work/big" 6 "gzip none none none none none"
fi
