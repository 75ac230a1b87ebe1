package stack

import "testing"

func TestParse(t *testing.T) {
	good := `version: 1.0
provider: {name: openfaas, gateway: http://127.0.0.1:8080}
configuration:
  copy: [./shared, ./go.mod]
functions:
  zeta: {lang: go, handler: ./functions/zeta, image: x/zeta:1}
  alpha:
    lang: go
    handler: ./functions/alpha
    image: x/alpha:1
    annotations: {topic: cron-function, schedule: "*/5 * * * *"}
`
	s, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Functions) != 2 || s.Functions[0].Name != "zeta" || s.Functions[1].Annotations["topic"] != "cron-function" {
		t.Fatalf("got %+v, want two functions in file order", s.Functions)
	}
	if len(s.Configuration.Copy) != 2 {
		t.Fatalf("got copy %v", s.Configuration.Copy)
	}
	bad := map[string]string{
		"ErrNoFunctions": "provider: {name: openfaas}\n",
		"ErrProvider":    "provider: {name: x}\nfunctions:\n  a: {lang: go, handler: ./a, image: a:1}\n",
		"ErrMissing":     "provider: {name: openfaas}\nfunctions:\n  a: {lang: go}\n",
		"ErrUnknownKey":  "provider: {name: openfaas}\nfunctions:\n  a: {lang: go, handler: ./a, image: a:1, bogus: 1}\n",
		"ErrName":        "provider: {name: openfaas}\nfunctions:\n  A_b: {lang: go, handler: ./a, image: a:1}\n",
		"ErrGOGC":        "provider: {name: openfaas}\nfunctions:\n  a: {lang: go, handler: ./a, image: a:1, environment: {GOGC: \"off\"}}\n",
		"ErrGOMEMLIMIT":  "provider: {name: openfaas}\nfunctions:\n  a: {lang: go, handler: ./a, image: a:1, environment: {GOMEMLIMIT: 200M}}\n",
		"ErrOverLimit":   "provider: {name: openfaas}\nfunctions:\n  a: {lang: go, handler: ./a, image: a:1, environment: {GOMEMLIMIT: 250MiB}, limits: {memory: 256Mi}}\n",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(in)); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}

func TestRepositoryStack(t *testing.T) {
	s, err := Load("../../../../stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Functions[0].Name != "search-events" {
		t.Fatalf("got first function %s, want search-events", s.Functions[0].Name)
	}
}

func TestGC(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		mem  string
		want GC
		bad  bool
	}{
		{nil, "", GC{Percent: 100}, false},
		{map[string]string{"GOGC": "300", "GOMEMLIMIT": "192MiB"}, "256Mi", GC{300, 192 << 20}, false},
		{map[string]string{"GOMEMLIMIT": "1048576"}, "", GC{100, 1 << 20}, false},
		{map[string]string{"GOMEMLIMIT": "2GiB"}, "3Gi", GC{100, 2 << 30}, false},
		{map[string]string{"GOMEMLIMIT": "224MiB"}, "256Mi", GC{}, false}, // seven eighths: the most
		{map[string]string{"GOMEMLIMIT": "225MiB"}, "256Mi", GC{}, true},
		{map[string]string{"GOMEMLIMIT": "192MiB"}, "256M", GC{}, true},
		{map[string]string{"GOGC": "0"}, "", GC{}, true},
		{map[string]string{"GOGC": "-1"}, "", GC{}, true},
		{map[string]string{"GOMEMLIMIT": "MiB"}, "", GC{}, true},
		{map[string]string{"GOMEMLIMIT": "-5MiB"}, "", GC{}, true},
		{map[string]string{"GOMEMLIMIT": "99999999999TiB"}, "", GC{}, true},
	} {
		f := Function{Name: "f", Environment: c.env}
		if c.mem != "" {
			f.Limits = map[string]string{"memory": c.mem}
		}
		got, err := f.GC()
		if (err != nil) != c.bad {
			t.Errorf("%v, memory %q: got error %v, want one: %v", c.env, c.mem, err, c.bad)
			continue
		}
		if err == nil && c.want != (GC{}) && got != c.want {
			t.Errorf("%v: got %+v, want %+v", c.env, got, c.want)
		}
	}
}
