// Package s3test gives each test its own bucket on a real MinIO server: TEST_S3_ENDPOINT
// (keys TEST_S3_ACCESS_KEY / TEST_S3_SECRET_KEY, default minioadmin), or else a `minio`
// server that the package starts once per test process from PATH or $(go env GOPATH)/bin, on
// a free loopback port, and that dies with the process.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/dostupno/dostupno/shared/pgtest"
)

// Server is an S3 endpoint and its keys.
type Server struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
}

// Env is one test's bucket.
type Env struct {
	Server
	Bucket string
	Client *minio.Client
}

var (
	startOnce sync.Once
	started   Server
	startErr  error
)

// Start runs a minio server on a free loopback port with its data in dir, killed when this
// process dies; stop ends it.
func Start(bin, dir, user, password string) (srv Server, stop func(), err error) {
	p, err := StartMinio(bin, dir, user, password, nil)
	if err != nil {
		return Server{}, nil, err
	}
	return Server{Endpoint: p.Endpoint, AccessKey: user, SecretKey: password}, p.Stop, nil
}

func server() (Server, error) {
	if ep := os.Getenv("TEST_S3_ENDPOINT"); ep != "" {
		s := Server{Endpoint: ep, AccessKey: os.Getenv("TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("TEST_S3_SECRET_KEY")}
		if s.AccessKey == "" {
			s.AccessKey, s.SecretKey = "minioadmin", "minioadmin"
		}
		return s, nil
	}
	startOnce.Do(func() {
		bin, err := FindMinio()
		if err != nil {
			startErr = err
			return
		}
		dir, err := os.MkdirTemp("", "s3test-")
		if err != nil {
			startErr = err
			return
		}
		started, _, startErr = Start(bin, dir, "minioadmin", "minioadmin")
	})
	return started, startErr
}

// New creates a fresh bucket for t on the test server; it is emptied and removed when t ends.
func New(t testing.TB) *Env {
	t.Helper()
	srv, err := server()
	if err != nil {
		pgtest.Missing(t, "MinIO", "TEST_S3_ENDPOINT", "install minio (see README)", err)
	}
	cl, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	bucket := "t-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ok, err := cl.BucketExists(ctx, bucket)
		if err != nil || !ok {
			return
		}
		for obj := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = cl.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}) // bucket removal below reports leftovers
			}
		}
		if err := cl.RemoveBucket(ctx, bucket); err != nil {
			t.Errorf("s3test: remove bucket %s: %v", bucket, err)
		}
	})
	return &Env{Server: srv, Bucket: bucket, Client: cl}
}
