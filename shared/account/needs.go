package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	gocache "github.com/patrickmn/go-cache"

	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// NeedsTTL bounds how long a user's saved needs are served from memory; an announced change
// of the user drops them sooner.
const NeedsTTL = 30 * time.Second

// Needs serves users' saved needs (search.NeedsSource), looked up by user id and cached
// briefly per instance.
type Needs struct {
	db    pgdb.DBTX
	cache *gocache.Cache
}

// NewNeeds returns a Needs reading users from db.
func NewNeeds(db pgdb.DBTX) *Needs {
	return &Needs{db: db, cache: gocache.New(NeedsTTL, 2*NeedsTTL)}
}

// Needs returns the saved needs of user userID; ok is false for no user ("") and for a user
// this copy does not know (yet).
func (n *Needs) Needs(ctx context.Context, userID string) ([]string, bool, error) {
	if userID == "" {
		return nil, false, nil
	}
	if v, ok := n.cache.Get(userID); ok {
		codes := v.([]string)
		return codes, codes != nil, nil
	}
	var codes []string
	err := n.db.QueryRow(ctx, `SELECT needs FROM users WHERE id = $1`, userID).Scan(&codes)
	if errors.Is(err, pgx.ErrNoRows) {
		codes = nil // remembered briefly too: a token of an unknown user costs one query per TTL
	} else if err != nil {
		return nil, false, fmt.Errorf("load needs of %s: %w", userID, err)
	} else if codes == nil {
		codes = []string{}
	}
	n.cache.SetDefault(userID, codes)
	return codes, codes != nil, nil
}

// Drop forgets what c says changed.
func (n *Needs) Drop(c changefeed.Change) {
	for _, u := range c.Users {
		n.cache.Delete(u)
	}
}

// Follow drops users as the change feed of namespace ns announces changes to them, until nc
// closes.
func (n *Needs) Follow(nc *nats.Conn, ns string, log *slog.Logger) error {
	_, err := nc.Subscribe(changefeed.Subject(ns), func(m *nats.Msg) {
		var c changefeed.Change
		if err := json.Unmarshal(m.Data, &c); err != nil {
			log.Warn("needs: unreadable change; forgetting every user", "err", err)
			n.cache.Flush()
			return
		}
		n.Drop(c)
	})
	if err != nil {
		return fmt.Errorf("follow changes: %w", err)
	}
	return nil
}
