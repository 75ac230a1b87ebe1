// Package function is the catch-up OpenFaaS function: POST / (every minute from cron-connector;
// anyone may call it) calls POST /function/<writer> through the gateway for every db-writer
// of DB_WRITERS at once, and answers what each did. It brings every database copy up to date
// within a minute of a write even when no doorbell reaches the db-writers (the NATS connector
// is at most once, and exits for good on a failed function listing): README, "Write log and
// database copies".
package function

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "catch-up"

// writerTimeout bounds the call to one db-writer: over the db-writer's exec_timeout (52 s in
// stack.yml), so that its answer or its watchdog's 504 arrives, and under this function's own
// exec_timeout (56 s), so that this function still answers.
const writerTimeout = 54 * time.Second

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

var functionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// New builds the function's handler from its dependencies: GATEWAY_URL (the gateway as
// functions reach it, e.g. http://10.62.0.1:8080) and DB_WRITERS (the db-writers to call).
func New(d *instance.Deps) (http.Handler, error) {
	if err := d.Config.Require("GATEWAY_URL", "DB_WRITERS"); err != nil {
		return nil, err
	}
	if u, err := url.Parse(d.Config.GatewayURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("GATEWAY_URL=%q: want http://host:port", d.Config.GatewayURL)
	}
	for _, w := range d.Config.DBWriters {
		if !functionName.MatchString(w) {
			return nil, fmt.Errorf("DB_WRITERS: %q is not a function name", w)
		}
	}
	s := &server{deps: d, client: &http.Client{Timeout: writerTimeout}}
	return middleware.Wrap(d, http.HandlerFunc(s.catchUp)), nil
}

type server struct {
	deps   *instance.Deps
	client *http.Client
}

// Writer is what one db-writer did: its answer (ApplyResult in shared/apidoc/openapi.yaml)
// when it answered 200, else Error.
type Writer struct {
	Function   string `json:"function"`
	Status     int    `json:"status"` // the db-writer's HTTP status; 0 if it could not be reached
	Replica    string `json:"replica,omitempty"`
	AppliedSeq uint64 `json:"applied_seq"`
	StreamSeq  uint64 `json:"stream_seq"`
	Lag        uint64 `json:"lag"`
	Applied    int    `json:"applied"`
	More       bool   `json:"more"`
	Error      string `json:"error,omitempty"`
}

type response struct {
	Writers []Writer `json:"writers"`
}

func (s *server) catchUp(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
		return
	}
	writers := s.deps.Config.DBWriters
	out := response{Writers: make([]Writer, len(writers))}
	var wg sync.WaitGroup
	for i, name := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Writers[i] = s.call(r.Context(), name)
		}()
	}
	wg.Wait()
	for _, wr := range out.Writers {
		if wr.Error != "" {
			s.deps.Log.WarnContext(r.Context(), "db-writer did not catch up", "function", wr.Function, "status", wr.Status, "err", wr.Error)
		}
	}
	httpjson.Write(w, http.StatusOK, out)
}

// call asks db-writer name, through the gateway, to apply what is pending to its copy.
func (s *server) call(ctx context.Context, name string) Writer {
	res := Writer{Function: name}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.deps.Config.GatewayURL+"/function/"+name, nil)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("User-Agent", "dostupno-"+Name)
	resp, err := s.client.Do(req)
	if err != nil {
		res.Error = fmt.Sprintf("call %s: %v", name, err)
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		res.Error = fmt.Sprintf("read %s's answer: %v", name, err)
		return res
	}
	if resp.StatusCode != http.StatusOK {
		var env struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(b, &env) == nil && env.Error.Message != "" {
			res.Error = env.Error.Message
		} else {
			res.Error = http.StatusText(resp.StatusCode)
		}
		return res
	}
	if err := json.Unmarshal(b, &res); err != nil {
		res.Error = fmt.Sprintf("decode %s's answer: %v", name, err)
	}
	res.Function, res.Status = name, resp.StatusCode // not the writer's to say
	return res
}
