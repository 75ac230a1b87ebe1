package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/natstest"
)

// arrived is a request as it reached the gateway.
type arrived struct {
	Method, URI   string
	ContentLength int64
	Header        http.Header
}

// recorded serves rt and reports each request on the way in.
func recorded(t *testing.T, rt *Router) (*httptest.Server, <-chan arrived) {
	t.Helper()
	ch := make(chan arrived, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/system/") {
			ch <- arrived{r.Method, r.RequestURI, r.ContentLength, r.Header.Clone()}
		}
		rt.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestConnectorsMakeTheRealRequests pins the requests cron-connector 0.7 and nats-connector 0.3
// send through the gateway, and what the function then sees behind the watchdog.
func TestConnectorsMakeTheRealRequests(t *testing.T) {
	env := natstest.New(t)
	subject := env.Namespace + ".doorbell"
	fnCalls := make(chan seen, 64)
	ann := map[string]string{"topic": subject}
	rt, err := New(quiet, []Function{
		{Name: "tick", Annotations: map[string]string{"topic": CronTopic, "schedule": "@every 1s"}, Handler: echo(fnCalls)},
		{Name: "db-writer", Annotations: ann, Handler: echo(fnCalls)},
		{Name: "db-writer-2", Annotations: map[string]string{"topic": "other.subject, " + subject}, Handler: echo(fnCalls)},
		{Name: "plain", Handler: echo(fnCalls)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	srv, reqs := recorded(t, rt)
	ctx := context.Background()

	cr, err := NewCron(ctx, quiet, Connector{GatewayURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cr.Scheduled, []string{"tick (@every 1s)"}) {
		t.Fatalf("got scheduled %v, want tick alone", cr.Scheduled)
	}
	async, err := StartNATS(ctx, env.Conn, quiet, Connector{GatewayURL: srv.URL, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	defer async.Stop(0)
	if !reflect.DeepEqual(async.Topics, map[string][]string{subject: {"db-writer", "db-writer-2"}, "other.subject": {"db-writer-2"}}) {
		t.Fatalf("got topics %v, want %s -> both writers, other.subject -> db-writer-2", async.Topics, subject)
	}
	for _, s := range async.subs {
		if s.Queue != QueueGroup {
			t.Fatalf("got queue group %q on %s, want %s", s.Queue, s.Subject, QueueGroup)
		}
	}

	noAuthNoType := func(t *testing.T, h http.Header) {
		t.Helper()
		if h.Get("Authorization") != "" || h.Get("Content-Type") != "" {
			t.Fatalf("got Authorization %q and Content-Type %q, want neither", h.Get("Authorization"), h.Get("Content-Type"))
		}
	}
	tests := []struct {
		behaviour string
		check     func(t *testing.T)
	}{
		{"cron-connector: POST /function/<name>.openfaas-fn, no body, X-Topic cron-function, X-Connector cron-connector", func(t *testing.T) {
			status, err := cr.Call(ctx, "tick")
			if err != nil || status != http.StatusCreated {
				t.Fatalf("got %d %v, want the function's 201", status, err)
			}
			r := <-reqs
			if r.Method != "POST" || r.URI != "/function/tick.openfaas-fn" || r.ContentLength != 0 || r.Header.Get("X-Topic") != CronTopic || r.Header.Get("X-Connector") != "cron-connector" {
				t.Fatalf("got %+v, want POST /function/tick.openfaas-fn with no body and the cron headers", r)
			}
			noAuthNoType(t, r.Header)
			if s := <-fnCalls; s.Path != "/" || s.Body != "" || s.Header.Get("X-Topic") != CronTopic {
				t.Fatalf("function got %+v, want POST / with no body", s)
			}
		}},
		{"cron-connector: invokes on the schedule", func(t *testing.T) {
			cr.Start()
			if r := <-reqs; r.URI != "/function/tick.openfaas-fn" {
				t.Fatalf("got %+v, want the scheduled call", r)
			}
			<-fnCalls
			cr.Stop(time.Minute) // lets a call in flight finish, so the drain below takes it
			for len(reqs) > 0 || len(fnCalls) > 0 {
				select {
				case <-reqs:
				case <-fnCalls:
				}
			}
		}},
		{"nats-connector: POST /async-function/<name>.openfaas-fn with the message, X-Topic, X-Connector connector-sdk", func(t *testing.T) {
			if err := env.Conn.Publish(subject, []byte("ding")); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for range 2 {
				r := <-reqs
				if r.Method != "POST" || r.ContentLength != 4 || r.Header.Get("X-Topic") != subject || r.Header.Get("X-Connector") != "connector-sdk" {
					t.Fatalf("got %+v, want POST with the 4 bytes, X-Topic %s, X-Connector connector-sdk", r, subject)
				}
				noAuthNoType(t, r.Header)
				got[r.URI] = true
			}
			if !got["/async-function/db-writer.openfaas-fn"] || !got["/async-function/db-writer-2.openfaas-fn"] {
				t.Fatalf("got %v, want both writers' /async-function/<name>.openfaas-fn", got)
			}
			for range 2 {
				if s := <-fnCalls; s.Body != "ding" || s.ContentLength != -1 || s.Header.Get("X-Topic") != subject {
					t.Fatalf("function got %+v, want the message chunked with X-Topic", s)
				}
			}
		}},
		{"nats-connector: an empty message is still sent", func(t *testing.T) {
			if err := env.Conn.Publish("other.subject", nil); err != nil {
				t.Fatal(err)
			}
			if r := <-reqs; r.URI != "/async-function/db-writer-2.openfaas-fn" || r.ContentLength != 0 {
				t.Fatalf("got %+v, want db-writer-2 invoked with no body", r)
			}
			<-fnCalls
		}},
	}
	for _, tt := range tests {
		t.Run(tt.behaviour, tt.check)
	}

	t.Run("nats-connector: asynchronous_invocation=false invokes /function/<name>.openfaas-fn", func(t *testing.T) {
		async.Stop(0)
		direct, err := StartNATS(ctx, env.Conn, quiet, Connector{GatewayURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer direct.Stop(0)
		if err := env.Conn.Publish("other.subject", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if r := <-reqs; r.URI != "/function/db-writer-2.openfaas-fn" {
			t.Fatalf("got %+v, want the synchronous route", r)
		}
		<-fnCalls
	})
}

// TestConnectorsListStrictly: the connectors list /system/namespaces then each namespace's
// functions, decoded into faas-provider's types; one field of a wrong type fails the listing,
// and no namespace means nothing to invoke.
func TestConnectorsListStrictly(t *testing.T) {
	const good = `{"name":"tick","image":"x","namespace":"openfaas-fn","annotations":{"topic":"cron-function","schedule":"@hourly"},"replicas":1,"availableReplicas":1,"invocationCount":3,"createdAt":"2026-01-02T03:04:05Z"}`
	tests := []struct {
		name, namespaces, functions string
		scheduled                   int // -1: the listing fails
	}{
		{"OK", `["openfaas-fn"]`, "[" + good + "]", 1},
		{"NullMaps", `["openfaas-fn"]`, `[{"name":"f","annotations":null,"labels":null,"envVars":null,"createdAt":null}]`, 0},
		{"NoNamespace", `[]`, "[" + good + "]", 0},
		{"NamespacesNotStrings", `[1]`, "[" + good + "]", -1},
		{"NegativeReplicas", `["openfaas-fn"]`, `[{"name":"f","replicas":-1}]`, -1},
		{"FractionalReplicas", `["openfaas-fn"]`, `[{"name":"f","availableReplicas":1.5}]`, -1},
		{"AnnotationNotString", `["openfaas-fn"]`, `[{"name":"f","annotations":{"n":1}}]`, -1},
		{"LabelsNotAMap", `["openfaas-fn"]`, `[{"name":"f","labels":["a"]}]`, -1},
		{"CreatedAtNoZone", `["openfaas-fn"]`, `[{"name":"f","createdAt":"2026-01-02T03:04:05"}]`, -1},
		{"InvocationCountString", `["openfaas-fn"]`, `[{"name":"f","invocationCount":"3"}]`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.URL.Path == "/system/namespaces":
					_, _ = w.Write([]byte(tt.namespaces))
				case r.URL.Path == "/system/functions" && r.URL.Query().Get("namespace") == "openfaas-fn":
					_, _ = w.Write([]byte(tt.functions))
				default:
					http.Error(w, "namespace not valid", http.StatusBadRequest)
				}
			}))
			defer srv.Close()
			c, err := NewCron(context.Background(), quiet, Connector{GatewayURL: srv.URL})
			switch {
			case tt.scheduled < 0 && err == nil:
				t.Fatalf("got %v scheduled, want the listing refused", c.Scheduled)
			case tt.scheduled >= 0 && err != nil:
				t.Fatalf("got %v, want the listing accepted", err)
			case err == nil && len(c.Scheduled) != tt.scheduled:
				t.Fatalf("got %v scheduled, want %d", c.Scheduled, tt.scheduled)
			}
		})
	}
}

func TestCronRefusesBadSchedules(t *testing.T) {
	for name, spec := range map[string]string{"Missing": "", "FourFields": "*/5 * * *", "SecondsField": "0 */5 * * * *", "Garbage": "every five minutes"} {
		t.Run(name, func(t *testing.T) {
			_, srv := newRouter(t, Function{Name: "f", Annotations: map[string]string{"topic": CronTopic, "schedule": spec}, Handler: echo(nil)})
			_, err := NewCron(context.Background(), quiet, Connector{GatewayURL: srv.URL})
			if err == nil || !strings.Contains(err.Error(), "function f") {
				t.Fatalf("got %v, want an error naming function f", err)
			}
		})
	}
	for _, ok := range []string{"*/5 * * * *", "* * * * *", "0 3 * * MON-FRI", "@hourly", "@every 30s"} {
		if err := ParseSchedule(ok); err != nil {
			t.Fatalf("got %v for %q, want it accepted", err, ok)
		}
	}
}
