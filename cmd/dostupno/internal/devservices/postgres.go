package devservices

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresDatabase is the database StartPostgres creates in its cluster.
const PostgresDatabase = "dostupno"

// Postgres is a private PostgreSQL cluster started by StartPostgres.
type Postgres struct {
	URL     string // postgres://postgres@127.0.0.1:PORT/dostupno?sslmode=disable
	Port    int
	Dir     string // the cluster's folder: data/, run/ (socket), postgres.log
	Version string // major version of the binaries, e.g. "15"
	User    string // the system user the server runs as
	// Moved says why the cluster is not under the folder asked for, and where it is ("" when
	// it is there).
	Moved string
	// Restarted is true when a server left running by an earlier run was stopped first.
	Restarted bool

	bin  string
	cred *syscall.Credential
}

// errNoPostgres tells how to get the binaries.
var errNoPostgres = errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin; " +
	"install them with 'apt-get install postgresql' (Debian, Ubuntu) or your system's PostgreSQL server package, or set DATABASE_URL to a running server")

// FindPostgres returns the folder holding initdb, pg_ctl and postgres: the one pg_ctl on PATH
// lives in, else the newest /usr/lib/postgresql/<version>/bin.
func FindPostgres() (string, error) { return findPostgres("/usr/lib/postgresql/*/bin") }

func findPostgres(glob string) (string, error) {
	complete := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && complete(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if complete(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob(glob) // the pattern is valid: no error
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if complete(d) {
			return d, nil
		}
	}
	return "", errNoPostgres
}

// versionOf reads the major version from a path such as /usr/lib/postgresql/15/bin (0 if none).
func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64) // not a number: 0
	return v
}

// runAs is the credential to run PostgreSQL under: none for an ordinary user; for root, whom
// initdb and postgres refuse, the system user "postgres" or else "nobody".
func runAs() (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return nil, strconv.Itoa(os.Geteuid()), nil
		}
		return nil, u.Username, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, name, nil
	}
	return nil, "", errors.New("running as root, and PostgreSQL refuses to run as root: create a system user 'postgres' (apt-get install postgresql does) or run as an ordinary user")
}

// PostgresSettings are the server settings of a Dostupno copy, passed as "-c" options here
// and by docker-compose.yml (a test keeps the two alike), sized for the deployment's VM (4 GB:
// a quarter for shared buffers). Durability stays as Postgres ships it (fsync,
// full_page_writes and synchronous_commit on); these make room for the write path of an
// import, which touches about a dozen index pages per event all over the indexes: with the
// stock 128 MB of shared buffers and 1 GB of WAL between checkpoints, pages were evicted and
// written again before their next use, and every checkpoint restarted full-page images. The
// README's import section has the figures.
//
// huge_pages=try (Postgres's default, stated): the shared memory in 2 MB pages where the
// kernel has them reserved (the deployment's VM does: deploy/60-dostupno-hugepages.conf, whose
// count a test checks against what Postgres asks for with these settings), else in 4 KB ones.
// Every backend maps each page of the shared memory it touches on its first touch: in 4 KB
// pages, a new backend's first statements paid 7-8 ms for 500 buffers already in memory, and a
// function's cold start with the largest snapshot 290-360 ms against 220-260 in 2 MB pages
// (docs/PERFORMANCE.md, the twentieth machine).
var PostgresSettings = []string{
	"shared_buffers=1GB",
	"max_wal_size=8GB",
	"checkpoint_timeout=30min",
	"wal_compression=lz4",
	"wal_buffers=64MB",
	"huge_pages=try",
}

