package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/logging"
	"github.com/dostupno/dostupno/shared/token"
)

func init() {
	register(command{name: "admin", usage: "create [--role admin|ticketing] EMAIL   create or promote an admin (or a ticketing integration account, which may write seat availability alone); the password is read from standard input (empty: keep an existing user's)", run: runAdmin})
}

func runAdmin(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errUsage
	}
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	role := fs.String("role", token.RoleAdmin, "the role to give: admin, or ticketing (writes seat availability and nothing else)")
	if err := parseArgs(fs, args[1:], 1); err != nil {
		return err
	}
	if *role != token.RoleAdmin && *role != token.RoleTicketing {
		return errUsage
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	return adminCreate(ctx, cfg, fs.Arg(0), *role, os.Stdin, os.Stdout, os.Stderr)
}

// adminCreate creates or promotes the user email to role with the password read from in, and
// reports on out (prompts and logs go to errOut).
func adminCreate(ctx context.Context, cfg config.Config, email, role string, in *os.File, out, errOut io.Writer) error {
	password, err := readPassword(in, errOut)
	if err != nil {
		return err
	}
	d := instance.New("admin", cfg, logging.New(errOut, "admin"))
	d.NATSUser = natsauth.Ops // user.admin is the ops CLI's alone
	defer d.Close()
	if err := d.CheckWriter(instance.IssueTokens); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	svc, err := d.Accounts(ctx)
	if err != nil {
		return err
	}
	res, err := svc.CreateWithRole(ctx, email, password, role)
	if err != nil {
		return describe(err)
	}
	verb := "promoted"
	what := role
	if role == token.RoleAdmin {
		what = "admin" // the words admins always got
	}
	if res.Created {
		verb = "created"
	}
	if password != "" {
		// The copy has applied the command: prove the admin can log in.
		s, err := svc.Login(ctx, email, password, "cli")
		if err != nil {
			return fmt.Errorf("%s %s but login failed: %w", what, verb, describe(err))
		}
		if s.User.Role != role {
			return fmt.Errorf("%s %s but login gives role %q", what, verb, s.User.Role)
		}
	}
	fmt.Fprintf(out, "%s %s: %s (id %s); login verified: %v\n", what, verb, res.User.Email, res.User.ID, password != "")
	return nil
}

// describe turns a domain error into its message for people (an internal or unavailable one
// keeps its cause).
func describe(err error) error {
	var e *apperr.Error
	if errors.As(err, &e) && e.Code != apperr.Internal && e.Code != apperr.Unavailable {
		if e.Field != "" {
			return fmt.Errorf("%s: %s", e.Field, e.Message)
		}
		return errors.New(e.Message)
	}
	return err
}

// readPassword reads the password: on a terminal without echo, asked twice; otherwise the
// first line of in (its line ending removed, nothing else).
func readPassword(in *os.File, prompt io.Writer) (string, error) {
	fd := int(in.Fd())
	if term.IsTerminal(fd) {
		fmt.Fprint(prompt, "Password (empty keeps an existing user's): ")
		a, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(a) == 0 {
			return "", nil
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}
