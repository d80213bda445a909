package driveprogress

import "stowage/model"

// transferText is a measured step's words beside its bar: percent, bytes
// of total, and, once two reports apart in time arrived, the throughput
// over the last seconds and the time left at that rate
// ("42% 26.9 MiB / 64.0 MiB · 112.0 MiB/s · ETA 1s"). The times are the
// events' own (time since the step began), so the words follow from the
// events alone.
func (l *line) transferText() string { return model.TransferLine(l.done, l.total, &l.meter) }
