// Package function is the upload-photo OpenFaaS function: POST /{event_id} with the image
// bytes (admins only) checks the image, stores it in S3 under a content-addressed key and
// records it on the event through the write log; 201 {"photo":{url,width,height,content_type}}.
package function

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/photo"
)

// Name is the function's name in stack.yml.
const Name = "upload-photo"

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS, S3 or jwt-public-key, and creates the bucket (and, with a public base URL, its
// read policy) if they are missing.
func New(d *instance.Deps) (http.Handler, error) {
	if err := d.CheckWriter(instance.VerifyTokens); err != nil {
		return nil, err
	}
	if err := d.Config.Require("S3_ENDPOINT"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := d.S3()
	if err != nil {
		return nil, err
	}
	urls, err := instance.PhotoURLs(d.Config)
	if err != nil {
		return nil, err
	}
	store, err := photo.NewStore(ctx, client, d.Config.S3Bucket, urls)
	if err != nil {
		return nil, err
	}
	s := &server{deps: d, store: store}
	return middleware.Wrap(d, middleware.Answer(d, s.upload)), nil
}

type server struct {
	deps  *instance.Deps
	store *photo.Store
}

// Photo is the answer's photo (shared/apidoc/openapi.yaml, Photo).
type Photo struct {
	URL         string `json:"url"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"content_type"`
}

func (s *server) upload(w http.ResponseWriter, r *http.Request) error {
	p, err := s.handle(w, r)
	if err != nil {
		return err
	}
	w.Header().Set("Location", p.URL)
	httpjson.Write(w, http.StatusCreated, struct {
		Photo Photo `json:"photo"`
	}{p})
	return nil
}

func (s *server) handle(w http.ResponseWriter, r *http.Request) (Photo, error) {
	if err := httpjson.Method(w, r, http.MethodPost); err != nil {
		return Photo{}, err
	}
	if _, err := middleware.RequireAdmin(r, s.deps); err != nil {
		return Photo{}, err
	}
	id, err := strconv.ParseInt(strings.Trim(r.URL.Path, "/"), 10, 64)
	if err != nil || id <= 0 {
		return Photo{}, apperr.Invalid("event_id", "the path must be /{event_id} with a positive integer id")
	}
	f, err := photo.Declared(r.Header.Get("Content-Type"))
	if err != nil {
		return Photo{}, err
	}
	if r.ContentLength > photo.MaxBytes {
		return Photo{}, apperr.New(apperr.PayloadTooLarge, "the image is larger than %d MiB", photo.MaxBytes>>20)
	}
	ctx := r.Context()
	wr, err := s.deps.Writer(ctx)
	if err != nil {
		return Photo{}, err
	}
	db, err := s.deps.Pool()
	if err != nil {
		return Photo{}, apperr.Wrap(err, "upload photo")
	}
	if ok, err := photo.EventExists(ctx, db, id); err != nil {
		return Photo{}, apperr.Wrap(err, "upload photo")
	} else if !ok {
		return Photo{}, apperr.New(apperr.NotFound, "event %d not found", id)
	}
	body, err := photo.ReadBody(http.MaxBytesReader(w, r.Body, photo.MaxBytes))
	if err != nil {
		return Photo{}, err
	}
	info, err := photo.Inspect(body, f)
	if err != nil {
		return Photo{}, err
	}
	key, err := s.store.Put(ctx, id, info)
	if err != nil {
		return Photo{}, &apperr.Error{Code: apperr.Unavailable, Message: "the photo store is unavailable; try again shortly", RetryAfter: 5 * time.Second, Err: err}
	}
	if _, err := photo.Add(ctx, wr, time.Now(), photo.Added{EventID: id, Key: key,
		ContentType: info.Format.ContentType, Width: info.Width, Height: info.Height, Bytes: info.Bytes}); err != nil {
		return Photo{}, err
	}
	return Photo{URL: s.store.URL(key), Width: info.Width, Height: info.Height, ContentType: info.Format.ContentType}, nil
}
