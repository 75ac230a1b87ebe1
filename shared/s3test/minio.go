package s3test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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

// Process is a minio server started by StartMinio.
type Process struct {
	Endpoint string // host:port, plain HTTP
	Stop     func() // SIGTERM, then SIGKILL after 5 s
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
// keys, its output to logw (discarded when nil), and returns once it serves signed requests.
// The process is killed if this one dies. The tests start it through Start; the local runner
// starts its own S3 with it too.
func StartMinio(bin, dir, accessKey, secretKey string, logw io.Writer) (*Process, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close() // minio binds it itself; it was free a moment ago
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
	cl, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err != nil {
		stop()
		return nil, err
	}
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
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, last = cl.ListBuckets(ctx)
		cancel()
		if last == nil {
			return &Process{Endpoint: addr, Stop: stop}, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("minio on %s not ready after 30s: %v", addr, last)
}
