package benchenc

import (
	"fmt"
	"math"
	"strings"
)

// FormatFigure shows a median as seed 003 does: "349 MiB/s", "64.7 MiB/s",
// "19.1k IOPS", "850 IOPS".
func FormatFigure(v float64, iops bool) string {
	if iops {
		if v >= 1000 {
			return fmt.Sprintf("%.1fk IOPS", v/1000)
		}
		return fmt.Sprintf("%.0f IOPS", v)
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f MiB/s", v)
	}
	return fmt.Sprintf("%.1f MiB/s", v)
}

// FormatPercent shows a difference as seed 003 does: "-43%", "-0.5%",
// "+3%": one decimal below 10 points, whole points above.
func FormatPercent(p float64) string {
	if math.IsNaN(p) {
		return "n/a"
	}
	sign := "+"
	if p < 0 || (p == 0 && math.Signbit(p)) {
		sign = "-"
	}
	a := math.Abs(p)
	if a < 10 {
		s := fmt.Sprintf("%.1f", a)
		if s == "0.0" {
			return "±0%"
		}
		return sign + s + "%"
	}
	return fmt.Sprintf("%s%.0f%%", sign, a)
}

// Seconds shows a duration in seconds: "0.12 s", "4.3 s", "16 s".
func Seconds(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.2f s", s)
	case s < 10:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

// Table is the result in seed 003's layout, as Markdown: one row per
// workload (medians), plain first, each encrypted format with its
// difference from plain; then creation and unlock times.
func (r Result) Table() string {
	var b strings.Builder
	b.WriteString("| workload |")
	for _, f := range r.Formats {
		b.WriteString(" " + f.Title() + " |")
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|", len(r.Formats)))
	b.WriteString("\n")
	for _, key := range tableOrder {
		w := workloadByKey(key)
		figs := r.Figures[key+"_"+w.Unit()]
		if figs == nil {
			continue
		}
		base := figs[Plain].Median
		b.WriteString("| " + w.Label + " |")
		for _, f := range r.Formats {
			fig, ok := figs[f]
			switch {
			case !ok:
				b.WriteString(" - |")
			case f == Plain:
				b.WriteString(" " + FormatFigure(fig.Median, w.IOPS()) + " |")
			default:
				fmt.Fprintf(&b, " %s (%s) |", FormatFigure(fig.Median, w.IOPS()), FormatPercent(PercentVs(fig.Median, base)))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("| create (once) |")
	for _, f := range r.Formats {
		b.WriteString(" " + Seconds(r.CreateS[f]) + " |")
	}
	b.WriteString("\n| unlock (each open) |")
	for _, f := range r.Formats {
		if f == Plain {
			b.WriteString(" - |")
			continue
		}
		b.WriteString(" " + Seconds(r.UnlockS[f]) + " |")
	}
	b.WriteString("\n")
	return b.String()
}

func workloadByKey(key string) Workload {
	for _, w := range Workloads {
		if w.Key == key {
			return w
		}
	}
	return Workload{Key: key, Label: key}
}
