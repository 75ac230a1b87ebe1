package instance

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/pgdb"
	"github.com/dostupno/dostupno/shared/search"
)

// The read side's wiring: what search-events, get-event and cache-snapshot assemble from an
// instance's configuration and connections.

// OpenReader builds the search.Reader of a read function's instance: DATABASE_READ_URL, else
// DATABASE_URL, its vocabulary reloaded at most once a minute, and photo URLs as PhotoURL
// makes them.
func OpenReader(d *Deps) (*search.Reader, error) { return openReader(d, d.ReadPool) }

// OpenPrimary is OpenReader on the primary copy (DATABASE_URL), for cache-snapshot, which
// recomputes answers as the read functions build them and stores its snapshots there.
func OpenPrimary(d *Deps) (*search.Reader, error) { return openReader(d, d.Pool) }

func openReader(d *Deps, open func() (*pgxpool.Pool, error)) (*search.Reader, error) {
	if err := d.Config.Require("DATABASE_URL"); err != nil {
		return nil, err
	}
	pool, err := open()
	if err != nil {
		return nil, err
	}
	photoURL, err := PhotoURL(d.Config)
	if err != nil {
		return nil, err
	}
	return &search.Reader{DB: pool, Vocab: search.NewVocab(pool, time.Minute), PhotoURL: photoURL,
		Shared: search.Shared{Kept: search.NewKeptDetails(0), Batch: pgdb.NewBatcher(pool, 0)}}, nil
}

// PhotoURL returns the function that turns a photo's object key into the URL the answers
// carry: PUBLIC_PHOTO_BASE_URL + "/" + key, or a presigned GET URL on S3_ENDPOINT valid for
// at least photo.MinValidity after it is made (see PhotoURLs).
func PhotoURL(cfg config.Config) (func(objectKey string) string, error) {
	u, err := PhotoURLs(cfg)
	if err != nil {
		return nil, err
	}
	return u.URL, nil
}

// CacheBounds are the bounds of a read function's cache in cfg (CACHE_MAX_ENTRIES,
// CACHE_MAX_BYTES, CACHE_TTL); a zero byte bound or TTL takes hotcache's default, and
// CACHE_MAX_ENTRIES=0 turns the cache off.
func CacheBounds(cfg config.Config) hotcache.Bounds {
	return hotcache.Bounds{Entries: cfg.CacheEntries, Bytes: cfg.CacheBytes, TTL: cfg.CacheTTL}
}

// StartCache builds a read function's cache from d: bounded by CacheBounds, following the
// change feed on NATS, and warmed from the newest snapshot (srcs by key kind) within
// hotcache.WarmTimeout. Without NATS_URL the cache follows no feed: every write goes through
// the write log on NATS, so there is then nothing to follow. When NATS is configured but
// cannot be subscribed to, the cache stays suspended (serves nothing) until the feed is
// reachable. The warm start's connection is opened while NATS connects (openEarly).
func StartCache(d *Deps, srcs map[string]hotcache.Source) *hotcache.Local {
	c := hotcache.New(CacheBounds(d.Config))
	log := d.Log
	pool, poolErr := d.Pool()
	var opened <-chan error
	if poolErr == nil {
		octx, ocancel := context.WithTimeout(context.Background(), hotcache.WarmTimeout)
		defer ocancel()
		opened = openEarly(octx, pool)
	}
	if d.Config.NatsURL == "" {
		log.Info("cache: NATS_URL not set; the cache follows no change feed")
	} else {
		nc, err := d.NATS()
		if err == nil {
			_, err = hotcache.Subscribe(nc, d.Config.Namespace, c, log)
		}
		if err != nil {
			log.Error("cache: cannot follow the change feed; serving uncached", "err", err)
			c.Suspend()
			return c
		}
	}
	if c.Suspended() {
		return c
	}
	if poolErr != nil {
		log.Warn("cache: warm start skipped", "err", poolErr)
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), hotcache.WarmTimeout)
	defer cancel()
	start := time.Now()
	var err error
	select {
	case err = <-opened:
	case <-ctx.Done():
		err = ctx.Err()
	}
	n := 0
	if err == nil {
		n, err = hotcache.WarmStart(ctx, pool, c, srcs)
	}
	if err != nil {
		c.Clear()
		log.Warn("cache: warm start failed; starting cold", "err", err, "took_ms", time.Since(start).Milliseconds())
		return c
	}
	log.Info("cache: warm start", "entries", n, "took_ms", time.Since(start).Milliseconds())
	return c
}

// openEarly opens a connection of pool in the background and returns a channel that gets
// nil once it is in the pool, or the error that kept it from opening (the warm start is then
// not tried: it would meet the same). A new Postgres backend cost 13-24 ms on the benchmark's
// machines and NATS's connection and subscription 1-9 (docs/PERFORMANCE.md, the twenty-fifth
// machine): opened side by side, the warm start after the subscription finds the connection
// ready instead of opening it then. The warm start waits on the channel, as a second Acquire
// while the first is connecting would open a second connection.
func openEarly(ctx context.Context, pool *pgxpool.Pool) <-chan error {
	done := make(chan error, 1)
	go func() {
		conn, err := pool.Acquire(ctx)
		if err == nil {
			conn.Release()
		}
		done <- err
	}()
	return done
}

// NeedsFor returns the saved-needs source of a read function of d reading users from db: it
// follows the change feed when NATS is configured (else entries live account.NeedsTTL at
// most).
func NeedsFor(d *Deps, db pgdb.DBTX) *account.Needs {
	n := account.NewNeeds(db)
	if d.Config.NatsURL == "" {
		return n
	}
	nc, err := d.NATS()
	if err == nil {
		err = n.Follow(nc, d.Config.Namespace, d.Log)
	}
	if err != nil {
		d.Log.Warn("needs: not following the change feed; saved needs may be up to NeedsTTL old", "err", err)
	}
	return n
}

// ReadServer is what a read function's instance holds (get-event and search-events embed it):
// its Deps, the read copy of OpenReader and the cache of its answers. Cache may be replaced
// before the function's handler is built.
type ReadServer struct {
	Deps *Deps
	*search.Reader

	Cache hotcache.Cache
}

// NewReadServer opens the read copy and starts the cache on the sources made from it: the
// cache follows the change feed and starts warm from the newest snapshot (StartCache).
func NewReadServer(d *Deps, sources func(*search.Reader) map[string]hotcache.Source) (*ReadServer, error) {
	rd, err := OpenReader(d)
	if err != nil {
		return nil, err
	}
	return &ReadServer{Deps: d, Reader: rd, Cache: StartCache(d, sources(rd))}, nil
}

// Fail answers err in the contract's envelope (X-Cache stays the "miss" that
// middleware.WrapRead puts on every answer).
func (s *ReadServer) Fail(w http.ResponseWriter, r *http.Request, err error) {
	httpjson.Error(w, r, s.Deps.Log, err)
}
