package search

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/pgdb"
)

// The probe of an AND of words: the words whose lists the text index reads for it, when the
// AND holds a word so common that reading its list costs more than testing each candidate of
// the others against it (probeWords). The capped and sparse reads (the text index) and the
// week reads (the week keys) then read the candidates of the probe's words alone, and test
// each against the whole text (ts_match_vq, which no index takes, so the common word's list is
// never read): every step stays exact, its candidates are more. The text index decodes every
// list of an AND's words, and an AND of rare words with one in a third of the events decoded
// that one's 350,000 entries for a few candidates: `гамлет щелкунчик вечер`, whose words meet
// in no event, read capped 4.48 → 0.75 ms on 1M events (123 → 12 buffers; EXPLAIN ANALYZE).
//
// A word's frequency is the share of the events whose text holds its lexeme, as ANALYZE last
// counted it (pg_stats' most common elements of event_accessibility.document); a word rarer
// than every one counted there is as rare as the rarest counted.

// entriesPerCandidate weighs a candidate the probe adds, each a row of the table read and its
// text tested, against an entry of a list the text index decodes: a read of `xx`'s month keys on 1M
// events took 4.5 µs a candidate (650 of them in 2.95 ms), the capped read above 11 ns an entry.
const entriesPerCandidate = 400

// probeWords are the words of an AND (words, each with its frequency f; f < 0: the word has no
// lexeme, a stop word the text's query leaves out) that the text index reads for it, nil when
// it reads them all. From the rarest on, a word is read unless its list, f of the events,
// costs more than the candidates it would rule out: the share of the events that hold the words
// kept so far (p, their frequencies' product) and not it, each entriesPerCandidate entries:
// f > p * (1-f) * entriesPerCandidate. Those more common than the first word left out are left
// out too (their lists are longer, the candidates as many).
func probeWords(words []string, freq []float64) []string {
	type word struct {
		w string
		f float64
	}
	var ws []word
	for i, w := range words {
		if freq[i] >= 0 {
			ws = append(ws, word{w, freq[i]})
		}
	}
	slices.SortStableFunc(ws, func(a, b word) int { return cmp.Compare(a.f, b.f) })
	for i := 1; i < len(ws); i++ {
		p := 1.0
		for _, k := range ws[:i] {
			p *= k.f
		}
		if f := ws[i].f; f > p*(1-f)*entriesPerCandidate {
			kept := make([]string, i)
			for j, k := range ws[:i] {
				kept[j] = k.w
			}
			return kept
		}
	}
	return nil
}

// probeSQL answers, for the words $1 in order, each one's frequency in event_accessibility's
// text (the largest of its lexemes'), the rarest counted for a word with lexemes none of which
// was counted, and NULL for a word without one.
const probeSQL = `WITH s AS (
	SELECT st.most_common_elems::text::text[] AS elems, st.most_common_elem_freqs AS freqs
	FROM pg_stats st
	WHERE st.schemaname = current_schema() AND st.tablename = 'event_accessibility' AND st.attname = 'document')
SELECT (SELECT CASE WHEN count(*) > 0 THEN coalesce(max(s.freqs[array_position(s.elems, l.lexeme)]),
		s.freqs[array_length(s.elems, 1) + 1]) END
	FROM unnest(to_tsvector('russian', w.word)) l)
FROM unnest($1::text[]) WITH ORDINALITY w(word, i)
LEFT JOIN s ON true
ORDER BY w.i`

// probeTTL: a probe is computed again after this long (a later ANALYZE may count otherwise).
const probeTTL = 10 * time.Minute

// maxProbes bounds the texts whose probe is remembered, as maxRoutes bounds routes.
const maxProbes = 4096

type probeMemo struct {
	probe string
	at    time.Time
}

// probes are the probes this process computed, by text.
var probes atomic.Pointer[lru.Cache[string, probeMemo]]

func init() { probes.Store(newProbes()) }

func newProbes() *lru.Cache[string, probeMemo] { return newMemo[probeMemo](maxProbes) }

// withProbe is q with the probe of its text set (Query.probe) when it is an AND of two words
// or more (allWords) that holds a word worth leaving out (probeWords); else q itself.
func withProbe(ctx context.Context, db pgdb.DBTX, q *Query) (*Query, error) {
	if q.probe != "" {
		return q, nil
	}
	if words, all := q.allWords(); !all || words < 2 {
		return q, nil
	}
	memo := probes.Load()
	m, ok := memo.Get(q.Text)
	if !ok || time.Since(m.at) > probeTTL {
		words := strings.Split(q.Text, " ")
		rows, err := db.Query(ctx, probeSQL, words)
		if err != nil {
			return nil, fmt.Errorf("search: words' frequencies: %w", err)
		}
		fs, err := pgx.CollectRows(rows, pgx.RowTo[*float64])
		if err != nil {
			return nil, fmt.Errorf("search: words' frequencies: %w", err)
		}
		if len(fs) != len(words) {
			return nil, fmt.Errorf("search: words' frequencies: %d for %d words", len(fs), len(words))
		}
		freq := make([]float64, len(fs))
		for i, f := range fs {
			freq[i] = -1 // no lexeme (or no statistics yet)
			if f != nil {
				freq[i] = *f
			}
		}
		m = probeMemo{probe: strings.Join(probeWords(words, freq), " "), at: time.Now()}
		memo.Add(q.Text, m)
	}
	if m.probe == "" {
		return q, nil
	}
	p := *q
	p.probe = m.probe
	return &p, nil
}

// lexemesSQL answers the lexemes of the text $1, as the rows' week keys are made of them
// (migration 036).
const lexemesSQL = `SELECT tsvector_to_array(to_tsvector('russian', $1))`

// lexemeMemo remembers the lexemes of texts (they depend on the text alone), as maxProbes
// bounds probes.
var lexemeMemo atomic.Pointer[lru.Cache[string, []string]]

func init() { lexemeMemo.Store(newMemo[[]string](maxProbes)) }

// withLexemes is q with its lexemes set (Query.lexemes): those of its probe's words when it has
// a probe, else of its text; asked of Postgres once per text.
func withLexemes(ctx context.Context, db pgdb.DBTX, q *Query) (*Query, error) {
	text := q.Text
	if q.probe != "" {
		text = q.probe
	}
	memo := lexemeMemo.Load()
	ls, ok := memo.Get(text)
	if !ok {
		if err := db.QueryRow(ctx, lexemesSQL, text).Scan(&ls); err != nil {
			return nil, fmt.Errorf("search: the text's lexemes: %w", err)
		}
		memo.Add(text, ls)
	}
	l := *q
	l.lexemes = ls
	return &l, nil
}
