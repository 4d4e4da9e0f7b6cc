#!/bin/bash
# Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#
# The NAT lab: an "internet" and home networks behind real Linux NATs, built from network
# namespaces, veth pairs and nftables, so Potluck nodes can be run across home routers on one
# machine (spec/0021-reachability.md §7). Needs root, iproute2, nftables, miniupnpd-nftables
# and python3. Nothing leaves the lab's namespaces; the host's own namespace is never touched.
#
#   lab.sh up LAB                      build the lab (LAB: a short name, 2 to 6 of a-z 0-9)
#   lab.sh down LAB                    stop its processes and remove its namespaces and files
#   lab.sh exec LAB HOST CMD...        run CMD inside HOST's namespace
#   lab.sh node LAB HOST [ARGS...]     start `potluck node` in HOST (data in $DIR/HOST), wait ready
#   lab.sh potluck LAB HOST ARGS...    run the CLI in HOST against that node
#   lab.sh spawn LAB HOST NAME CMD...  start CMD in HOST in the background (output in $DIR/NAME.log)
#   lab.sh hosts                       list the hosts and what they stand for
#
# POTLUCK names the binary (default: .build/debug/potluck beside this repository).
#
# The internet is one Ethernet segment, 203.0.113.0/24 (TEST-NET-3), with one more network on
# it, 198.51.100.0/24 (TEST-NET-2), where `evil` stands for an attacker's address (issue 20's
# sybils, Tests/nat-lab/sybil.py). Homes use 10.0.N.0/24.
# Each home router masquerades its LAN behind its WAN address and lets in only replies
# (port-restricted filtering), except where its kind says otherwise. Like most home routers it
# drops, without a reset, a TCP packet to its own WAN address that opens nothing.
set -euo pipefail

# Daemons started here must not inherit the caller's descriptors: Foundation's Process, for one,
# learns that its child ended when a socket it passed down closes, which a daemon holding it
# would delay forever. Bash keeps its script on 255.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [[ $fd -gt 2 && $fd -ne 255 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

here=$(cd "$(dirname "$0")" && pwd)
POTLUCK=${POTLUCK:-$here/../../.build/debug/potluck}

# host  kind      router    address      (kind: public, cone, symmetric, upnp, igd, noudp)
# upnp: miniupnpd with NAT-PMP/PCP and UPnP IGD; igd: miniupnpd with UPnP IGD only.
HOSTS="
pub1   public    -         203.0.113.10
pub2   public    -         203.0.113.11
cone   cone      cone-r    10.0.1.2
cone2  cone      cone-r    10.0.1.3
cone3  cone      cone3-r   10.0.7.2
sym    symmetric sym-r     10.0.2.2
sym2   symmetric sym2-r    10.0.5.2
upnp   upnp      upnp-r    10.0.3.2
igd    igd       igd-r     10.0.6.2
noudp  noudp     noudp-r   10.0.4.2
evil   public    -         198.51.100.90
"
# router  wan address   lan prefix
ROUTERS="
cone-r   203.0.113.20  10.0.1
sym-r    203.0.113.30  10.0.2
upnp-r   203.0.113.40  10.0.3
noudp-r  203.0.113.50  10.0.4
sym2-r   203.0.113.60  10.0.5
igd-r    203.0.113.70  10.0.6
cone3-r  203.0.113.80  10.0.7
"
STUN_ALT=203.0.113.12  # pub1's second address, for the STUN responder's CHANGE-REQUEST

die() { echo "lab.sh: $*" >&2; exit 1; }
check_name() { [[ $1 =~ ^[a-z0-9]{2,6}$ ]] || die "lab name '$1' must be 2 to 6 of a-z 0-9"; }
ns() { echo "pl$1-$2"; }
dir() { echo "/tmp/potluck-lab-$1"; }
in_ns() { local lab=$1 host=$2; shift 2; ip netns exec "$(ns "$lab" "$host")" "$@"; }

router_kind() {
    awk -v r="$1" '$3 == r { print $2; exit }' <<<"$HOSTS"
}

