// Package stack reads stack.yml, the faas-cli stack file, as far as this project uses it: the
// functions in file order with their handler, image, environment, annotations and labels, and
// the configuration.copy paths that faas-cli copies into every build context. The local runner
// and the build-context test both read it, so stack.yml is the one list of functions.
package stack

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Function is one entry of stack.yml's functions.
type Function struct {
	Name        string            `yaml:"-"`
	Lang        string            `yaml:"lang"`
	Handler     string            `yaml:"handler"`
	Image       string            `yaml:"image"`
	Environment map[string]string `yaml:"environment"`
	Secrets     []string          `yaml:"secrets"`
	Annotations map[string]string `yaml:"annotations"`
	Labels      map[string]string `yaml:"labels"`
	Limits      map[string]string `yaml:"limits"`
	Requests    map[string]string `yaml:"requests"`
}

// Stack is stack.yml.
type Stack struct {
	Version  string `yaml:"version"`
	Provider struct {
		Name    string `yaml:"name"`
		Gateway string `yaml:"gateway"`
	} `yaml:"provider"`
	Configuration struct {
		Templates []struct {
			Name   string `yaml:"name"`
			Source string `yaml:"source"`
		} `yaml:"templates"`
		Copy []string `yaml:"copy"`
	} `yaml:"configuration"`
	Functions []Function `yaml:"-"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Load reads and checks the stack file at path.
func Load(path string) (*Stack, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse reads and checks a stack file.
func Parse(b []byte) (*Stack, error) {
	// Decoded twice: once strictly into types (unknown keys refused, anchors resolved), once
	// as a node tree for the order of the functions, which a map loses.
	var typed struct {
		Stack     `yaml:",inline"`
		Functions map[string]Function `yaml:"functions"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&typed); err != nil {
		return nil, fmt.Errorf("stack.yml: %w", err)
	}
	var order struct {
		Functions yaml.Node `yaml:"functions"`
	}
	if err := yaml.Unmarshal(b, &order); err != nil {
		return nil, fmt.Errorf("stack.yml: %w", err)
	}
	s := typed.Stack
	if order.Functions.Kind != yaml.MappingNode || len(order.Functions.Content) == 0 {
		return nil, fmt.Errorf("stack.yml: functions must be a non-empty mapping")
	}
	seen := map[string]bool{}
	for i := 0; i < len(order.Functions.Content); i += 2 {
		name := order.Functions.Content[i].Value
		f := typed.Functions[name]
		f.Name = name
		switch {
		case !nameRE.MatchString(name):
			return nil, fmt.Errorf("stack.yml: function name %q: want lower-case letters, digits and dashes", name)
		case seen[name]:
			return nil, fmt.Errorf("stack.yml: function %s listed twice", name)
		case f.Lang == "" || f.Handler == "" || f.Image == "":
			return nil, fmt.Errorf("stack.yml: function %s needs lang, handler and image", name)
		}
		if _, err := f.GC(); err != nil {
			return nil, fmt.Errorf("stack.yml: %w", err)
		}
		seen[name] = true
		s.Functions = append(s.Functions, f)
	}
	if s.Provider.Name != "openfaas" {
		return nil, fmt.Errorf("stack.yml: provider.name must be openfaas")
	}
	return &s, nil
}

// Function returns the function called name.
func (s *Stack) Function(name string) (Function, bool) {
	for _, f := range s.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}
