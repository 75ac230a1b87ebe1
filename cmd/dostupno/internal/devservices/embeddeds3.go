package devservices

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// StartEmbeddedS3 serves an S3-compatible API inside this process on a free loopback port,
// storing buckets and objects as files under dir. It is for development only: it does not
// check request signatures, so any keys are accepted (it listens on 127.0.0.1 alone).
func StartEmbeddedS3(dir, accessKey, secretKey string) (*S3, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	backend, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), dir))
	if err != nil {
		return nil, fmt.Errorf("embedded S3 store in %s: %w", dir, err)
	}
	faker := gofakes3.New(backend, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "embedded S3: %v\n", err)
		}
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // on timeout the listener is closed all the same
		<-done
	}
	return &S3{Endpoint: l.Addr().String(), AccessKey: accessKey, SecretKey: secretKey, Dir: dir, Kind: "embedded", stop: stop}, nil
}
