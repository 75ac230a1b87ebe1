// Command dostupno is the ops CLI and local runner: wiring only; the logic lives in shared/.
//
//	dostupno up                 run every function locally behind a gateway-shaped router
//	dostupno migrate            apply the embedded migrations
//	dostupno import FILE|-      load events through the write log
//	dostupno import-venues FILE venues' accessibility from A11yJSON through the write log
//	dostupno seed --events N    generate a demo catalog
//	dostupno admin create EMAIL create or promote an admin (password on stdin)
//	dostupno bench              search benchmark
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand; each lives in its own file and registers itself in init.
type command struct {
	name  string
	usage string // one line: arguments and what it does
	run   func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// errUsage makes main print the command's usage and exit 2.
var errUsage = errors.New("usage")

// parseArgs parses a command's arguments into fs and wants exactly n positional arguments
// after the flags; any other count is a usage error.
func parseArgs(fs *flag.FlagSet, args []string, n int) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != n {
		return errUsage
	}
	return nil
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: dostupno <command> [arguments]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", n, commands[n].usage)
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "dostupno: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "usage: dostupno %s %s\n", c.name, c.usage)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "dostupno %s: %v\n", c.name, err)
		os.Exit(1)
	}
}
