package devservices

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/dostupno/dostupno/shared/s3test"
)

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

// StartMinio runs `bin server` on a free loopback port with its data in dir and the given root
// keys (s3test.StartMinio), its output to logw (discarded when nil).
func StartMinio(bin, dir, accessKey, secretKey string, logw io.Writer) (*S3, error) {
	p, err := s3test.StartMinio(bin, dir, accessKey, secretKey, logw)
	if err != nil {
		return nil, err
	}
	return &S3{Endpoint: p.Endpoint, AccessKey: accessKey, SecretKey: secretKey, Dir: dir, Kind: "minio", Bin: bin, stop: p.Stop}, nil
}

// StartS3 starts minio if a binary is found, else the embedded S3 server, with data in dir.
func StartS3(dir, accessKey, secretKey string) (*S3, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if bin, err := s3test.FindMinio(); err == nil {
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
