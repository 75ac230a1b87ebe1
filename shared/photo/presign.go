package photo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// presignGet returns a GET URL for bucket/key on endpoint signed with AWS Signature Version 4
// in the query string, as of signedAt and valid for expires. The S3 client library signs only
// as of now; signing as of a fixed instant keeps a photo's URL stable across renders.
func presignGet(endpoint *url.URL, bucket, key, region, accessKey, secretKey string, signedAt time.Time, expires time.Duration) string {
	amzDate := signedAt.Format("20060102T150405Z")
	day := signedAt.Format("20060102")
	scope := day + "/" + region + "/s3/aws4_request"
	host := canonicalHost(endpoint)
	path := "/" + escapePath(bucket) + "/" + escapePath(key)
	// Parameters in byte order of their names, names and values URI-encoded.
	query := "X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=" + escape(accessKey+"/"+scope) +
		"&X-Amz-Date=" + amzDate +
		"&X-Amz-Expires=" + strconv.FormatInt(int64(expires/time.Second), 10) +
		"&X-Amz-SignedHeaders=host"
	canonical := "GET\n" + path + "\n" + query + "\nhost:" + host + "\n\nhost\nUNSIGNED-PAYLOAD"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := mac([]byte("AWS4"+secretKey), day)
	k = mac(k, region)
	k = mac(k, "s3")
	k = mac(k, "aws4_request")
	sig := hex.EncodeToString(mac(k, toSign))
	return endpoint.Scheme + "://" + host + path + "?" + query + "&X-Amz-Signature=" + sig
}

func mac(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// canonicalHost is the Host header a client sends for endpoint: without the scheme's default
// port.
func canonicalHost(u *url.URL) string {
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return u.Host
	}
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return u.Host
}

// escape is the URI encoding of Signature Version 4: every byte but A-Z a-z 0-9 - . _ ~ as
// %XX in upper case.
func escape(s string) string { return encode(s, false) }

// escapePath is escape that keeps '/'.
func escapePath(s string) string { return encode(s, true) }

func encode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
