// Package iscsi owns iSCSI naming rules (IQN, EUI, NAA), portal parsing,
// target discovery through libvirt and the LVM-on-iSCSI plan. It talks to
// hosts only through libvirtx (so it works on remote hosts too) and imports
// model; never ui, themes, bubbletea or lipgloss.
package iscsi
