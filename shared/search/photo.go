package search

import (
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
)

// PhotoURL returns the function that turns a photo's object key into the URL the answers
// carry: PUBLIC_PHOTO_BASE_URL + "/" + key, or a presigned GET URL on S3_ENDPOINT valid for
// at least photo.MinValidity after it is made (see instance.PhotoURLs).
func PhotoURL(cfg config.Config) (func(objectKey string) string, error) {
	u, err := instance.PhotoURLs(cfg)
	if err != nil {
		return nil, err
	}
	return u.URL, nil
}
