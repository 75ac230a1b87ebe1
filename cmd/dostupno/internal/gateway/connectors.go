package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/robfig/cron/v3"
)

// CronTopic is the topic annotation that hands a function to cron-connector.
const CronTopic = "cron-function"

// QueueGroup is the NATS queue group the NATS connector subscribes in, so that two
// connectors on one server share the messages instead of both invoking.
const QueueGroup = "openfaas_nats_worker_group"

// Connector is what both connectors share: the gateway they list functions from and invoke
// them through (never the edge), and how they invoke.
type Connector struct {
	// GatewayURL is the gateway, e.g. http://127.0.0.1:8080 (gateway_url).
	GatewayURL string
	// Async invokes /async-function/... instead of /function/... (asynchronous_invocation:
	// false by default for cron-connector, true for the NATS connector).
	Async bool
	// Timeout bounds one invocation (the NATS connector's upstream_timeout; 0: none).
	Timeout time.Duration
}

// listTimeout bounds one listing request, as the connectors' gateway client does.
const listTimeout = 3 * time.Second

// target is a function as a connector found it.
type target struct {
	Name, Namespace string
	Annotations     map[string]string
}

// path is the function's invocation path, as the connectors build it: name.namespace.
func (c Connector) path(t target) string {
	prefix := "/function/"
	if c.Async {
		prefix = "/async-function/"
	}
	return prefix + t.Name + "." + t.Namespace
}

