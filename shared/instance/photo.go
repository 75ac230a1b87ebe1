package instance

import (
	"fmt"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/photo"
)

// PhotoURLs returns the photo URLs of cfg: PUBLIC_PHOTO_BASE_URL when it is set, else
// presigned URLs on S3_ENDPOINT signed with the s3-access-key and s3-secret-key secrets. In
// presigned mode the cache age bound (CACHE_TTL) and the time an answer may be served stale
// past it (hotcache.DefaultStale) must stay below photo.MinValidity, so that no cached answer
// ever holds an expired URL. With neither variable set there is no
// photo store: the URLs are not Configured and make empty strings (a read function still
// serves events; it logs that photos cannot be served).
func PhotoURLs(cfg config.Config) (*photo.URLs, error) {
	if cfg.PublicPhotoBase != "" {
		return photo.PublicURLs(cfg.PublicPhotoBase)
	}
	if cfg.S3Endpoint == "" {
		return &photo.URLs{}, nil
	}
	if cfg.CacheTTL+hotcache.DefaultStale >= photo.MinValidity {
		return nil, fmt.Errorf("CACHE_TTL=%s: presigned photo URLs stay valid %s after they are made, and a cached answer may be served %s past CACHE_TTL while the database is away; use a shorter cache age or PUBLIC_PHOTO_BASE_URL",
			cfg.CacheTTL, photo.MinValidity, hotcache.DefaultStale)
	}
	ak, err := cfg.Secret("s3-access-key")
	if err != nil {
		return nil, err
	}
	sk, err := cfg.Secret("s3-secret-key")
	if err != nil {
		return nil, err
	}
	return photo.PresignedURLs(cfg.S3Endpoint, cfg.S3UseSSL, cfg.S3Bucket, "", string(ak), string(sk))
}
