#!/usr/bin/env bash
# A Ray cluster of three "machines" on this one: a head and two workers standing in for
# Raspberry Pis, for trying `ray up cluster.yaml` where no second machine exists.
#
#   bash scripts/cluster_local.sh up      # nodes + sshd; writes $STATE/cluster.yaml
#   .venv/bin/ray up -y $STATE/cluster.yaml   (run from the project folder: file_mounts use ".")
#   bash scripts/cluster_local.sh down    # ray down, then every process, namespace and link it made
#   bash scripts/cluster_local.sh kill w1 # "unplug" a node: every process in it dies at once
#
# Each node is a network namespace (own address on a private bridge, 10.77.0.0/24) and a
# PID, mount and UTS namespace (own process table, so `ray stop` on one node cannot kill
# another's processes; own /root and /tmp, so each node has its own home (~/hwnas,
# ~/ray_bootstrap_*) and its own /tmp/ray; own hostname). sshd runs as the node's first
# process: killing it takes every process of the node with it (the kernel ends a PID
# namespace with its init). The root namespace gets 10.77.0.1 on the bridge so `ray up`
# can ssh to the head. Keys are generated under $STATE; ~/.ssh is never read or written.
# Needs root (ip netns, mount). Everything made is recorded under $STATE and removed by
# `down` by those records. Traffic: the nodes' only route is the bridge (no gateway, no
# forwarding), so nothing leaves the namespaces this script made.
set -euo pipefail

STATE=${HWNAS_CLUSTER_STATE:-/var/tmp/hwnas-cluster-local}
PROJECT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${HWNAS_VENV:-$PROJECT/.venv}
SUBNET=10.77.0
BRIDGE=hwnas-br0
NODES=(head w1 w2)
declare -A ADDR=([head]=$SUBNET.10 [w1]=$SUBNET.11 [w2]=$SUBNET.12)

die() { echo "cluster_local: $*" >&2; exit 2; }
ns() { echo "hwnas-$1"; }