// StartPostgres starts (creating it on first use) a private cluster under dir on a free
// loopback port with trust authentication and PostgresSettings, its socket under dir, and makes sure the database
// PostgresDatabase exists. When run as root the server runs as the system user postgres (or
// nobody) and dir is given to that user; its parent folders must be searchable by it.
func StartPostgres(ctx context.Context, dir string) (*Postgres, error) {
	bin, err := FindPostgres()
	if err != nil {
		return nil, err
	}
	cred, userName, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, bin: bin, cred: cred, User: userName, Version: filepath.Base(filepath.Dir(bin))}
	if cred != nil {
		if err := searchable(filepath.Dir(dir), int(cred.Uid)); err != nil {
			// Under a folder the server's user cannot enter (root's home, say): keep the
			// cluster in a folder of its own under /var/tmp, named after dir, and leave a
			// pointer to it in dir.
			sum := sha256.Sum256([]byte(dir))
			p.Dir = filepath.Join(varTmp(), "dostupno-postgres-"+hex.EncodeToString(sum[:6]))
			p.Moved = fmt.Sprintf("%v; the cluster lives in %s instead", err, p.Dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			note := "The PostgreSQL cluster of this folder lives in " + p.Dir + "\n(the user " + userName + " that runs it cannot enter this folder).\n"
			if err := os.WriteFile(filepath.Join(dir, "CLUSTER-LOCATION"), []byte(note), 0o644); err != nil {
				return nil, err
			}
		}
	}
	data, run := filepath.Join(p.Dir, "data"), filepath.Join(p.Dir, "run")
	for _, d := range []string{p.Dir, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if cred != nil {
		if err := chownTree(p.Dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
		if err := searchable(filepath.Dir(p.Dir), int(cred.Uid)); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := p.initdb(ctx, data); err != nil {
			return nil, err
		}
	}
	// A cluster left running by a runner that was killed: stop it, so that it restarts on a
	// port chosen now and with this run's settings.
	if p.pgctl(ctx, "status", "-D", data) == nil {
		if err := p.pgctl(ctx, "stop", "-D", data, "-m", "fast", "-w", "-t", "60"); err != nil {
			return nil, fmt.Errorf("stop the cluster left running in %s: %w", data, err)
		}
		p.Restarted = true
	}
	if p.Port, err = FreePort(); err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, PostgresDatabase)
	if err := p.createDatabase(ctx); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) initdb(ctx context.Context, data string) error {
	var last error
	for _, locale := range []string{"C.UTF-8", "C"} {
		_ = os.RemoveAll(data) // a half-made cluster from a failed attempt; absent is fine
		if err := os.Mkdir(data, 0o700); err != nil {
			return err
		}
		if p.cred != nil {
			if err := os.Chown(data, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				return err
			}
		}
		cmd := p.command(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale="+locale)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		last = fmt.Errorf("initdb %s: %w: %s", data, err, bytes.TrimSpace(out))
	}
	_ = os.RemoveAll(data) // leave no broken cluster behind; the next start tries again
	return last
}

func (p *Postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// pgctl runs pg_ctl with its output in dir/pg_ctl.log (a file, not a pipe: the server it
// starts outlives the command).
func (p *Postgres) pgctl(ctx context.Context, args ...string) error {
	logPath := filepath.Join(p.Dir, "pg_ctl.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := p.command(ctx, "pg_ctl", args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(logPath) // best effort: the error stands without it
		return fmt.Errorf("pg_ctl %s: %w: %s", args[0], err, bytes.TrimSpace(b))
	}
	return nil
}

func (p *Postgres) createDatabase(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port))
	if err != nil {
		return fmt.Errorf("connect to the private cluster: %w", err)
	}
	defer c.Close(context.Background())
	var exists bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, PostgresDatabase).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", PostgresDatabase, err)
	}
	if !exists {
		if _, err := c.Exec(ctx, "CREATE DATABASE "+PostgresDatabase); err != nil {
			return fmt.Errorf("create database %s: %w", PostgresDatabase, err)
		}
	}
	return nil
}

// Start starts the cluster's server on its port (p.Port) with PostgresSettings and returns
// once it accepts connections: StartPostgres calls it, and so does a test that restarts the
// cluster after Stop (clients reconnect to the same URL).
func (p *Postgres) Start(ctx context.Context) error {
	data, sock := filepath.Join(p.Dir, "data"), filepath.Join(p.Dir, "run")
	if len(sock)+len("/.s.PGSQL.65535.lock") > 100 { // unix socket paths are limited to 107 bytes
		sock = ""
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s", p.Port, shellQuote(sock))
	for _, kv := range PostgresSettings {
		opts += " -c " + kv
	}
	logPath := filepath.Join(p.Dir, "postgres.log")
	if err := p.pgctl(ctx, "start", "-D", data, "-l", logPath, "-w", "-t", "60", "-o", opts); err != nil {
		return fmt.Errorf("start PostgreSQL in %s: %w%s", data, err, tail(logPath))
	}
	return nil
}

// Stop shuts the cluster down (fast mode: sessions are ended, committed work is kept).
func (p *Postgres) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return p.pgctl(ctx, "stop", "-D", filepath.Join(p.Dir, "data"), "-m", "fast", "-w", "-t", "60")
}

// Running reports whether the cluster's server is up.
func (p *Postgres) Running() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.pgctl(ctx, "status", "-D", filepath.Join(p.Dir, "data")) == nil
}

// varTmp is the folder for a cluster moved out of reach: /var/tmp survives reboots where it
// exists.
func varTmp() string {
	if st, err := os.Stat("/var/tmp"); err == nil && st.IsDir() {
		return "/var/tmp"
	}
	return os.TempDir()
}

func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// searchable checks that uid can reach into dir: every folder from / to dir must let it pass.
func searchable(dir string, uid int) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		mode := st.Mode().Perm()
		owner := -1
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			owner = int(sys.Uid)
		}
		if mode&0o001 == 0 && !(owner == uid && mode&0o100 != 0) {
			return fmt.Errorf("PostgreSQL runs as uid %d, which cannot enter %s (mode %v); choose a --data folder it can reach or 'chmod o+x %s'", uid, d, mode, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tail returns the end of a log file for an error message, or "".
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n" + path + ":\n" + string(bytes.TrimSpace(b))
}
