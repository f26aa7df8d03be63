#!/usr/bin/env bash
# Builds the pinned kube-apiserver, kube-controller-manager (owner garbage
# collection, namespace deletion) and etcd (and kubectl, if the machine has
# none) from their official Go modules into the cache, once per pin.
# Prints the bin directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator
bin=$cache/bin
mkdir -p "$bin"

pin_of() { # module, go.mod -> version
  awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$2"
}

build() { # name, wrapper dir, package, output, ldflags
  local name=$1 dir=$2 package=$3 out=$4 ldflags=$5
  if [ -x "$out" ]; then return; fi
  echo "building $name into $out (once per pin; takes several minutes)" >&2
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$package")
  mv "$out.tmp" "$out"
}

apiserver_dir=$repo/tests/controlplane/kubernetes
k8s=$(pin_of k8s.io/kubernetes "$apiserver_dir/go.mod")
minor=$(echo "$k8s" | cut -d. -f2)
vpkg=k8s.io/component-base/version
build kube-apiserver "$apiserver_dir" k8s.io/kubernetes/cmd/kube-apiserver "$bin/kube-apiserver-$k8s" \
  "-s -w -X $vpkg.gitVersion=$k8s -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"

build kube-controller-manager "$apiserver_dir" k8s.io/kubernetes/cmd/kube-controller-manager \
  "$bin/kube-controller-manager-$k8s" \
  "-s -w -X $vpkg.gitVersion=$k8s -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"

etcd_dir=$repo/tests/controlplane/etcd
etcd=$(pin_of go.etcd.io/etcd/server/v3 "$etcd_dir/go.mod")
build etcd "$etcd_dir" go.etcd.io/etcd/server/v3 "$bin/etcd-$etcd" "-s -w"

if ! command -v kubectl >/dev/null 2>&1; then
  build kubectl "$apiserver_dir" k8s.io/kubernetes/cmd/kubectl "$bin/kubectl-$k8s" \
    "-s -w -X $vpkg.gitVersion=$k8s -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
  ln -sf "kubectl-$k8s" "$bin/kubectl"
fi

ln -sf "kube-apiserver-$k8s" "$bin/kube-apiserver"
ln -sf "kube-controller-manager-$k8s" "$bin/kube-controller-manager"
ln -sf "etcd-$etcd" "$bin/etcd"
echo "$bin"
