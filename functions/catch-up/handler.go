// Package function is the catch-up OpenFaaS function: POST / (every minute from cron-connector;
// anyone may call it) calls POST /function/<writer> through the gateway for every db-writer
// of DB_WRITERS at once, waits for them, and answers 204 with no body: a caller learns nothing
// of the copies (a writer that failed is in the function's log). It brings every database copy
// up to date within a minute of a write even when no doorbell reaches the db-writers (the NATS
// connector is at most once, and exits for good on a failed function listing): README, "Write
// log and database copies".
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

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

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
	return middleware.Wrap(d, middleware.Answer(d, s.catchUp)), nil
}

type server struct {
	deps   *instance.Deps
	client *http.Client
}

// Writer is what one db-writer answered: its HTTP status (204 when it applied what was
// pending; 0 if it could not be reached) and, when it failed, why.
type Writer struct {
	Function string
	Status   int
	Error    string
}

func (s *server) catchUp(w http.ResponseWriter, r *http.Request) error {
	if err := httpjson.Root(w, r, Name, http.MethodPost); err != nil {
		return err
	}
	for _, wr := range s.callAll(r.Context()) {
		if wr.Error != "" {
			s.deps.Log.WarnContext(r.Context(), "db-writer did not catch up", "function", wr.Function, "status", wr.Status, "err", wr.Error)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// callAll calls every db-writer at once and returns what each answered, in DB_WRITERS' order.
func (s *server) callAll(ctx context.Context) []Writer {
	writers := s.deps.Config.DBWriters
	out := make([]Writer, len(writers))
	var wg sync.WaitGroup
	for i, name := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.call(ctx, name)
		}()
	}
	wg.Wait()
	return out
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
	if resp.StatusCode != http.StatusNoContent {
		var env struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(b, &env) == nil && env.Error.Message != "" {
			res.Error = env.Error.Message
		} else {
			res.Error = http.StatusText(resp.StatusCode)
		}
	}
	return res
}
