// Package iscsi owns iSCSI naming rules (IQN, EUI, NAA), portal parsing,
// target discovery through libvirt and the LVM-on-iSCSI plan. It talks to
// hosts only through the Host interface, in model types and specs (libvirtx
// implements it and renders the XML, so it works on remote hosts too). It
// imports model and plan, and libvirtx in one adapter file (libvirtx.go);
// never ui, themes, bubbletea or lipgloss.
package iscsi
