package libvirtx

import (
	"context"
	"stowage/model"

	"github.com/digitalocean/go-libvirt"
)

// DomainEvents streams domain lifecycle events until ctx is cancelled or
// the connection drops; the channel is closed then. Only registration is a
// call (bounded by the connection's timeout); events arrive on their own.
// Storage pool events are not offered: go-libvirt's router drops them, so
// pools are polled instead.
func (c *Conn) DomainEvents(ctx context.Context) (<-chan model.DomainEvent, error) {
	sub, err := call(ctx, c, "subscribe to domain events", func(l *libvirt.Libvirt) (<-chan libvirt.DomainEventLifecycleMsg, error) {
		return l.LifecycleEvents(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := make(chan model.DomainEvent)
	go func() {
		defer close(out)
		// go-libvirt's goroutine blocks on its send until it sees ctx end;
		// keep reading so it can finish.
		defer func() {
			go func() {
				for range sub {
				}
			}()
		}()
		for {
			select {
			case ev, ok := <-sub:
				if !ok {
					return
				}
				select {
				case out <- model.DomainEvent{Domain: ev.Dom.Name, Event: ev.Event}:
				case <-ctx.Done():
					return
				}
			case <-c.Disconnected():
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
