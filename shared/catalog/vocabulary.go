// Package catalog is the events catalog: the accessibility vocabulary (fixed codes, profiles),
// the open sets of cities and categories, and events themselves: their wire form
// (shared/apidoc/openapi.yaml, EventInput), validation, how an upsert is applied to a Postgres
// copy, and the write-log kind that carries upserts (event.upsert).
package catalog

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// Title is a name in Russian and English.
type Title struct {
	RU string `json:"ru"`
	EN string `json:"en"`
}

// Constraint is one accessibility code of the vocabulary.
type Constraint struct {
	ID     int16    `json:"-"`
	Code   string   `json:"code"`
	Title  Title    `json:"title"`
	Groups []string `json:"groups"`
}

// Profile names the constraints one МГН category usually needs.
type Profile struct {
	Code        string   `json:"code"`
	MGN         string   `json:"mgn"`
	Title       Title    `json:"title"`
	Constraints []string `json:"constraints"`
}

// Place is a city or a category: a slug and a display name.
type Place struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Vocabulary is the fixed set of constraint codes and the profiles, as the database holds them.
type Vocabulary struct {
	Constraints []Constraint
	Profiles    []Profile
	byCode      map[string]Constraint
	profiles    map[string]Profile
	byID        map[int16]string
}

// Codes are the constraint codes of the contract, in catalog order. The database seeds the same
// set (migration 001); LoadVocabulary checks they agree.
var Codes = []string{
	"step_free_entrance", "elevator", "wheelchair_seating", "accessible_toilet",
	"accessible_parking", "companion_seat", "tactile_guidance", "braille", "audio_description",
	"tactile_exhibits", "guide_dog_allowed", "sign_language", "subtitles", "hearing_loop",
	"easy_read", "relaxed_performance", "quiet_space", "photosensitivity_safe",
}

// LoadVocabulary reads the constraints and profiles.
func LoadVocabulary(ctx context.Context, db pgdb.DBTX) (*Vocabulary, error) {
	cons, err := pgdb.Collect(ctx, db, "load constraints", func(r pgx.CollectableRow) (Constraint, error) {
		var c Constraint
		err := r.Scan(&c.ID, &c.Code, &c.Title.RU, &c.Title.EN, &c.Groups)
		return c, err
	}, `SELECT id, code, title_ru, title_en, groups FROM accessibility_constraints ORDER BY position`)
	if err != nil {
		return nil, err
	}
	profs, err := pgdb.Collect(ctx, db, "load profiles", func(r pgx.CollectableRow) (Profile, error) {
		var p Profile
		err := r.Scan(&p.Code, &p.MGN, &p.Title.RU, &p.Title.EN, &p.Constraints)
		return p, err
	}, `
		SELECT p.code, p.mgn, p.title_ru, p.title_en,
		       coalesce(array_agg(c.code ORDER BY c.position) FILTER (WHERE c.code IS NOT NULL), '{}')
		FROM accessibility_profiles p
		LEFT JOIN accessibility_profile_constraints pc ON pc.profile_code = p.code
		LEFT JOIN accessibility_constraints c ON c.id = pc.constraint_id
		GROUP BY p.code ORDER BY min(p.position)`)
	if err != nil {
		return nil, err
	}
	return NewVocabulary(cons, profs)
}

// NewVocabulary indexes constraints and profiles, refusing a set that differs from Codes.
func NewVocabulary(cons []Constraint, profs []Profile) (*Vocabulary, error) {
	v := &Vocabulary{Constraints: cons, Profiles: profs, byCode: map[string]Constraint{}, profiles: map[string]Profile{}, byID: map[int16]string{}}
	for _, c := range cons {
		v.byCode[c.Code] = c
		v.byID[c.ID] = c.Code
	}
	if len(v.byCode) != len(Codes) {
		return nil, fmt.Errorf("vocabulary has %d codes, the contract %d: migrate the database", len(v.byCode), len(Codes))
	}
	for _, code := range Codes {
		if _, ok := v.byCode[code]; !ok {
			return nil, fmt.Errorf("vocabulary lacks code %q: migrate the database", code)
		}
	}
	for _, p := range profs {
		v.profiles[p.Code] = p
	}
	return v, nil
}

// Constraint returns the constraint with code.
func (v *Vocabulary) Constraint(code string) (Constraint, bool) {
	c, ok := v.byCode[code]
	return c, ok
}

// Profile returns the profile with code.
func (v *Vocabulary) Profile(code string) (Profile, bool) {
	p, ok := v.profiles[code]
	return p, ok
}

// CodeOf returns the code of constraint id.
func (v *Vocabulary) CodeOf(id int16) (string, bool) {
	c, ok := v.byID[id]
	return c, ok
}

// IDs maps codes to their ids, sorted ascending and without repeats. Unknown codes are
// skipped: callers validate codes first.
func (v *Vocabulary) IDs(codes []string) []int16 {
	seen := map[int16]bool{}
	var ids []int16
	for _, code := range codes {
		if c, ok := v.byCode[code]; ok && !seen[c.ID] {
			seen[c.ID] = true
			ids = append(ids, c.ID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// CodesOf maps ids back to codes, in catalog order.
func (v *Vocabulary) CodesOf(ids []int16) []string {
	out := make([]string, 0, len(ids))
	for _, c := range v.Constraints {
		for _, id := range ids {
			if id == c.ID {
				out = append(out, c.Code)
				break
			}
		}
	}
	return out
}

// Places lists the cities or categories present (table "cities" or "categories").
func Places(ctx context.Context, db pgdb.DBTX, table string) ([]Place, error) {
	var q string
	switch table {
	case "cities":
		q = `SELECT slug, name FROM cities ORDER BY name, slug`
	case "categories":
		q = `SELECT slug, name FROM categories ORDER BY name, slug`
	default:
		return nil, fmt.Errorf("places: unknown table %q", table)
	}
	out, err := pgdb.Collect(ctx, db, "load "+table, pgx.RowToStructByPos[Place], q)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Place{}
	}
	return out, nil
}
