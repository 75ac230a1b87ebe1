package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/gateway"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/stack"
	"github.com/dostupno/dostupno/shared/config"
)

// runner is the faasd side of up, as a deployment has it (README, "The local runner"): the
// functions behind the gateway router (gateway, provider and watchdogs), the gateway alone on
// a loopback port of its own, which the connectors and catch-up call, and in front of the
// router on up's address the edge that writes the client's address (unless edge is off).
type runner struct {
	Router     *gateway.Router
	Handler    http.Handler // what up's address serves: the edge and the gateway, or the gateway alone
	GatewayURL string       // the gateway alone, on loopback
	Cron       *gateway.Cron
	NATS       *gateway.NATSConnector

	gw *http.Server
}

// How the runner's connectors invoke, as deploy/cron-connector.env and deploy/nats-connector.env
// configure the real ones (asynchronous_invocation, upstream_timeout); a test keeps them alike.
var (
	cronConnector = gateway.Connector{Async: false}
	natsConnector = gateway.Connector{Async: true, Timeout: time.Minute}
)

// runnerOptions shape a runner.
type runnerOptions struct {
	Runtime runtime      // each function's secrets, NATS credential and database role
	Edge    bool         // play the edge in front of the gateway (functions read gateway.EdgeHeader)
	Cron    bool         // run cron-connector
	NATS    *nats.Conn   // the NATS connector's connection, without credentials where the server requires them (the doorbell listener); nil: no NATS connector
	Log     *slog.Logger // the router's and the connectors' log
	Say     func(string, ...any)
}

// startRunner opens the gateway's own loopback port, builds every function of st with cfg
// told about it (GATEWAY_URL, DB_WRITERS, CLIENT_ADDR_HEADER) and with o.Runtime's secrets,
// NATS credential and database role each, serves them, and starts the
// connectors, which list and invoke through that port as the real ones do. The functions'
// Deps are closed through cleanups; Stop stops the rest.
func startRunner(ctx context.Context, st *stack.Stack, cfg config.Config, o runnerOptions, cleanups *[]func()) (*runner, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the gateway: %w", err)
	}
	r := &runner{GatewayURL: "http://" + ln.Addr().String()}
	cfg.GatewayURL, cfg.ClientAddrHeader = r.GatewayURL, ""
	if o.Edge {
		cfg.ClientAddrHeader = gateway.EdgeHeader
	}
	fns, err := buildFunctions(st, cfg, o.Runtime, cleanups)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if r.Router, err = gateway.New(o.Log, fns); err != nil {
		ln.Close()
		return nil, err
	}
	r.Handler = r.Router
	if o.Edge {
		r.Handler = gateway.Edge(r.Router)
	}
	r.gw = &http.Server{Handler: r.Router, ReadTimeout: upReadTimeout, WriteTimeout: upWriteTimeout, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := r.gw.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Log.Error("gateway port", "err", err)
		}
	}()
	if o.Cron {
		conn := cronConnector
		conn.GatewayURL = r.GatewayURL
		if r.Cron, err = gateway.NewCron(ctx, o.Log, conn); err != nil {
			_ = r.Stop() // the start failed; that error is the one to report
			return nil, err
		}
		r.Cron.Start()
	}
	if o.NATS != nil {
		conn := natsConnector
		conn.GatewayURL = r.GatewayURL
		if r.NATS, err = gateway.StartNATS(ctx, o.NATS, o.Log, conn); err != nil {
			_ = r.Stop() // the start failed; that error is the one to report
			return nil, err
		}
	}
	if o.Say != nil {
		if r.Cron != nil {
			for _, s := range r.Cron.Scheduled {
				o.Say("cron: %s", s)
			}
		}
		if r.NATS != nil {
			for _, topic := range slices.Sorted(maps.Keys(r.NATS.Topics)) {
				o.Say("nats connector: %s -> %s", topic, strings.Join(r.NATS.Topics[topic], ", "))
			}
		}
		o.Say("gateway: http://%s (loopback; the connectors and catch-up call it, as on faasd)", ln.Addr())
	}
	return r, nil
}

// Stop stops the connectors (letting their calls finish for a while), the gateway's port and
// the asynchronous calls in flight; up's own server is drained before.
func (r *runner) Stop() error {
	if r.Cron != nil {
		r.Cron.Stop(10 * time.Second)
	}
	if r.NATS != nil {
		r.NATS.Stop(10 * time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.gw.Shutdown(ctx)
	if r.Router != nil {
		err = errors.Join(err, r.Router.Close(ctx))
	}
	return err
}

// edgeLine says whether up plays the edge.
func edgeLine(edge bool) string {
	if edge {
		return "the edge in front writes X-Real-IP from the TCP peer, as deploy/Caddyfile does"
	}
	return "no edge (--edge=false): per-address limits trust the client's X-Forwarded-For"
}
