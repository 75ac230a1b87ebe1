package natsauth

import (
	"context"
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
