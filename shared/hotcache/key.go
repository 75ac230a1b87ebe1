package hotcache

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Key builds a normalised cache key "<kind>:<parameters>": parameters sorted by name, each
// one's values trimmed, deduplicated and sorted (the order a client lists codes in does not
// matter), empty values and parameters without values dropped, URL-encoded. The caller
// lower-cases or expands what its contract treats as equal (slugs, profiles) before calling;
// ParseKey gives the parameters back.
//
// Keys must stay the same over time for the same question, or a snapshot is of no use to the
// next instance: a defaulted "from" (now) is better left out of the key than rounded into it.
func Key(kind string, params url.Values) string {
	clean := url.Values{}
	for name, vals := range params {
		var vs []string
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			continue
		}
		slices.Sort(vs)
		clean[name] = slices.Compact(vs)
	}
	return kind + ":" + clean.Encode() // Encode sorts by name
}

// KindOf is the kind of a key made by Key ("" if it has none).
func KindOf(key string) string {
	kind, _, ok := strings.Cut(key, ":")
	if !ok {
		return ""
	}
	return kind
}

// ParseKey splits a key made by Key into its kind and parameters.
func ParseKey(key string) (kind string, params url.Values, err error) {
	kind, rest, ok := strings.Cut(key, ":")
	if !ok || kind == "" {
		return "", nil, fmt.Errorf("cache key %q: want <kind>:<parameters>", key)
	}
	params, err = url.ParseQuery(rest)
	if err != nil {
		return "", nil, fmt.Errorf("cache key %q: %w", key, err)
	}
	return kind, params, nil
}
