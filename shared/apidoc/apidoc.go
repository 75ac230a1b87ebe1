// Package apidoc holds the OpenAPI 3.1 document of the HTTP contract (openapi.yaml) and checks real
// answers against it. The document is embedded; nothing serves it yet (the local runner may
// answer GET /openapi.yaml with YAML).
package apidoc

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// YAML is the OpenAPI 3.1 document, as served.
//
//go:embed openapi.yaml
var YAML []byte

var load = sync.OnceValues(func() (*openapi3.T, error) { return parse(YAML) })

// parse loads an OpenAPI document (no external references) and validates it; a 3.1 document
// is validated as 3.1 (JSON Schema 2020-12).
func parse(b []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
}

// Document returns the parsed and validated document. Callers must not change it.
func Document() (*openapi3.T, error) { return load() }

// Operation is one method on one path of the document.
type Operation struct {
	Method   string // e.g. "GET"
	Path     string // path template, e.g. "/function/get-event/{id}"
	Function string // the function the path belongs to, "" for the gateway's own paths
	ID       string // operationId
	Statuses []int  // documented statuses, ascending
}

// Operations lists every operation of the document, sorted by path and method.
func Operations() ([]Operation, error) {
	doc, err := load()
	if err != nil {
		return nil, err
	}
	var ops []Operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := Operation{Method: method, Path: path, Function: FunctionOf(path), ID: op.OperationID}
			for code := range op.Responses.Map() {
				var n int
				if _, err := fmt.Sscanf(code, "%d", &n); err != nil {
					return nil, fmt.Errorf("openapi.yaml: %s %s: response %q is not a status", method, path, code)
				}
				o.Statuses = append(o.Statuses, n)
			}
			sort.Ints(o.Statuses)
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, nil
}

// FunctionOf returns the function name of a gateway path "/function/<name>[/...]", or "".
func FunctionOf(path string) string {
	rest, ok := strings.CutPrefix(path, "/function/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// ValidateResponse checks one real answer against the document: target is the request's path
// with its query as sent to the gateway (e.g. "/function/get-event/7?x=1"), status, header and
// body are the answer's. It fails for a path or method the document does not have, for a
// status it does not list, for a missing required header, and for a body that does not match
// the schema of its status and Content-Type. A method the path does not list must be a 405,
// and a path of a function that the document does not list a 404, each with the error
// envelope. Bodies of HEAD requests and 304 answers are not checked.
func ValidateResponse(method, target string, status int, header http.Header, body []byte) error {
	doc, err := load()
	if err != nil {
		return err
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("validate %s %s: %w", method, target, err)
	}
	tmpl, item, params := match(doc, u.Path)
	if item == nil {
		// Any other path under a documented function is not_found.
		if fn := FunctionOf(u.Path); fn != "" && status == http.StatusNotFound && documents(doc, fn) {
			return conventionError(doc, method, u.Path, status, header, body, "not_found")
		}
		return fmt.Errorf("validate %s %s: no such path in openapi.yaml", method, u.Path)
	}
	op := item.GetOperation(strings.ToUpper(method))
	if op == nil {
		// Any other method on a documented path is method_not_allowed.
		if status == http.StatusMethodNotAllowed {
			return conventionError(doc, method, u.Path, status, header, body, "method_not_allowed")
		}
		return fmt.Errorf("validate %s %s: openapi.yaml has no %s on %s", method, u.Path, strings.ToUpper(method), tmpl)
	}
	req, err := http.NewRequest(strings.ToUpper(method), "http://127.0.0.1:8080"+u.RequestURI(), nil)
	if err != nil {
		return fmt.Errorf("validate %s %s: %w", method, target, err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: req.Method, Operation: op},
			Options:    opts,
		},
		Status:  status,
		Header:  header,
		Options: opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("validate %s %s -> %d: %w", method, u.Path, status, err)
	}
	return nil
}

// documents reports whether doc has a path of function fn.
func documents(doc *openapi3.T, fn string) bool {
	for path := range doc.Paths.Map() {
		if FunctionOf(path) == fn {
			return true
		}
	}
	return false
}

// conventionError checks an answer that the document describes by convention only (a 405 for
// an unlisted method, a 404 for an unlisted path of a function): the Error envelope with code.
func conventionError(doc *openapi3.T, method, path string, status int, header http.Header, body []byte, code string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("validate %s %s -> %d: %s", method, path, status, fmt.Sprintf(format, args...))
	}
	if ct, _, _ := mime.ParseMediaType(header.Get("Content-Type")); ct != "application/json" {
		return fail("got Content-Type %q, want application/json", header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fail("body is not JSON: %v", err)
	}
	schema := doc.Components.Schemas["Error"].Value
	if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fail("not the error envelope: %v", err)
	}
	if got := v.(map[string]any)["error"].(map[string]any)["code"]; got != code {
		return fail("got code %v, want %s", got, code)
	}
	if code == "method_not_allowed" && header.Get("Allow") == "" {
		return fail("no Allow header")
	}
	return nil
}

// match finds the path item for path: a literal path first, else the template whose
// segments match, with the values of its parameters.
func match(doc *openapi3.T, path string) (string, *openapi3.PathItem, map[string]string) {
	if item := doc.Paths.Value(path); item != nil {
		return path, item, map[string]string{}
	}
	segs := strings.Split(path, "/")
	for tmpl, item := range doc.Paths.Map() {
		tsegs := strings.Split(tmpl, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") && segs[i] != "" {
				params[ts[1:len(ts)-1]] = segs[i]
				continue
			}
			if ts != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return tmpl, item, params
		}
	}
	return "", nil, nil
}
