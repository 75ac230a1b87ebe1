// Package devservices starts the services a function needs on one machine, each under a data
// folder of its own and only on loopback: a private PostgreSQL cluster from the machine's
// PostgreSQL binaries, an embedded NATS server with JetStream, and an S3 server (a minio
// binary, or an embedded S3-compatible server with on-disk storage when there is none). The
// local runner uses it for every service the environment does not name; each Start returns a
// handle whose Stop ends what it started.
package devservices

import (
	"fmt"
	"net"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may
// take it before it is used; the services started here fail plainly if that happens.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
