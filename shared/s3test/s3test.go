// Package s3test gives each test its own bucket on a real MinIO server: TEST_S3_ENDPOINT
// (keys TEST_S3_ACCESS_KEY / TEST_S3_SECRET_KEY, default minioadmin), or else a `minio`
// server that the package starts once per test process from PATH or $(go env GOPATH)/bin, on
// a free loopback port, and that dies with the process.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
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

// FindMinio returns the path of a minio binary on PATH or in GOPATH/bin.
func FindMinio() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir() // "" only without a home: then the next check fails plainly
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("no minio binary on PATH or in GOPATH/bin; install it with 'go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c'")
	}
	return p, nil
}

// Start runs a minio server on a free loopback port with its data in dir, killed when this
// process dies; stop ends it.
func Start(bin, dir, user, password string) (srv Server, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Server{}, nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", "127.0.0.1:0", dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+password,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return Server{}, nil, fmt.Errorf("start minio: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // already gone is fine
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }() // its exit status says nothing we need
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill() // last resort
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return Server{Endpoint: addr, AccessKey: user, SecretKey: password}, stop, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return Server{}, nil, fmt.Errorf("minio on %s not ready after 30s", addr)
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
