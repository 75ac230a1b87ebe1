package devservices

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinioVersion is the minio release the README and CI install.
const MinioVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// S3 is an S3 server started by StartS3 or StartMinio.
type S3 struct {
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
	Dir       string
	Kind      string // "minio" (a minio process) or "embedded"
	Bin       string // the minio binary, for Kind "minio"

	stop func()
}

// Stop ends the server: SIGTERM to minio (SIGKILL after 5 s), or closing the embedded one.
func (s *S3) Stop() {
	if s.stop != nil {
		s.stop()
	}
}

// FindMinio returns the path of a minio binary on PATH or in $GOPATH/bin (default ~/go/bin).
func FindMinio() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir() // "" only without a home: then the next check fails plainly
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(filepath.SplitList(gopath)[0], "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("no minio binary on PATH or in GOPATH/bin; install it with 'go install github.com/minio/minio@" + MinioVersion + "'")
	}
	return p, nil
}

// StartMinio runs `bin server` on a free loopback port with its data in dir and the given root
// keys, its output to logw (discarded when nil). The process is killed if this one dies.
func StartMinio(bin, dir, accessKey, secretKey string, logw io.Writer) (*S3, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", "127.0.0.1:0", dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+accessKey, "MINIO_ROOT_PASSWORD="+secretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start minio: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // the exit status says nothing we need
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // already gone is fine
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill() // last resort
			<-exited
		}
	}
	s := &S3{Endpoint: addr, AccessKey: accessKey, SecretKey: secretKey, Dir: dir, Kind: "minio", Bin: bin, stop: stop}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("minio on %s exited at start", addr)
		default:
		}
		// The health probe turns ready before the object layer is; a signed request that
		// succeeds proves both, and the keys.
		if last = s.ping(); last == nil {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("minio on %s not ready after 30s: %v", addr, last)
}

// StartS3 starts minio if a binary is found, else the embedded S3 server, with data in dir.
func StartS3(dir, accessKey, secretKey string) (*S3, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if bin, err := FindMinio(); err == nil {
		// Its log beside its data; a file, so that the server never waits on a pipe.
		logf, err := os.OpenFile(dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer logf.Close() // the child holds its own descriptor
		s, err := StartMinio(bin, dir, accessKey, secretKey, logf)
		if err != nil {
			return nil, fmt.Errorf("%w (its output: %s)", err, logf.Name())
		}
		return s, nil
	}
	return StartEmbeddedS3(dir, accessKey, secretKey)
}

func (s *S3) client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
}

func (s *S3) ping() error {
	cl, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = cl.ListBuckets(ctx)
	return err
}

// EnsureBucket creates bucket on s unless it exists.
func (s *S3) EnsureBucket(ctx context.Context, bucket string) error {
	cl, err := s.client()
	if err != nil {
		return err
	}
	ok, err := cl.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("look up bucket %s: %w", bucket, err)
	}
	if !ok {
		if err := cl.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	return nil
}
