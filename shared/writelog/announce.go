package writelog

import (
	"time"

	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// maxChangeEvents bounds one announcement, so it stays far below the server's max_payload.
const maxChangeEvents = 2000

// publishChange announces c on the change feed (core NATS, best effort), in parts of at most
// maxChangeEvents events.
func (r *Replica) publishChange(c changefeed.Change) {
	nc := r.log.js.Conn()
	subject := changefeed.Subject(r.log.namespace)
	for first := true; first || len(c.Events) > 0; first = false {
		part := c
		if len(c.Events) > maxChangeEvents {
			part.Events = c.Events[:maxChangeEvents]
		}
		c.Events = c.Events[len(part.Events):]
		c.Users, c.Venues = nil, nil // in the first part only
		b, err := jsoncodec.Marshal(part)
		if err == nil {
			err = nc.Publish(subject, b)
		}
		if err != nil {
			// Caches then expire the entry by age instead (the stated staleness bound).
			r.logger.Warn("announce change", "seq", part.Seq, "err", err)
			return
		}
	}
	// The announcement is at the server before the writer answers its client, so a read that
	// follows the answer finds the stale entries already dropped (or in flight to the caches).
	if err := nc.FlushTimeout(time.Second); err != nil {
		r.logger.Warn("announce change: flush", "err", err)
	}
}
