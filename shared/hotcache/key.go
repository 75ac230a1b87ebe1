package hotcache

import (
	"fmt"
	"net/url"
	"strings"
)

// KindOf is the kind of a cache key "<kind>:<parameters>" ("" if it has none).
func KindOf(key string) string {
	kind, _, ok := strings.Cut(key, ":")
	if !ok {
		return ""
	}
	return kind
}

// ParseKey splits a cache key into its kind and parameters.
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