up() {
    local lab=$1 d
    d=$(dir "$lab")
    ip netns list | grep -q "^$(ns "$lab" net)\b" && die "lab $lab exists; run: lab.sh down $lab"
    mkdir -p "$d"
    built=0
    trap '[[ $built == 1 ]] || down "$lab"' EXIT  # a lab that failed to build leaves nothing
    ip netns add "$(ns "$lab" net)"
    ip -n "$(ns "$lab" net)" link add br0 type bridge
    ip -n "$(ns "$lab" net)" link set br0 up
    ip -n "$(ns "$lab" net)" link set lo up

    # Public peers and routers plug into the internet segment.
    attach() {  # NAME ADDRESS...
        local name=$1; shift
        ip netns add "$(ns "$lab" "$name")"
        ip -n "$(ns "$lab" "$name")" link set lo up
        ip -n "$(ns "$lab" net)" link add "w-$name" type veth peer name wan netns "$(ns "$lab" "$name")"
        ip -n "$(ns "$lab" net)" link set "w-$name" master br0 up
        for address in "$@"; do ip -n "$(ns "$lab" "$name")" addr add "$address/24" dev wan; done
        ip -n "$(ns "$lab" "$name")" link set wan up
    }
    while read -r host kind _ address; do
        [[ $kind == public ]] || continue
        if [[ $host == pub1 ]]; then attach "$host" "$address" "$STUN_ALT"; else attach "$host" "$address"; fi
    done <<<"$HOSTS"

    while read -r router wan prefix; do
        [[ -n $router ]] || continue
        attach "$router" "$wan"
        local r
        r=$(ns "$lab" "$router")
        ip -n "$r" link add lan type bridge
        ip -n "$r" addr add "$prefix.1/24" dev lan
        ip -n "$r" link set lan up
        ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
        router_rules "$router" | ip netns exec "$r" nft -f -
    done <<<"$ROUTERS"

    # Both networks of the internet reach each other on its one segment.
    while read -r host kind router address; do
        [[ -n $host ]] || continue
        local other=198.51.100.0/24
        [[ $address == 198.51.100.* ]] && other=203.0.113.0/24
        if [[ $kind == public ]]; then ip -n "$(ns "$lab" "$host")" route add "$other" dev wan; fi
    done <<<"$HOSTS"
    while read -r router _; do
        if [[ -n $router ]]; then ip -n "$(ns "$lab" "$router")" route add 198.51.100.0/24 dev wan; fi
    done <<<"$ROUTERS"

    while read -r host kind router address; do
        [[ -n $host && $kind != public ]] || continue
        local h prefix
        h=$(ns "$lab" "$host")
        prefix=${address%.*}
        ip netns add "$h"
        ip -n "$h" link set lo up
        ip -n "$(ns "$lab" "$router")" link add "l-$host" type veth peer name eth0 netns "$h"
        ip -n "$(ns "$lab" "$router")" link set "l-$host" master lan up
        ip -n "$h" addr add "$address/24" dev eth0
        ip -n "$h" link set eth0 up
        ip -n "$h" route add default via "$prefix.1"
    done <<<"$HOSTS"

    # The STUN responder on pub1 and miniupnpd on the UPnP router.
    in_ns "$lab" pub1 setsid python3 "$here/stun.py" 203.0.113.10 "$STUN_ALT" >"$d/stun.log" 2>&1 &
    echo $! >"$d/stun.pid"
    wait_for "$lab" pub1 "the STUN responder" "ss -lun | grep -q ':3479 '"
    for router in upnp-r igd-r; do
        local natpmp=yes prefix
        [[ $router == igd-r ]] && natpmp=no
        prefix=$(awk -v r="$router" '$1 == r { print $3 }' <<<"$ROUTERS")
        cat >"$d/$router.conf" <<CONF
ext_ifname=wan
listening_ip=lan
http_port=5000
enable_natpmp=$natpmp
enable_upnp=yes
ext_perform_stun=yes
ext_stun_host=203.0.113.10
ext_stun_port=3478
secure_mode=yes
system_uptime=yes
notify_interval=60
clean_ruleset_interval=600
uuid=3e9a4c1c-5b4f-4d59-9a0d-70${prefix##*.}746c7563
allow 1024-65535 $prefix.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
        in_ns "$lab" "$router" miniupnpd -d -f "$d/$router.conf" -P "$d/$router.pid" >"$d/$router.log" 2>&1 &
        wait_for "$lab" "$router" "miniupnpd" "ss -ltn | grep -q ':5000 '"
    done
    built=1
    echo "lab $lab is up: $(awk 'NF { print $1 }' <<<"$HOSTS" | tr '\n' ' ')"
}

# The nftables rules of a home router of the given name.
router_rules() {
    local kind masquerade="masquerade" extra=""
    kind=$(router_kind "$1")
    case $kind in
        symmetric) masquerade="masquerade random" ;;  # a fresh port per destination
        noudp) extra='iifname "lan" meta l4proto udp udp dport != 53 drop' ;;
    esac
    cat <<NFT
