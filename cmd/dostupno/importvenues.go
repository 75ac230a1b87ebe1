package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/a11yjson"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/natsauth"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/logging"
)

func init() {
	register(command{name: "import-venues",
		usage: "[--create --city SLUG] [--verified-at DATE] [--dry-run] FILE|-   venues' accessibility from A11yJSON (PlaceInfo features) through the write log",
		run:   runImportVenues})
}

// venueImport are the options of import-venues.
type venueImport struct {
	Create     bool   // create the venues the catalog lacks (originalId a positive integer)
	City       string // the city of created venues
	VerifiedAt string // when the document's facts were verified ("" for not known)
	DryRun     bool   // report, write nothing
}

func runImportVenues(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import-venues", flag.ContinueOnError)
	var o venueImport
	fs.BoolVar(&o.Create, "create", false, "create venues whose originalId is not in the catalog (needs --city)")
	fs.StringVar(&o.City, "city", "", "city slug of created venues")
	fs.StringVar(&o.VerifiedAt, "verified-at", "", "when the document's facts were verified (RFC 3339 date or date-time)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "report what would change, write nothing")
	if err := parseArgs(fs, args, 1); err != nil {
		return err
	}
	if o.Create && !catalog.ValidSlug(o.City) {
		return errUsage
	}
	var in io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	return importVenues(ctx, cfg, data, o, os.Stdout)
}

// storedVenue is a venue as the catalog holds it.
type storedVenue struct {
	v    catalog.Venue
	city string
}

// importVenues maps the A11yJSON features of data to venue upserts and submits them through
// the write log (catalog.SubmitVenues), reporting each feature on out. A feature whose
// properties.originalId is one of the catalog's venue ids updates that venue: the facts the
// document states replace those of the venue's previous A11yJSON import and any other fact of
// the same code; the venue's other facts, its name, address, place and city stay. Other
// features are reported and skipped, or created with o.Create. It returns once the primary
// copy has applied the venues (and every event at them inherits their facts).
func importVenues(ctx context.Context, cfg config.Config, data []byte, o venueImport, out io.Writer) error {
	features, err := a11yjson.Read(data)
	if err != nil {
		return err
	}
	d := instance.New("dostupno-import-venues", cfg, logging.New(os.Stderr, "import-venues"))
	d.NATSUser = natsauth.Ops
	defer d.Close()
	if err := d.CheckWriter(instance.NoTokens); err != nil {
		return err
	}
	pool, err := d.Pool()
	if err != nil {
		return err
	}
	var ids []int64
	for _, f := range features {
		if id, err := strconv.ParseInt(f.OriginalID, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	rows, err := pool.Query(ctx, `SELECT v.id, v.name, v.address, v.lat, v.lon, v.city, coalesce(f.sheet, '{}')
		FROM venues v LEFT JOIN venue_accessibility f ON f.venue_id = v.id WHERE v.id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("read the catalog's venues (run 'dostupno migrate' first?): %w", err)
	}
	stored := map[int64]storedVenue{}
	var (
		s  storedVenue
		fs catalog.Facts
	)
	if _, err := pgx.ForEachRow(rows, []any{&s.v.ID, &s.v.Name, &s.v.Address, &s.v.Lat, &s.v.Lon, &s.city, &fs}, func() error {
		facts := fs
		s.v.Accessibility = &facts
		stored[s.v.ID], s, fs = s, storedVenue{}, nil
		return nil
	}); err != nil {
		return fmt.Errorf("read the catalog's venues: %w", err)
	}

	var (
		writes                           []catalog.VenueInput
		updated, created, skipped, wrong int
	)
	for _, f := range features {
		name := fmt.Sprintf("feature %d (originalId %q)", f.Index, f.OriginalID)
		facts := a11yjson.Facts(f.Accessibility, o.VerifiedAt)
		id, err := strconv.ParseInt(f.OriginalID, 10, 64)
		if err != nil || id <= 0 {
			fmt.Fprintf(out, "%s: not one of our venue ids (a positive integer): skipped\n", name)
			skipped++
			continue
		}
		var v catalog.VenueInput
		sv, ok := stored[id]
		switch {
		case ok:
			merged := catalog.Facts{}
			for code, fact := range *sv.v.Accessibility {
				if fact.Source != a11yjson.Source { // the previous import's facts are replaced whole
					merged[code] = fact
				}
			}
			maps.Copy(merged, facts)
			v = catalog.VenueInput{Venue: sv.v, City: sv.city}
			v.Accessibility = &merged
		case o.Create:
			v = catalog.VenueInput{Venue: catalog.Venue{ID: id, Name: f.Name, Address: f.Address, Lat: f.Lat, Lon: f.Lon,
				Accessibility: &facts}, City: o.City}
		default:
			fmt.Fprintf(out, "%s: venue %d is not in the catalog: skipped (--create adds it)\n", name, id)
			skipped++
			continue
		}
		v.Normalize()
		if err := v.Validate(); err != nil {
			fmt.Fprintf(out, "%s: venue %d cannot be written: %v\n", name, id, err)
			wrong++
			continue
		}
		what := "updated"
		if ok {
			updated++
		} else {
			what = "created"
			created++
		}
		fmt.Fprintf(out, "%s: %s venue %d %q: %s\n", name, what, id, v.Name, factList(facts))
		writes = append(writes, v)
	}
	summary := fmt.Sprintf("import-venues: %d features; venues updated %d, created %d; features skipped %d, refused %d", len(features), updated, created, skipped, wrong)
	if len(writes) > 0 && !o.DryRun {
		wr, err := d.Writer(ctx)
		if err != nil {
			return err
		}
		seq, err := catalog.SubmitVenues(ctx, wr, time.Now(), writes)
		if err != nil {
			return err
		}
		summary += fmt.Sprintf("; applied to %s at sequence %d", cfg.Replica, seq)
	} else if o.DryRun {
		summary += " (dry run: nothing written)"
	}
	fmt.Fprintln(out, summary)
	if wrong > 0 {
		return fmt.Errorf("%d feature(s) could not be imported (listed above)", wrong)
	}
	return nil
}

// factList lists imported facts by value, in catalog order.
func factList(fs catalog.Facts) string {
	if len(fs) == 0 {
		return "no fact stated (every code stays as it was)"
	}
	by := map[string][]string{}
	for _, c := range catalog.Codes {
		if f, ok := fs[c]; ok {
			by[f.Value] = append(by[f.Value], c)
		}
	}
	s := ""
	for _, v := range []string{catalog.Yes, catalog.No, catalog.NotApplicable} {
		if len(by[v]) > 0 {
			if s != "" {
				s += "; "
			}
			s += fmt.Sprintf("%s %v", v, by[v])
		}
	}
	return s
}
