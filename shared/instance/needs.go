package instance

import (
	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// NeedsFor returns the needs source of a read function of d reading users from db: it
// follows the change feed when NATS is configured (else entries live account.NeedsTTL at
// most).
func NeedsFor(d *Deps, db pgdb.DBTX) *account.Needs {
	n := account.NewNeeds(db)
	if d.Config.NatsURL == "" {
		return n
	}
	nc, err := d.NATS()
	if err == nil {
		err = n.Follow(nc, d.Config.Namespace, d.Log)
	}
	if err != nil {
		d.Log.Warn("needs: not following the change feed; saved needs may be up to NeedsTTL old", "err", err)
	}
	return n
}