table inet filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        $extra
        ct state established,related accept
        iifname "lan" accept
        jump miniupnpd
    }
    chain miniupnpd {
    }
    chain input {
        type filter hook input priority 0; policy accept;
        iifname "wan" meta l4proto tcp ct state new,invalid drop
    }
    chain prerouting {
        type nat hook prerouting priority -100; policy accept;
        jump prerouting_miniupnpd
    }
    chain postrouting {
        type nat hook postrouting priority 100; policy accept;
        jump postrouting_miniupnpd
        oifname "wan" $masquerade
    }
    chain prerouting_miniupnpd {
    }
    chain postrouting_miniupnpd {
    }
}
NFT
}

# wait_for LAB HOST WHAT CONDITION: polls CONDITION inside HOST for up to 10 s.
wait_for() {
    local lab=$1 host=$2 what=$3 condition=$4
    for _ in $(seq 100); do
        if in_ns "$lab" "$host" bash -c "$condition" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$what did not start in $host (see $(dir "$lab"))"
}

down() {
    local lab=$1 d
    d=$(dir "$lab")
    # Every process of the lab runs in one of its namespaces: kill them all, then the namespaces.
    for name in $(ip netns list | awk '{ print $1 }' | grep "^pl$lab-" || true); do
        for pid in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
    for name in $(ip netns list | awk '{ print $1 }' | grep "^pl$lab-" || true); do
        ip netns del "$name" 2>/dev/null || true
    done
    rm -rf "$d"
}

node() {
    local lab=$1 host=$2; shift 2
    local d data
    d=$(dir "$lab")
    data="$d/$host"
    [[ -x $POTLUCK ]] || die "no potluck binary at $POTLUCK; build it (swift build) or set POTLUCK"
    [[ -f $data/identity ]] || in_ns "$lab" "$host" "$POTLUCK" init --data-dir "$data" >/dev/null
    # Not through in_ns: a function in the background runs in a forked shell, and $! would be
    # that shell's pid rather than the node's.
    ip netns exec "$(ns "$lab" "$host")" setsid "$POTLUCK" node --data-dir "$data" --no-default-bootstrap "$@" >"$data.log" 2>&1 &
    echo $! >"$data.pid"
    for _ in $(seq 200); do
        if in_ns "$lab" "$host" "$POTLUCK" dht status --data-dir "$data" >/dev/null 2>&1; then return 0; fi
        kill -0 "$(cat "$data.pid")" 2>/dev/null || die "potluck node in $host exited: $(tail -3 "$data.log")"
        sleep 0.1
    done
    die "potluck node in $host did not answer within 20 s (see $data.log)"
}

# spawn LAB HOST NAME CMD...: starts CMD in HOST in the background, its output in $DIR/NAME.log
# and its pid in $DIR/NAME.pid, and returns at once (an attacker beside honest commands).
spawn() {
    local lab=$1 host=$2 name=$3; shift 3
    local d
    d=$(dir "$lab")
    ip netns exec "$(ns "$lab" "$host")" setsid "$@" >"$d/$name.log" 2>&1 </dev/null &
    echo $! >"$d/$name.pid"
}

cli() {
    local lab=$1 host=$2; shift 2
    in_ns "$lab" "$host" "$POTLUCK" "$@" --data-dir "$(dir "$lab")/$host"
}

[[ $# -ge 1 ]] || die "usage: lab.sh up|down|exec|node|potluck|hosts LAB ..."
command=$1; shift
case $command in
    hosts) awk 'NF { printf "%-6s %-9s %s\n", $1, $2, $4 }' <<<"$HOSTS"; exit 0 ;;
esac
[[ $# -ge 1 ]] || die "usage: lab.sh $command LAB ..."
check_name "$1"
case $command in
    up) [[ $(id -u) == 0 ]] || die "the lab needs root (network namespaces)"; up "$1" ;;
    down) down "$1" ;;
    exec) [[ $# -ge 3 ]] || die "usage: lab.sh exec LAB HOST CMD..."; in_ns "$@" ;;
    node) [[ $# -ge 2 ]] || die "usage: lab.sh node LAB HOST [ARGS...]"; node "$@" ;;
    spawn) [[ $# -ge 4 ]] || die "usage: lab.sh spawn LAB HOST NAME CMD..."; spawn "$@" ;;
    potluck) [[ $# -ge 3 ]] || die "usage: lab.sh potluck LAB HOST ARGS..."; cli "$@" ;;
    *) die "unknown command '$command': use up, down, exec, node, potluck or hosts" ;;
esac
