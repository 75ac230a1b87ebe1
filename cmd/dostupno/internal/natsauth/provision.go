package natsauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Provision creates what no function may create or change, as Ops on nc: the write log's
// stream, the throttle's buckets and the users' keys' stream (with its pepper) of namespace
// ns, or brings them to this version's configuration, each with at least replicas copies
// (WRITELOG_REPLICAS; a higher count already there is kept). dostupno migrate and up run it;
// so does the cluster test, as a deployment would.
func Provision(ctx context.Context, nc *nats.Conn, ns string, replicas int) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := writelog.Provision(ctx, js, ns, writelog.WithReplicas(replicas)); err != nil {
		return err
	}
	if err := throttle.Provision(ctx, js, ns, throttle.WithReplicas(replicas)); err != nil {
		return err
	}
	return userkeys.Provision(ctx, js, ns, writelog.WithReplicas(replicas))
}

// Streams are the streams Provision makes for namespace ns: the write log's, the throttle's
// two buckets' and the users' keys'.
func Streams(ns string) []string {
	return []string{writelog.StreamName(ns), "KV_" + throttle.Bucket(ns), "KV_" + throttle.KnownBucket(ns), userkeys.StreamName(ns)}
}

// Remove deletes, as Ops on nc, what Provision makes for namespace ns and answers the names it
// deleted; those not there are skipped. Only for a namespace made to be thrown away (the
// benchmark's import): a deployment's write log holds every write of every copy.
func Remove(ctx context.Context, nc *nats.Conn, ns string) ([]string, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var deleted []string
	for _, name := range Streams(ns) {
		switch err := js.DeleteStream(ctx, name); {
		case err == nil:
			deleted = append(deleted, name)
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return deleted, fmt.Errorf("delete stream %s: %w", name, err)
		}
	}
	return deleted, nil
}