need_packages() {
  local missing=()
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null || missing+=(openssh-client)
  command -v rsync >/dev/null || missing+=(rsync)   # ray up copies file_mounts with rsync
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

write_sshd_config() {  # $1 node
  local d=$STATE/$1
  cat >"$d/sshd_config" <<EOF
ListenAddress ${ADDR[$1]}
Port 22
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
StrictModes no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
EOF
}

node_up() {  # $1 node
  local node=$1 n; n=$(ns "$1")
  local d=$STATE/$node veth=hwv-$node
  mkdir -p "$d/home/.ssh" "$d/tmp" "$d/home/hwnas"
  chmod 700 "$d/home" "$d/home/.ssh"; chmod 1777 "$d/tmp"
  cp "$STATE/id_ed25519.pub" "$d/home/.ssh/authorized_keys"
  touch "$d/home/.bashrc"  # ray up sources ~/.bashrc on every node
  # the nodes share this machine's disk and its venv: ~/hwnas/.venv points at it
  # (a real node builds its own in setup_commands; rsync_exclude keeps .venv untouched)
  ln -sfn "$VENV" "$d/home/hwnas/.venv"
  ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key" <<<y >/dev/null 2>&1 || true
  write_sshd_config "$node"

  ip netns add "$n"; echo "$n" >>"$STATE/netns"
  ip link add "$veth" type veth peer name eth0 netns "$n"; echo "$veth" >>"$STATE/links"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$n" link set lo up
  ip -n "$n" addr add "${ADDR[$node]}/24" dev eth0
  ip -n "$n" link set eth0 up
  # on-link default route, no gateway: Ray finds its node address by "connecting" a UDP
  # socket to a public address (no packet is sent); anything real would only ARP on the bridge
  ip -n "$n" route add default dev eth0

  # new PID/mount/UTS namespaces; sshd becomes the node's init (PID 1)
  # The venv's Python may live under the real /root (pyenv): the node's own /root then
  # shows it, read-only, at the same path.
  local shared=() py; py=$(readlink -f "$VENV/bin/python")
  case "$py" in /root/*) shared+=("/root/$(echo "${py#/root/}" | cut -d/ -f1)") ;; esac
  local binds=""
  for s in "${shared[@]}"; do
    mkdir -p "$d/home/${s#/root/}"
    binds+="mount --bind '$s' '$d/home/${s#/root/}' && mount -o remount,bind,ro '$d/home/${s#/root/}'; "
  done
  ip netns exec "$n" unshare --pid --fork --mount-proc --uts --propagation private /bin/sh -c "
    hostname hwnas-$node
    $binds
    mount --rbind '$d/home' /root
    mount --bind '$d/tmp' /tmp
    mkdir -p /run/sshd
    exec /usr/sbin/sshd -D -f '$d/sshd_config' -E '$d/sshd.log'" </dev/null >>"$d/node.log" 2>&1 &
  echo $! >"$d/unshare.pid"
}

wait_ssh() {  # $1 node
  local i
  for i in $(seq 1 50); do
    if ssh "${SSH_OPTS[@]}" "root@${ADDR[$1]}" true 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  die "sshd on node $1 (${ADDR[$1]}) did not answer; see $STATE/$1/sshd.log"
}

write_cluster_yaml() {
  "$VENV/bin/python" - "$PROJECT/cluster.yaml" "$STATE/cluster.yaml" "$STATE/id_ed25519" \
      "${ADDR[head]}" "${ADDR[w1]}" "${ADDR[w2]}" <<'EOF'
import sys, yaml
src, dst, key, head, *workers = sys.argv[1:]
cfg = yaml.safe_load(open(src))
cfg["provider"]["head_ip"], cfg["provider"]["worker_ips"] = head, workers
cfg["auth"] = {"ssh_user": "root", "ssh_private_key": key}
# The nodes share this machine's disk and the project's venv (~/hwnas/.venv links to it),
# so setup_commands only check that the venv is there instead of building one.
cfg["setup_commands"] = ["test -x ~/hwnas/.venv/bin/python && test -x ~/hwnas/.venv/bin/ray"]
head_note = ("# Written by scripts/cluster_local.sh from cluster.yaml for three namespaced nodes on\n"
             "# this machine. Changed: provider (addresses), auth (generated key, root), and\n"
             "# setup_commands: the nodes share this machine's disk and the project's venv\n"
             "# (~/hwnas/.venv links to it), so they only check that the venv exists.\n"
             "# Everything else (file_mounts, rsync_exclude, start commands) is cluster.yaml's.\n")
with open(dst, "w") as f:
    f.write(head_note + yaml.safe_dump(cfg, sort_keys=False))
EOF
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (ip netns, mount namespaces)"
  [ -x "$VENV/bin/ray" ] || die "no venv with ray at $VENV (set HWNAS_VENV)"
  # each node mounts its own /tmp: a venv under /tmp would be invisible to the nodes
  case "$(readlink -f "$VENV")" in /tmp/*) die "the venv $VENV is under /tmp, which each node replaces with its own; use a project (or HWNAS_VENV) outside /tmp";; esac
  [ -e "$STATE/netns" ] && die "already up (state in $STATE); run: $0 down"
  ip -o addr | grep -q " $SUBNET\." && die "subnet $SUBNET.0/24 is already in use here"
  need_packages
  mkdir -p "$STATE"; : >"$STATE/netns"; : >"$STATE/links"
  ssh-keygen -q -t ed25519 -N '' -C hwnas-cluster-local -f "$STATE/id_ed25519" <<<y >/dev/null 2>&1 || true
  ip link add "$BRIDGE" type bridge; echo "$BRIDGE" >>"$STATE/links"
  ip addr add "$SUBNET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for node in "${NODES[@]}"; do node_up "$node"; done
  for node in "${NODES[@]}"; do wait_ssh "$node"; done
  write_cluster_yaml
  echo "nodes up: head ${ADDR[head]}, workers ${ADDR[w1]} ${ADDR[w2]} (ssh key $STATE/id_ed25519)"
  echo "cluster config: $STATE/cluster.yaml"
}

kill_node() {  # $1 node: its init dies, the kernel kills every other process of the node
  local pidfile=$STATE/$1/unshare.pid
  [ -f "$pidfile" ] || return 0
  local outer init; outer=$(cat "$pidfile")
  # unshare --fork: the node's init is unshare's child
  init=$(cat "/proc/$outer/task/$outer/children" 2>/dev/null | awk '{print $1}') || true
  [ -n "$init" ] && kill -KILL "$init" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$outer" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$outer" 2>/dev/null || true
  rm -f "$pidfile"
}

down() {
  [ -d "$STATE" ] || { echo "nothing to bring down ($STATE absent)"; return 0; }
  if [ -f "$STATE/cluster.yaml" ] && [ -f "$STATE/unshare.pid" -o -f "$STATE/head/unshare.pid" ]; then
    (cd "$PROJECT" && timeout 120 "$VENV/bin/ray" down -y "$STATE/cluster.yaml") || echo "ray down failed; killing the nodes"
  fi
  for node in "${NODES[@]}"; do kill_node "$node"; done
  if [ -f "$STATE/netns" ]; then
    while read -r n; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null || true; done <"$STATE/netns"
  fi
  if [ -f "$STATE/links" ]; then  # veths die with their namespace; the bridge is ours to delete
    while read -r l; do [ -n "$l" ] && ip link del "$l" 2>/dev/null || true; done <"$STATE/links"
  fi
  # ray up's own records of this cluster on this machine: the local provider's state
  # and the config cache, only those naming these nodes
  local f
  for f in /tmp/ray/cluster-hwnas.state /tmp/ray-config-*; do
    if [ -f "$f" ] && grep -qs -e "$STATE" -e "\"$SUBNET\.1[0-2]\"" "$f"; then
      rm -f "$f"; [ "$f" = /tmp/ray/cluster-hwnas.state ] && rm -f /tmp/ray/cluster-hwnas.lock
    fi
  done
  # ray up's ssh control sockets for this cluster: /tmp/ray_ssh_<sha256(user)>/<sha256(cluster name)>,
  # each hash cut to 10 characters (ray.autoscaler._private.command_runner)
  local name; name=$(sed -n 's/^cluster_name: *//p' "$STATE/cluster.yaml" 2>/dev/null | head -1)
  if [ -n "$name" ]; then
    local control; control=/tmp/ray_ssh_$(printf %s "$(id -un)" | sha256sum | cut -c1-10)
    rm -rf "$control/$(printf %s "$name" | sha256sum | cut -c1-10)"
    rmdir "$control" 2>/dev/null || true  # only when no other cluster's sockets are left in it
  fi
  rm -rf "$STATE"
  echo "cluster down: namespaces, links, processes and ssh control sockets removed"
}

SSH_OPTS=(-i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o LogLevel=ERROR -o ConnectTimeout=2 -o BatchMode=yes)
case "${1:-}" in
  up) up ;;
  down) down ;;
  kill) [ -n "${2:-}" ] && [ -n "${ADDR[${2}]:-}" ] || die "usage: $0 kill head|w1|w2"; kill_node "$2" ;;
  ssh) shift; node=$1; shift; exec ssh "${SSH_OPTS[@]}" "root@${ADDR[$node]}" "$@" ;;
  *) die "usage: $0 up|down|kill NODE|ssh NODE [COMMAND]" ;;
esac
