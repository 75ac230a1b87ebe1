package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/robfig/cron/v3"

	"github.com/dostupno/dostupno/shared/config"
)

// Invoker calls a function by name; Router.Invoke is one.
type Invoker interface {
	Invoke(ctx context.Context, fn string, body []byte, h http.Header) (status int, answer []byte, err error)
}

// CronTopic is the topic annotation that hands a function to cron-connector.
const CronTopic = "cron-function"

// QueueGroup is the NATS queue group the NATS connector subscribes in, so that two
// connectors on one server share the messages instead of both invoking.
const QueueGroup = "openfaas_nats_worker_group"

// cronParser reads schedules as cron-connector does: five fields (minute hour day-of-month
// month day-of-week) or a descriptor such as @hourly or @every 1m.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule checks a schedule annotation.
func ParseSchedule(spec string) error {
	_, err := cronParser.Parse(spec)
	return err
}

// Cron invokes the functions annotated topic: cron-function on their schedule annotation.
type Cron struct {
	c      *cron.Cron
	ctx    context.Context
	cancel context.CancelFunc
	// Scheduled lists "name (schedule)" of each function it invokes.
	Scheduled []string
}

// NewCron schedules every function of fns whose topic is CronTopic; a missing or bad schedule
// is an error. It starts nothing until Start.
func NewCron(log *slog.Logger, inv Invoker, fns []Function) (*Cron, error) {
	ctx, cancel := context.WithCancel(context.Background())
	logger := cronLogger{log}
	c := &Cron{c: cron.New(cron.WithParser(cronParser), cron.WithLogger(logger), cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger))), ctx: ctx, cancel: cancel}
	for _, f := range fns {
		if f.Annotations["topic"] != CronTopic {
			continue
		}
		spec := f.Annotations["schedule"]
		name := f.Name
		_, err := c.c.AddFunc(spec, func() {
			status, _, err := inv.Invoke(c.ctx, name, nil, http.Header{"X-Connector": {"cron-connector"}, "X-Topic": {CronTopic}})
			switch {
			case err != nil:
				log.Error("cron invoke", "function", name, "err", err)
			case status >= 400:
				log.Warn("cron invoke", "function", name, "status", status)
			default:
				log.Info("cron invoke", "function", name, "status", status)
			}
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("function %s: schedule %q: %w", name, spec, err)
		}
		c.Scheduled = append(c.Scheduled, fmt.Sprintf("%s (%s)", name, spec))
	}
	return c, nil
}

// Start begins the schedule.
func (c *Cron) Start() { c.c.Start() }

// Stop ends the schedule, cancels running invocations after grace, and waits for them.
func (c *Cron) Stop(grace time.Duration) {
	done := c.c.Stop()
	select {
	case <-done.Done():
	case <-time.After(grace):
		c.cancel()
		<-done.Done()
	}
	c.cancel()
}

type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// NATSConnector invokes functions for messages on the NATS subjects their topic annotation
// names (a comma list), as the OpenFaaS NATS connector does: core NATS, at most once, a POST
// with the message as body and the headers X-Topic (the subject) and X-Connector.
type NATSConnector struct {
	subs   []*nats.Subscription
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	stop   context.CancelFunc
	// Topics maps each subscribed subject to the functions it invokes.
	Topics map[string][]string
}

// StartNATS subscribes on nc for every topic of fns other than CronTopic.
func StartNATS(nc *nats.Conn, log *slog.Logger, inv Invoker, fns []Function) (*NATSConnector, error) {
	ctx, cancel := context.WithCancel(context.Background())
	n := &NATSConnector{Topics: map[string][]string{}, ctx: ctx, stop: cancel}
	for _, f := range fns {
		if t := f.Annotations["topic"]; t != "" && t != CronTopic {
			for _, topic := range config.List(t) {
				n.Topics[topic] = append(n.Topics[topic], f.Name)
			}
		}
	}
	topics := make([]string, 0, len(n.Topics))
	for t := range n.Topics {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		targets := n.Topics[topic]
		sub, err := nc.QueueSubscribe(topic, QueueGroup, func(m *nats.Msg) {
			n.mu.Lock()
			if n.closed {
				n.mu.Unlock()
				return
			}
			n.wg.Add(1)
			n.mu.Unlock()
			defer n.wg.Done()
			for _, fn := range targets {
				h := http.Header{"X-Topic": {m.Subject}, "X-Connector": {"connector-sdk"}}
				status, _, err := inv.Invoke(n.ctx, fn, m.Data, h)
				switch {
				case err != nil:
					log.Error("nats connector invoke", "function", fn, "topic", m.Subject, "err", err)
				case status >= 400:
					log.Warn("nats connector invoke", "function", fn, "topic", m.Subject, "status", status)
				default:
					log.Debug("nats connector invoke", "function", fn, "topic", m.Subject, "status", status)
				}
			}
		})
		if err != nil {
			n.Stop(0)
			return nil, fmt.Errorf("subscribe to %s: %w", topic, err)
		}
		n.subs = append(n.subs, sub)
	}
	if err := nc.Flush(); err != nil {
		n.Stop(0)
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	return n, nil
}

// Stop unsubscribes, lets invocations in progress finish for up to grace, then cancels them.
func (n *NATSConnector) Stop(grace time.Duration) {
	for _, s := range n.subs {
		_ = s.Unsubscribe() // a closed connection has no subscriptions left anyway
	}
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		n.stop()
		<-done
	}
	n.stop()
}
