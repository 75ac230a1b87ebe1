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
