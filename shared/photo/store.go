package photo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// KeyPrefix is the prefix of every photo's object key; in public mode it is the only part of
// the bucket that anyone may read.
const KeyPrefix = "events/"

// Key is the content-addressed object key of a photo of an event: the same bytes uploaded
// twice land on the same object.
func Key(eventID int64, info Info) string {
	return KeyPrefix + strconv.FormatInt(eventID, 10) + "/" + info.SHA256 + "." + info.Format.Ext
}

// Store keeps photos in one bucket.
type Store struct {
	client *minio.Client
	bucket string
	urls   *URLs
}

// NewStore returns a Store on bucket and makes sure, idempotently, that the bucket exists and,
// when urls serve a public base URL, that its policy lets anyone read the photos (s3:GetObject
// on KeyPrefix only, nothing else of the bucket). In presigned mode the bucket stays private
// and its policy is left as it is.
func NewStore(ctx context.Context, client *minio.Client, bucket string, urls *URLs) (*Store, error) {
	if !urls.Configured() {
		return nil, fmt.Errorf("photo store on bucket %s: no way to serve photos (set PUBLIC_PHOTO_BASE_URL or S3_ENDPOINT)", bucket)
	}
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("check bucket %s: %w", bucket, err)
	}
	if !ok {
		if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			// Another instance starting at the same moment may have made it.
			if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return nil, fmt.Errorf("make bucket %s: %w", bucket, err)
			}
		}
	}
	if urls.Public() {
		if err := ensurePolicy(ctx, client, bucket); err != nil {
			return nil, err
		}
	}
	return &Store{client: client, bucket: bucket, urls: urls}, nil
}

// ReadPolicy is the bucket policy of public mode: anonymous GET of the photos only.
func ReadPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/` + KeyPrefix + `*"]}]}`
}

func ensurePolicy(ctx context.Context, client *minio.Client, bucket string) error {
	want := ReadPolicy(bucket)
	have, err := client.GetBucketPolicy(ctx, bucket)
	if err != nil {
		return fmt.Errorf("read policy of bucket %s: %w", bucket, err)
	}
	if sameJSON(have, want) {
		return nil
	}
	if err := client.SetBucketPolicy(ctx, bucket, want); err != nil {
		return fmt.Errorf("set read policy of bucket %s (PUBLIC_PHOTO_BASE_URL needs an S3 server with bucket policies; without it photos are served by presigned URLs): %w", bucket, err)
	}
	return nil
}

// sameJSON reports whether a and b hold the same JSON value (the server may reformat a
// policy it stores).
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x) // re-encoding a decoded value cannot fail
	ya, _ := json.Marshal(y) // same
	return bytes.Equal(xa, ya)
}

// Put stores the image Inspect returned (info.Data, without its metadata) as a photo of
// eventID and returns its key. A key that already holds the same number of bytes is not
// written again: keys are content addressed, so a repeated upload costs one HEAD.
func (s *Store) Put(ctx context.Context, eventID int64, info Info) (string, error) {
	key := Key(eventID, info)
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err == nil && st.Size == info.Bytes {
		return key, nil
	}
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return "", fmt.Errorf("stat %s: %w", key, err)
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(info.Data), info.Bytes, minio.PutObjectOptions{
		ContentType:  info.Format.ContentType,
		CacheControl: "public, max-age=31536000, immutable",
		UserMetadata: map[string]string{"width": strconv.Itoa(info.Width), "height": strconv.Itoa(info.Height)},
	})
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	return key, nil
}

// URL is where clients fetch the photo stored under key.
func (s *Store) URL(key string) string { return s.urls.URL(key) }

// URLs makes the URLs of photos: a public base URL followed by the key, or a presigned GET URL
// on the S3 endpoint.
type URLs struct {
	public string // base URL without a trailing slash, or ""

	endpoint  *url.URL // scheme and host of S3 as clients reach it
	bucket    string
	region    string
	accessKey string
	secretKey string
	now       func() time.Time
}

// Presigned URLs: S3 accepts at most 7 days. They are signed as of the start of the current
// UTC day (so that a photo's URL, and the ETag of an answer holding it, stays the same all
// day), so a URL handed out is valid for at least PresignValidity - SignStep = 6 days. Every
// cache that holds answers with URLs must drop them sooner than that (the hot cache keeps an
// answer CACHE_TTL, 5 minutes by default).
const (
	PresignValidity = 7 * 24 * time.Hour
	SignStep        = 24 * time.Hour
	MinValidity     = PresignValidity - SignStep
)

// PublicURLs serves photos under base (PUBLIC_PHOTO_BASE_URL, e.g.
// "https://photos.dostupno.ru" or "http://127.0.0.1:9000/dostupno-photos").
func PublicURLs(base string) (*URLs, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("PUBLIC_PHOTO_BASE_URL=%q: want an http or https URL", base)
	}
	return &URLs{public: strings.TrimRight(base, "/")}, nil
}

// PresignedURLs serves photos by presigned GET URLs on endpoint (host:port as clients reach
// it), valid for at least MinValidity after they are made.
func PresignedURLs(endpoint string, useSSL bool, bucket, region, accessKey, secretKey string) (*URLs, error) {
	if endpoint == "" || bucket == "" || accessKey == "" || secretKey == "" {
		return nil, fmt.Errorf("presigned photo URLs need the S3 endpoint, bucket and keys")
	}
	scheme := "http"
	if useSSL {
		scheme = "https"
	}
	if region == "" {
		region = "us-east-1"
	}
	return &URLs{endpoint: &url.URL{Scheme: scheme, Host: endpoint}, bucket: bucket, region: region,
		accessKey: accessKey, secretKey: secretKey, now: time.Now}, nil
}

// Configured reports whether u can make URLs at all.
func (u *URLs) Configured() bool { return u.public != "" || u.endpoint != nil }

// Public reports whether u serves a public base URL.
func (u *URLs) Public() bool { return u.public != "" }

// URL is the URL of the object key.
func (u *URLs) URL(key string) string {
	if u.public != "" {
		return u.public + "/" + escapePath(key)
	}
	if u.endpoint == nil {
		return ""
	}
	signedAt := u.now().UTC().Truncate(SignStep)
	return presignGet(u.endpoint, u.bucket, key, u.region, u.accessKey, u.secretKey, signedAt, PresignValidity)
}
