package s3test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestBucketRoundTrip(t *testing.T) {
	e := New(t)
	ctx := context.Background()
	if err := e.Client.MakeBucket(ctx, e.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.PutObject(ctx, e.Bucket, "a.txt", bytes.NewReader([]byte("hello")), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := e.Client.GetObject(ctx, e.Bucket, "a.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(obj)
	if err != nil || string(b) != "hello" {
		t.Fatalf("got %q, %v; want hello", b, err)
	}
}
