package devservices

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/s3test"
	"github.com/dostupno/dostupno/shared/token"
)

// reachableTempDir is a temporary folder that a server running as another user (PostgreSQL
// under root) can enter, removed when t ends.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "devservices-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// missing fails t for a binary the machine lacks, or skips it where services are optional.
func missing(t *testing.T, err error) {
	t.Helper()
	if pgtest.ServicesOptional() {
		t.Skipf("DOSTUPNO_SERVICES_OPTIONAL=1: %v", err)
	}
	t.Fatal(err)
}

func TestPostgresStartsPrivateClusterAndRestarts(t *testing.T) {
	if _, err := FindPostgres(); err != nil {
		missing(t, err)
	}
	ctx := context.Background()
	dir := filepath.Join(reachableTempDir(t), "postgres")
	pg, err := StartPostgres(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if pg.Running() {
			pg.Stop()
		}
	})
	if !strings.HasSuffix(strings.SplitN(pg.URL, "?", 2)[0], "/"+PostgresDatabase) {
		t.Fatalf("got URL %s, want database %s", pg.URL, PostgresDatabase)
	}
	query := func(pg *Postgres, q string) string {
		t.Helper()
		c, err := pgx.Connect(ctx, pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var s string
		if err := c.QueryRow(ctx, q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := query(pg, `SHOW server_encoding`); got != "UTF8" {
		t.Fatalf("got encoding %s, want UTF8", got)
	}
	for _, kv := range PostgresSettings {
		name, want, _ := strings.Cut(kv, "=")
		if got := query(pg, `SELECT current_setting('`+name+`')`); got != want {
			t.Errorf("got %s = %s, want %s", name, got, want)
		}
	}
	// The huge pages the deployment's VM reserves hold the shared memory Postgres asks for
	// with these settings (in pages of the kernel's huge page size; Postgres 15 and later say).
	if need := query(pg, `SELECT coalesce(current_setting('shared_memory_size_in_huge_pages', true), '')`); need == "" {
		t.Logf("Postgres before 15 does not say how many huge pages it asks for: not compared with deploy/60-dostupno-hugepages.conf")
	} else if have := reservedHugePages(t); atoi(t, need) > have {
		t.Errorf("Postgres with the deployment's settings asks for %s huge pages; deploy/60-dostupno-hugepages.conf reserves %d", need, have)
	}
	c, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes')`); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)

	// A second start without a stop is what follows a runner that was killed: the old server
	// is stopped and the cluster starts again on a new port, data kept.
	again, err := StartPostgres(ctx, dir)
	if err != nil {
		t.Fatalf("start over a running cluster: %v", err)
	}
	if again.Port == pg.Port {
		t.Logf("same port %d chosen twice (free again after the stop)", pg.Port)
	}
	if got := query(again, `SELECT v FROM kept`); got != "yes" {
		t.Fatalf("got %q after restart, want the row kept", got)
	}
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}
	if again.Running() {
		t.Fatal("got the server running after Stop, want it stopped")
	}
}

func TestPostgresOutOfReachFolderMovesTheCluster(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs PostgreSQL as another user, who may not reach the folder")
	}
	if _, err := FindPostgres(); err != nil {
		missing(t, err)
	}
	closed := t.TempDir() // mode 0700: the postgres user cannot enter it
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	pg, err := StartPostgres(context.Background(), filepath.Join(closed, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop(); os.RemoveAll(pg.Dir) })
	if pg.Moved == "" || strings.HasPrefix(pg.Dir, closed) {
		t.Fatalf("got cluster in %s (moved: %q), want it moved out of %s", pg.Dir, pg.Moved, closed)
	}
	note, err := os.ReadFile(filepath.Join(closed, "postgres", "CLUSTER-LOCATION"))
	if err != nil || !strings.Contains(string(note), pg.Dir) {
		t.Fatalf("got note %q (%v), want it to name %s", note, err, pg.Dir)
	}
	c, err := pgx.Connect(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
}

func TestPostgresMissingBinariesSaysHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := findPostgres(filepath.Join(t.TempDir(), "*", "bin"))
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("got %v, want an error saying how to install PostgreSQL", err)
	}
}