// getJSON GETs path on the gateway and decodes the answer strictly into v.
func (c Connector) getJSON(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.GatewayURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// list lists the functions as the connectors do: GET /system/namespaces, then GET
// /system/functions?namespace=<ns> for each, decoded into faas-provider's types. An empty
// namespace list gives no function; any failure fails the whole listing (the real NATS
// connector exits on it).
func (c Connector) list(ctx context.Context) ([]target, error) {
	var namespaces []string
	if err := c.getJSON(ctx, "/system/namespaces", &namespaces); err != nil {
		return nil, err
	}
	var out []target
	for _, ns := range namespaces {
		var fns []FunctionStatus
		if err := c.getJSON(ctx, "/system/functions?namespace="+ns, &fns); err != nil {
			return nil, err
		}
		for _, f := range fns {
			t := target{Name: f.Name, Namespace: ns}
			if f.Annotations != nil {
				t.Annotations = *f.Annotations
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// invoke POSTs body (nil: none) to t through the gateway with headers, as the connectors do:
// no Content-Type, no Authorization. It returns the answer's status.
func (c Connector) invoke(ctx context.Context, t target, body []byte, h http.Header) (int, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.GatewayURL+c.path(t), rd)
	if err != nil {
		return 0, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("invoke %s: %w", t.Name, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // the connectors only log the answer
	resp.Body.Close()
	return resp.StatusCode, nil
}

// logInvoke logs one invocation's result.
func logInvoke(log *slog.Logger, who string, status int, err error, args ...any) {
	switch {
	case err != nil:
		log.Error(who+" invoke", append(args, "err", err)...)
	case status >= 400:
		log.Warn(who+" invoke", append(args, "status", status)...)
	default:
		log.Debug(who+" invoke", append(args, "status", status)...)
	}
}

// cronParser reads schedules as cron-connector does: five fields (minute hour day-of-month
// month day-of-week) or a descriptor such as @hourly or @every 1m, in the local time zone.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule checks a schedule annotation.
func ParseSchedule(spec string) error {
	_, err := cronParser.Parse(spec)
	return err
}

// Cron plays cron-connector: it invokes the functions annotated topic: cron-function on their
// schedule annotation with POST /function/<name>.<namespace>, no body, X-Topic: cron-function
// and X-Connector: cron-connector. Runs of one function may overlap, as with the real one.
type Cron struct {
	conn    Connector
	log     *slog.Logger
	c       *cron.Cron
	ctx     context.Context
	cancel  context.CancelFunc
	targets map[string]target
	// Scheduled lists "name (schedule)" of each function it invokes.
	Scheduled []string
}

// NewCron lists the functions through conn's gateway and schedules every one whose topic is
// CronTopic; a missing or bad schedule is an error (cron-connector would skip it silently). It
// starts nothing until Start.
func NewCron(ctx context.Context, log *slog.Logger, conn Connector) (*Cron, error) {
	fns, err := conn.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("cron connector: list functions: %w", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	logger := cronLogger{log}
	c := &Cron{conn: conn, log: log, ctx: cctx, cancel: cancel, targets: map[string]target{},
		c: cron.New(cron.WithParser(cronParser), cron.WithLogger(logger), cron.WithChain(cron.Recover(logger)))}
	for _, f := range fns {
		if f.Annotations["topic"] != CronTopic {
			continue
		}
		spec, name := f.Annotations["schedule"], f.Name
		if _, err := c.c.AddFunc(spec, func() {
			status, err := c.Call(c.ctx, name)
			logInvoke(log, "cron", status, err, "function", name)
		}); err != nil {
			cancel()
			return nil, fmt.Errorf("function %s: schedule %q: %w", name, spec, err)
		}
		c.targets[name] = f
		c.Scheduled = append(c.Scheduled, fmt.Sprintf("%s (%s)", name, spec))
	}
	return c, nil
}

// Call invokes the scheduled function name now, with the request the schedule sends.
func (c *Cron) Call(ctx context.Context, name string) (int, error) {
	t, ok := c.targets[name]
	if !ok {
		return 0, fmt.Errorf("cron connector: %s is not scheduled", name)
	}
	return c.conn.invoke(ctx, t, nil, http.Header{"X-Topic": {CronTopic}, "X-Connector": {"cron-connector"}})
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

// NATSConnector plays the OpenFaaS NATS connector: core NATS, at most once, in the queue group
// QueueGroup, ignoring NATS headers. A function is invoked for a message on any subject among
// the comma-separated entries of its topic annotation: POST /async-function/<name>.<namespace>
// (asynchronous_invocation is true by default) with the message as the body, X-Topic: <subject>
// and X-Connector: connector-sdk. An empty message is logged as "no message to send" and still
// sent, as the real one does.
type NATSConnector struct {
	conn   Connector
	subs   []*nats.Subscription
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	stop   context.CancelFunc
	// Topics maps each subscribed subject to the functions it invokes.
	Topics map[string][]string
}

// StartNATS lists the functions through conn's gateway and subscribes on nc for every topic
// of theirs other than CronTopic.
func StartNATS(ctx context.Context, nc *nats.Conn, log *slog.Logger, conn Connector) (*NATSConnector, error) {
	fns, err := conn.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("NATS connector: list functions: %w", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	n := &NATSConnector{conn: conn, Topics: map[string][]string{}, ctx: cctx, stop: cancel}
	targets := map[string][]target{}
	for _, f := range fns {
		t := f.Annotations["topic"]
		if t == "" || t == CronTopic {
			continue
		}
		for _, topic := range strings.Split(t, ",") {
			if topic = strings.TrimSpace(topic); topic != "" {
				targets[topic] = append(targets[topic], f)
				n.Topics[topic] = append(n.Topics[topic], f.Name)
			}
		}
	}
	topics := make([]string, 0, len(targets))
	for t := range targets {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		sub, err := nc.QueueSubscribe(topic, QueueGroup, func(m *nats.Msg) { n.deliver(log, m, targets[topic]) })
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

// deliver invokes each of targets for m, one after the other.
func (n *NATSConnector) deliver(log *slog.Logger, m *nats.Msg, targets []target) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	defer n.wg.Done()
	if len(m.Data) == 0 {
		log.Warn("nats connector: no message to send", "topic", m.Subject)
	}
	for _, t := range targets {
		status, err := n.conn.invoke(n.ctx, t, m.Data, http.Header{"X-Topic": {m.Subject}, "X-Connector": {"connector-sdk"}})
		logInvoke(log, "nats connector", status, err, "function", t.Name, "topic", m.Subject)
	}
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
