// Package arch holds no code: its test enforces the direction of
// dependencies the README's "Code layout" describes. Backends (model,
// plan, libvirtx, ceph, iscsi, drive, render, …) never import ui, themes,
// lipgloss, bubbletea, bubbles or huh; ui never imports libvirtx; model
// imports the standard library only, and none of its I/O packages.
package arch