func TestNATSEmbeddedWithJetStreamSyncsToDisk(t *testing.T) {
	dir := t.TempDir()
	n, err := StartNATS(filepath.Join(dir, "nats"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !n.srv.JetStreamConfig().SyncAlways {
		n.Stop()
		t.Fatal("got SyncAlways off, want every write synced")
	}
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.one", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	n.Stop()

	// The stream and its message survive a restart from the same folder.
	n2, err := StartNATS(filepath.Join(dir, "nats"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Stop()
	nc2, err := nats.Connect(n2.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	js2, _ := jetstream.New(nc2) // only fails on bad options
	s, err := js2.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data) != "kept" {
		t.Fatalf("got %q after restart, want %q", msg.Data, "kept")
	}
}

func TestS3ServersStoreObjects(t *testing.T) {
	secrets := t.TempDir()
	if _, err := EnsureSecrets(secrets); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(secrets, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	ak, sk := read("s3-access-key"), read("s3-secret-key")
	start := map[string]func(t *testing.T, dir string) (*S3, error){
		"embedded": func(_ *testing.T, dir string) (*S3, error) { return StartEmbeddedS3(dir, ak, sk) },
		"minio": func(t *testing.T, dir string) (*S3, error) {
			bin, err := s3test.FindMinio()
			if err != nil {
				missing(t, err)
			}
			return StartMinio(bin, dir, ak, sk, nil)
		},
	}
	for kind, start := range start {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "s3")
			s, err := start(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.EnsureBucket(ctx, "photos"); err != nil {
				s.Stop()
				t.Fatal(err)
			}
			if err := s.EnsureBucket(ctx, "photos"); err != nil {
				s.Stop()
				t.Fatalf("second EnsureBucket: %v", err)
			}
			cl, _ := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")}) // checked by EnsureBucket
			body := []byte("image bytes")
			if _, err := cl.PutObject(ctx, "photos", "a/b.jpg", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "image/jpeg"}); err != nil {
				s.Stop()
				t.Fatal(err)
			}
			s.Stop()
			// Objects are on disk: a new server on the same folder serves them.
			s2, err := start(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Stop()
			cl2, _ := minio.New(s2.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
			obj, err := cl2.GetObject(ctx, "photos", "a/b.jpg", minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(obj)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("got %q after restart, want %q", got, body)
			}
		})
	}
}

func TestEnsureSecretsKeepsExisting(t *testing.T) {
	dir := t.TempDir()
	created, err := EnsureSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, DevSecrets) {
		t.Fatalf("got %v created, want all of %v", created, DevSecrets)
	}
	cfg := config.Config{SecretsDir: dir}
	keys, err := token.Load(cfg)
	if err != nil || !keys.CanIssue() {
		t.Fatalf("got %v, want a key pair that issues", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, token.PrivateKeyFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("got mode %v, want 0600", st.Mode().Perm())
	}
	for _, name := range []string{"s3-secret-key", token.PublicKeyFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	created, err = EnsureSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, []string{token.PublicKeyFile, "s3-secret-key"}) {
		t.Fatalf("got %v created, want only the public key (again from the private key) and s3-secret-key", created)
	}
	again, err := token.Load(cfg)
	if err != nil || again.KeyID() != keys.KeyID() {
		t.Fatalf("got %v, kid %s; want the same key pair kept (kid %s)", err, again.KeyID(), keys.KeyID())
	}
}

// reservedHugePages is the vm.nr_hugepages of the deployment's sysctl file.
func reservedHugePages(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("../../../../deploy/60-dostupno-hugepages.conf")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^vm\.nr_hugepages\s*=\s*(\d+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("deploy/60-dostupno-hugepages.conf sets no vm.nr_hugepages")
	}
	return atoi(t, string(m[1]))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
