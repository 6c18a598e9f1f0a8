# Shared by tools/demo and tools/check. Source it; it sets -euo pipefail.
set -euo pipefail

SD_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SD_BUILD=${SD_BUILD:-$SD_TOP/_build}

sd_say() { printf '== %s\n' "$*"; }
sd_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

sd_need_root() {
	[[ $(id -u) -eq 0 ]] || sd_die "run me as root (sudo $0): I install packages and start libvirtd"
}

# Installs the Debian packages of tools/debian-packages that are missing.
sd_install_packages() {
	local pkg missing=()
	while read -r pkg; do
		[[ -z $pkg || $pkg == \#* ]] && continue
		if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed'; then
			missing+=("$pkg")
		fi
	done <"$SD_TOP/tools/debian-packages"
	if ((${#missing[@]})); then
		sd_say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

# Configures (once) and builds in $1 (default $SD_BUILD) with configure flags $2...
sd_build() {
	local dir=${1:-$SD_BUILD}
	shift || true
	if [[ ! -x $SD_TOP/configure || $SD_TOP/configure.ac -nt $SD_TOP/configure ]]; then
		sd_say "autoreconf"
		(cd "$SD_TOP" && autoreconf -fi >/dev/null)
	fi
	mkdir -p "$dir"
	if [[ ! -f $dir/Makefile ]]; then
		sd_say "configure in ${dir#$SD_TOP/} $*"
		(cd "$dir" && "$SD_TOP/configure" -q --enable-werror "$@")
	fi
	sd_say "make in ${dir#$SD_TOP/}"
	make -C "$dir" -j2 -s
}

# Makes sure libvirtd (and virtlogd) answer on qemu:///system.
sd_start_libvirtd() {
	# Without udev (containers, CI) /dev/kvm stays root-only: QEMU (user
	# libvirt-qemu, group kvm) cannot use it, and libvirt then probes QEMU
	# anew on every define (30-50 s each). Give it Debian's udev permissions.
	if [[ -c /dev/kvm ]] && getent group kvm >/dev/null; then
		chgrp kvm /dev/kvm && chmod 0660 /dev/kvm || true
	fi
	if virsh -q -c qemu:///system uri >/dev/null 2>&1; then
		return 0
	fi
	sd_say "starting virtlogd and libvirtd"
	mkdir -p /var/log/libvirt /var/lib/snapdeck
	pgrep -x virtlogd >/dev/null || virtlogd -d
	pgrep -x libvirtd >/dev/null || libvirtd -d
	local i
	for i in $(seq 1 60); do
		virsh -q -c qemu:///system uri >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	sd_die "libvirtd does not answer on qemu:///system (see /var/log/libvirt)"
}
