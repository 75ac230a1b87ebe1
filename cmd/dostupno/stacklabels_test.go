package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The autoscaling labels of stack.yml are what OpenFaaS's autoscaler on Kubernetes reads
// (README, "Past one VM"): only labels it knows, each a value it accepts (type rps, capacity
// or cpu; target, min and max whole numbers, min at most max; target-proportion a share;
// zero a boolean, zero-duration a duration), every function with its bounds (min and max),
// and db-writer, cache-snapshot and catch-up never more than one replica (one applier per
// copy; one snapshot a round; one catch-up round a minute). Every function that uses NATS
// (names NATS_URL) names WRITELOG_REPLICAS, all alike.
func TestStackScalingLabels(t *testing.T) {
	st := repoStack(t)
	const prefix = "com.openfaas.scale."
	replicas := "" // WRITELOG_REPLICAS of the functions that use NATS
	for _, f := range st.Functions {
		count := func(key string) int {
			t.Helper()
			v, ok := f.Labels[prefix+key]
			if !ok {
				return -1
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				t.Errorf("%s: %s%s=%q, want a whole number", f.Name, prefix, key, v)
			}
			return n
		}
		for k, v := range f.Labels {
			key, ok := strings.CutPrefix(k, prefix)
			if !ok {
				continue
			}
			switch key {
			case "min", "max", "target":
				count(key)
			case "type":
				if !slices.Contains([]string{"rps", "capacity", "cpu"}, v) {
					t.Errorf("%s: %s=%q, want rps, capacity or cpu", f.Name, k, v)
				}
			case "target-proportion":
				if p, err := strconv.ParseFloat(v, 64); err != nil || p <= 0 || p > 1 {
					t.Errorf("%s: %s=%q, want a share in (0, 1]", f.Name, k, v)
				}
			case "zero":
				if _, err := strconv.ParseBool(v); err != nil {
					t.Errorf("%s: %s=%q, want true or false", f.Name, k, v)
				}
			case "zero-duration":
				if _, err := time.ParseDuration(v); err != nil {
					t.Errorf("%s: %s=%q, want a duration", f.Name, k, v)
				}
			default:
				t.Errorf("%s: %s is no label the autoscaler reads", f.Name, k)
			}
		}
		lo, hi := count("min"), count("max")
		if lo < 0 || hi < 0 {
			t.Errorf("%s: scale.min %d, scale.max %d, want both set", f.Name, lo, hi)
		}
		if lo > 0 && hi >= 0 && lo > hi {
			t.Errorf("%s: scale.min %d above scale.max %d", f.Name, lo, hi)
		}
		if _, typed := f.Labels[prefix+"type"]; typed && count("target") <= 0 {
			t.Errorf("%s: a scaling type without a positive target", f.Name)
		}
		if (f.Name == "db-writer" || f.Name == "cache-snapshot" || f.Name == "catch-up") && hi != 1 {
			t.Errorf("%s: scale.max %d, want 1", f.Name, hi)
		}
		if _, nats := f.Environment["NATS_URL"]; nats {
			v, ok := f.Environment["WRITELOG_REPLICAS"]
			if !ok || v != replicas && replicas != "" {
				t.Errorf("%s: WRITELOG_REPLICAS %q (set %v), want it as every other function's (%q)", f.Name, v, ok, replicas)
			}
			replicas = v
		}
	}
	if replicas == "" {
		t.Error("no function names WRITELOG_REPLICAS")
	}
}
