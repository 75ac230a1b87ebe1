//go:build linux

package searchbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// askLoop is Hammer's clients: one goroutine waiting on all their connections in one
// epoll set. With every 0, each client writes its next question once it has read its answer
// whole (ask), and each answer is timed from its question's write; with every, client i asks
// at i*every/clients after start and every after that, a timerfd in the same set
// waking the loop when the next question is due, and each answer is timed from its question's
// time on that schedule (late holds how late the questions were written). Every answer is
// handed to took with its question's index; no question is asked at or after stop, and the
// loop ends once the last answers are in. A client whose server closes its connection after
// an answer (Connection: close) or, paced, between questions (an idle timeout) dials again. An answer other than 200, a connection lost in
// the middle of an answer, until passing or ctx ending fails the run.
func askLoop(ctx context.Context, addr string, reqs [][]byte, name func(q int) string, next func() int, clients int,
	every time.Duration, start, stop, until time.Time, took func(q int, d time.Duration), late *lateness) error {
	sa, family, err := sockaddr(addr)
	if err != nil {
		return err
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	defer syscall.Close(ep) //nolint:errcheck // nothing was written through it
	cs := make([]*loopClient, clients)
	defer func() {
		for _, c := range cs {
			if c != nil {
				c.close()
			}
		}
	}()
	var pace *pacer
	if every > 0 {
		if pace, err = newPacer(ep, int32(clients)); err != nil {
			return err
		}
		defer pace.close()
	}
	asking := clients // the clients not done yet
	for i := range cs {
		c := &loopClient{id: int32(i), ep: ep, family: family, sa: sa, fd: -1, buf: make([]byte, 32<<10)}
		cs[i] = c
		if pace == nil {
			if err := c.ask(next(), reqs, name); err != nil {
				return err
			}
			continue
		}
		// A paced client dials before its first question's time, which its answer is timed from.
		if err := c.dial(); err != nil {
			return err
		}
		c.due = start.Add(every * time.Duration(i) / time.Duration(clients))
		if c.waiting = c.due.Before(stop); !c.waiting {
			asking--
		}
	}
	events := make([]syscall.EpollEvent, clients+1)
	yielded := time.Now()
	for asking > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := time.Now()
		wait := until.Sub(now)
		if wait <= 0 {
			return fmt.Errorf("no answer for %s", until.Sub(stop))
		}
		if pace != nil {
			if err := pace.ask(cs, now, next, reqs, name, late); err != nil {
				return err
			}
		}
		// The loop never waits in the scheduler: the runtime's monitor takes it for one
		// goroutine running for 10 ms, takes its processor back at every epoll_wait after
		// that, and polls every 20 µs for the next millisecond (29% of the loop's samples,
		// 1,460 nanosleeps a second). Yielding every few milliseconds starts its time slice
		// anew (96 a second); yielding at every round woke the idle processor's thread each
		// time (4,000 futex calls a second against 800).
		if now.Sub(yielded) > yieldEvery {
			runtime.Gosched()
			yielded = now
		}
		n, err := syscall.EpollWait(ep, events, int(min(wait, 100*time.Millisecond)/time.Millisecond)+1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll: %w", err)
		}
		for _, ev := range events[:n] {
			if pace != nil && ev.Fd == pace.id {
				if err := pace.rang(); err != nil {
					return err
				}
				continue
			}
			c := cs[ev.Fd]
			if c.waiting {
				// A paced client between questions: the server closed the idle connection
				// (its idle timeout). It dials again for its next question.
				c.close()
				continue
			}
			a, err := c.read()
			switch {
			case err != nil:
				return fmt.Errorf("%s: %w", name(c.q), err)
			case a.n == 0:
				continue // not whole yet
			}
			now := time.Now()
			if a.status != 200 {
				return fmt.Errorf("%s: got %d", name(c.q), a.status)
			}
			took(c.q, now.Sub(c.start))
			c.answered = now
			if a.closing {
				c.close()
			}
			if pace != nil {
				c.due = c.due.Add(every)
				c.waiting = c.due.Before(stop)
			}
			if pace != nil && !c.waiting || pace == nil && !now.Before(stop) {
				c.close()
				asking--
				continue
			}
			if pace == nil {
				if err := c.ask(next(), reqs, name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// pacer is a paced askLoop's timer: a timerfd in the loop's epoll set (its event's data id),
// armed for the next question due.
type pacer struct {
	fd    int
	id    int32
	armed time.Time // when it rings, zero when it is not armed
}

func newPacer(ep int, id int32) (*pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: id}); err != nil {
		syscall.Close(fd) //nolint:errcheck // the epoll's error is the one to report
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &pacer{fd: fd, id: id}, nil
}

// ask writes the question of every waiting client whose time has come (late ones counted in
// late; each is timed from its time), then arms the timer for the soonest still to come.
func (p *pacer) ask(cs []*loopClient, now time.Time, next func() int, reqs [][]byte, name func(int) string, late *lateness) error {
	var soonest time.Time
	for _, c := range cs {
		switch {
		case !c.waiting:
		case !c.due.After(now):
			if err := c.ask(next(), reqs, name); err != nil {
				return err
			}
			late.add(c.start.Sub(c.due), c.answered.After(c.due))
			c.start, c.waiting = c.due, false
		case soonest.IsZero() || c.due.Before(soonest):
			soonest = c.due
		}
	}
	if soonest.IsZero() || soonest.Equal(p.armed) {
		return nil
	}
	p.armed = soonest
	return unix.TimerfdSettime(p.fd, 0, &unix.ItimerSpec{Value: unix.NsecToTimespec(int64(soonest.Sub(now)))}, nil)
}

// rang clears the timer's expiry (the epoll set is level-triggered).
func (p *pacer) rang() error {
	var b [8]byte
	if _, err := syscall.Read(p.fd, b[:]); err != nil && !errors.Is(err, syscall.EAGAIN) {
		return fmt.Errorf("timerfd: %w", err)
	}
	p.armed = time.Time{}
	return nil
}

func (p *pacer) close() { syscall.Close(p.fd) } //nolint:errcheck // nothing was written through it

// yieldEvery is how often askLoop yields, well within the monitor's 10 ms.
const yieldEvery = 2 * time.Millisecond

// loopClient is one of askLoop's clients: its connection (fd, -1 when it has none), the
// question in flight and what has been read of its answer.
type loopClient struct {
	id     int32 // its index, the epoll event's data
	ep     int
	family int
	sa     syscall.Sockaddr
	fd     int
	q      int
	start  time.Time // the question's write, or its time on a paced run's schedule
	due    time.Time // a paced client's next question's time
	// answered: when the client read its last answer whole
	answered time.Time
	// waiting: a paced client has read its last answer and waits for its next question's time
	waiting bool
	buf     []byte
	n       int
}

// ask writes question q of reqs (named by name in errors), dialling first when the client
// has no connection.
func (c *loopClient) ask(q int, reqs [][]byte, name func(int) string) error {
	if c.fd < 0 {
		if err := c.dial(); err != nil {
			return err
		}
	}
	c.q, c.n, c.start = q, 0, time.Now()
	// A question is a few hundred bytes, written once the last answer was read whole: the
	// socket's send buffer is empty, and takes it in one write.
	w, err := syscall.Write(c.fd, reqs[q])
	switch {
	case err != nil:
		return fmt.Errorf("%s: write: %w", name(q), err)
	case w != len(reqs[q]):
		return fmt.Errorf("%s: wrote %d bytes of %d", name(q), w, len(reqs[q]))
	}
	return nil
}

// dial connects the client (blocking: on loopback the connection is there at once), with
// TCP_NODELAY as net.Dial sets it, then makes the socket non-blocking in the epoll set.
func (c *loopClient) dial() error {
	fd, err := syscall.Socket(c.family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	err = syscall.Connect(fd, c.sa)
	if err == nil {
		err = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	}
	if err == nil {
		err = syscall.SetNonblock(fd, true)
	}
	if err == nil {
		err = syscall.EpollCtl(c.ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: c.id})
	}
	if err != nil {
		syscall.Close(fd) //nolint:errcheck // the dial's error is the one to report
		return fmt.Errorf("dial: %w", err)
	}
	c.fd = fd
	return nil
}

// read reads what the connection holds and returns the answer when it is whole (answer.n 0:
// not yet). It reads once, and again only when the read filled the buffer: the epoll set is
// level-triggered, and a read to EAGAIN after each answer's last bytes would be one more
// system call an answer. The connection closed before the answer's end, or bytes after it
// (nothing was asked after it), are errors.
func (c *loopClient) read() (answer, error) {
	for {
		if c.n == len(c.buf) {
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		r, err := syscall.Read(c.fd, c.buf[c.n:])
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return answer{}, nil
		case err != nil:
			return answer{}, fmt.Errorf("read: %w", err)
		case r == 0:
			a, err := parseAnswer(c.buf[:c.n], true)
			if err == nil && a.n == 0 {
				err = errors.New("the server closed the connection before the answer's end")
			}
			return a, err
		}
		c.n += r
		if c.n < len(c.buf) {
			break
		}
	}
	a, err := parseAnswer(c.buf[:c.n], false)
	switch {
	case err != nil:
		return answer{}, err
	case a.n != 0 && a.n != c.n:
		return answer{}, fmt.Errorf("%d bytes after the answer", c.n-a.n)
	}
	return a, nil
}

func (c *loopClient) close() {
	if c.fd >= 0 {
		syscall.Close(c.fd) //nolint:errcheck // closing removes it from the epoll set
		c.fd = -1
	}
}

// sockaddr is addr (host:port, a numeric or resolvable host) as a socket address.
func sockaddr(addr string) (syscall.Sockaddr, int, error) {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	if ip4 := a.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, syscall.AF_INET, nil
	}
	sa := &syscall.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	return sa, syscall.AF_INET6, nil
}
