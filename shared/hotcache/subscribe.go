package hotcache

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/shared/changefeed"
)

// HotSubject is the subject on which cache-snapshot asks every instance for its hot keys
// (request/reply, many replies).
func HotSubject(ns string) string { return strings.ToLower(ns) + ".cache.hot" }

// Health checks of the subscription: a round trip to the NATS server every CheckEvery, failing
// after CheckTimeout. A silent loss of the connection (no TCP error) is therefore noticed
// within CheckEvery+CheckTimeout, and the cache is suspended; a broken connection is noticed
// at once by the client.
const (
	CheckEvery   = 200 * time.Millisecond
	CheckTimeout = 400 * time.Millisecond
	// MaxHotKeys is the most keys one instance reports.
	MaxHotKeys = 500
)

// HotRequest is what cache-snapshot sends on HotSubject.
type HotRequest struct {
	Limit int `json:"limit"`
}

// HotReply is one instance's answer.
type HotReply struct {
	Instance string   `json:"instance"`
	Keys     []HotKey `json:"keys"`
}

// Subscription keeps one cache in step with the change feed.
type Subscription struct {
	nc      *nats.Conn
	changes *nats.Subscription
	hot     *nats.Subscription
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Subscribe makes c follow the change feed of namespace ns on nc: each announced change is
// applied to c; while the connection is down, slow or lost (missed messages are possible),
// c is suspended (it drops everything and serves nothing) until a round trip to the server
// succeeds again. It also answers cache-snapshot's hot-key requests. Its one goroutine, the
// only one an instance keeps beyond a request, runs the health check and sweeps expired
// entries; it ends when nc is closed or Close is called.
func Subscribe(nc *nats.Conn, ns string, c *Local, log *slog.Logger) (*Subscription, error) {
	if !nc.IsConnected() {
		c.Suspend()
	}
	s := &Subscription{nc: nc, stop: make(chan struct{}), done: make(chan struct{})}
	var err error
	s.changes, err = nc.Subscribe(changefeed.Subject(ns), func(m *nats.Msg) {
		var ch changefeed.Change
		if err := json.Unmarshal(m.Data, &ch); err != nil {
			// A change we cannot read may affect anything.
			log.Error("cache: unreadable change; dropping every entry", "err", err)
			c.Suspend()
			c.Resume()
			return
		}
		c.Apply(ch)
	})
	if err != nil {
		return nil, err
	}
	instance := nc.Opts.Name
	s.hot, err = nc.Subscribe(HotSubject(ns), func(m *nats.Msg) {
		req := HotRequest{Limit: MaxHotKeys}
		if len(m.Data) > 0 {
			if err := json.Unmarshal(m.Data, &req); err != nil || req.Limit <= 0 || req.Limit > MaxHotKeys {
				req.Limit = MaxHotKeys
			}
		}
		b, err := json.Marshal(HotReply{Instance: instance, Keys: c.Hot(req.Limit)})
		if err == nil && m.Reply != "" {
			err = m.Respond(b)
		}
		if err != nil {
			log.Warn("cache: hot-key reply", "err", err)
		}
	})
	if err != nil {
		_ = s.changes.Unsubscribe() // the connection is failing; its error is the one returned
		return nil, err
	}

	// Once the server has our interest, every change published from now on reaches c.
	if err := nc.FlushTimeout(CheckTimeout); err != nil {
		log.Warn("cache: change feed unreachable at start; serving uncached until it is", "err", err)
		c.Suspend()
	}
	prevDisc, prevClosed := nc.DisconnectErrHandler(), nc.ClosedHandler()
	nc.SetDisconnectErrHandler(func(conn *nats.Conn, err error) {
		c.Suspend()
		if prevDisc != nil {
			prevDisc(conn, err)
		}
	})
	nc.SetClosedHandler(func(conn *nats.Conn) {
		c.Suspend()
		if prevClosed != nil {
			prevClosed(conn)
		}
	})
	go s.watch(c, log)
	return s, nil
}

func (s *Subscription) watch(c *Local, log *slog.Logger) {
	defer close(s.done)
	t := time.NewTicker(CheckEvery)
	defer t.Stop()
	var dropped int
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if s.nc.IsClosed() {
			c.Suspend()
			return
		}
		c.Sweep()
		err := s.nc.FlushTimeout(CheckTimeout)
		if err == nil {
			// A slow consumer loses messages: the cache may have missed a change.
			if d, derr := s.changes.Dropped(); derr == nil && d > dropped {
				dropped = d
				log.Warn("cache: change feed dropped messages; dropping every entry", "dropped", d)
				c.Suspend()
			}
		}
		switch {
		case err != nil && !c.Suspended():
			log.Warn("cache: change feed unreachable; serving uncached", "err", err)
			c.Suspend()
		case err == nil && c.Suspended():
			log.Info("cache: change feed reachable; caching again")
			c.Resume()
		}
	}
}

// Close stops following the feed and suspends nothing: call it only when the cache is no
// longer used.
func (s *Subscription) Close() {
	s.once.Do(func() {
		close(s.stop)
		_ = s.changes.Unsubscribe() // best effort: the connection may already be closed
		_ = s.hot.Unsubscribe()     // likewise
	})
	<-s.done
}

// collectHot asks every instance subscribed under ns for up to limit hot keys and sums the
// uses per key over the replies that arrive within wait, or until the replies of instances
// instances have arrived when instances > 0.
func collectHot(nc *nats.Conn, ns string, limit int, wait time.Duration, instances int) (map[string]int64, error) {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("collect hot keys: %w", err)
	}
	defer sub.Unsubscribe() //nolint:errcheck // best effort: the inbox is ours alone
	req, err := json.Marshal(HotRequest{Limit: limit})
	if err != nil {
		return nil, err
	}
	if err := nc.PublishRequest(HotSubject(ns), inbox, req); err != nil {
		return nil, fmt.Errorf("collect hot keys: %w", err)
	}
	out := map[string]int64{}
	deadline := time.Now().Add(wait)
	for replies := 0; instances <= 0 || replies < instances; {
		left := time.Until(deadline)
		if left <= 0 {
			return out, nil
		}
		m, err := sub.NextMsg(left)
		if errors.Is(err, nats.ErrTimeout) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("collect hot keys: %w", err)
		}
		var r HotReply
		if json.Unmarshal(m.Data, &r) != nil {
			continue // not a reply of ours
		}
		replies++
		for _, k := range r.Keys {
			if k.Hits > 0 {
				out[k.Key] += k.Hits
			}
		}
	}
	return out, nil
}
