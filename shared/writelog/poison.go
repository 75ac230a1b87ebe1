package writelog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dostupno/dostupno/shared/apperr"
)

// DataError is err's Postgres error when the database refused the command's data: SQLSTATE
// class 22 (data exception: a NUL character, a value out of range, text that is not valid in
// the encoding) or 23 (integrity constraint violation: a check, a foreign key, a unique key).
// Such a refusal depends only on the schema, the data the copy holds and the command, which
// are the same in every copy at that sequence, so applying it again can never succeed: the
// applier records the command as failed and moves on. Any other error (a lost connection, a
// serialisation failure or deadlock, a statement timeout, a full disk) may pass, and the
// command is tried again. It returns nil for any other error.
func DataError(err error) *pgconn.PgError {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23")) {
		return pg
	}
	return nil
}

// refusals name the SQLSTATEs a command's data most often meets, for people; any other of
// classes 22 and 23 is named by its class.
var refusals = map[string]string{
	"22001": "a text too long for its column",
	"22003": "a number out of its column's range",
	"22007": "a malformed date or time",
	"22008": "a date or time out of range",
	"22021": "a character that text cannot hold, such as NUL",
	"22P02": "a value that does not read as its column's type",
	"23502": "a required value missing",
	"23503": "a reference to a row that does not exist",
	"23505": "a value that must be unique and is taken",
	"23514": "a value its column's check refuses",
}

// refusal is the failed outcome of a command the database refused (DataError). Its message
// holds only what the schema and the command determine (the SQLSTATE and what it means, the
// constraint, the table and column), never the server's wording, which may differ between
// copies that run other Postgres versions or message languages: outcomes must be the same in
// every copy.
func refusal(pg *pgconn.PgError) Outcome {
	what, ok := refusals[pg.Code]
	switch {
	case ok:
	case strings.HasPrefix(pg.Code, "22"):
		what = "a value its column cannot hold"
	default:
		what = "a value a constraint refuses"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the database refused the command: SQLSTATE %s (%s)", pg.Code, what)
	for _, f := range []struct{ name, value string }{{"table", pg.TableName}, {"column", pg.ColumnName}, {"constraint", pg.ConstraintName}} {
		if f.value != "" {
			fmt.Fprintf(&b, ", %s %s", f.name, f.value)
		}
	}
	return Outcome{Status: Failed, Code: apperr.InvalidArgument, Message: b.String()}
}
