package changefeed

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t0 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id int, city string, hours int, yes, out []string) Event {
		return Event{ID: int64(id), City: city, Category: "theatre", StartsAt: t0.Add(time.Duration(hours) * time.Hour),
			Constraints: yes, Excluded: out}
	}
	t.Run("ExactGroups", func(t *testing.T) {
		got := Summarize([]Event{
			ev(1, "kazan", 5, []string{"elevator"}, []string{"braille"}),
			ev(2, "kazan", 1, []string{"elevator"}, []string{"braille"}),
			ev(3, "kazan", 9, []string{"elevator"}, []string{"braille"}),
			ev(4, "kazan", 2, nil, []string{"braille"}),
			{ID: 5, Deleted: true},
		}, 10)
		if len(got) != 2 {
			t.Fatalf("got %d summaries %v, want 2 (deleted events left out)", len(got), got)
		}
		if g := got[0]; !g.StartsAt.Equal(t0.Add(time.Hour)) || !g.Until.Equal(t0.Add(9*time.Hour)) || !slices.Equal(g.Constraints, []string{"elevator"}) {
			t.Errorf("got %+v, want events 1-3 from hour 1 to hour 9 with elevator", g)
		}
	})
	t.Run("CoarseGroupsWhenTooMany", func(t *testing.T) {
		var evs []Event
		for i := range 20 {
			evs = append(evs, ev(i, "kazan", i, []string{fmt.Sprintf("code%02d", i)}, []string{"braille", fmt.Sprintf("x%d", i%2)}))
		}
		got := Summarize(evs, 5)
		if len(got) != 1 {
			t.Fatalf("got %d summaries, want 1 group for the city and category", len(got))
		}
		g := got[0]
		if len(g.Constraints) != 20 || !slices.Equal(g.Excluded, []string{"braille"}) || !g.Until.Equal(t0.Add(19*time.Hour)) {
			t.Errorf("got %+v, want the union of the yes codes, the intersection of the excluded ones and the whole span", g)
		}
	})
	t.Run("TooDiverse", func(t *testing.T) {
		var evs []Event
		for i := range 6 {
			evs = append(evs, ev(i, fmt.Sprintf("city-%d", i), i, nil, nil))
		}
		if got := Summarize(evs, 5); got != nil {
			t.Fatalf("got %v, want nil for 6 cities in at most 5 groups", got)
		}
	})
}

// Changes of seats alone are summarised apart from the others, each group with the largest
// counts of its events, so a search for seats drops what one of them could join.
func TestSummarizeSeatsApart(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	seats := func(w, c int) *Seats { return &Seats{WheelchairSpaces: w, CompanionSeats: c} }
	evs := []Event{
		{ID: 1, City: "kazan", Category: "show", StartsAt: at, Seats: seats(1, 5)},
		{ID: 2, City: "kazan", Category: "show", StartsAt: at.Add(time.Hour), Seats: seats(3, 0)},
		{ID: 3, City: "kazan", Category: "show", StartsAt: at},
	}
	got := Summarize(evs, 10)
	if len(got) != 2 {
		t.Fatalf("got %d groups %+v, want the seats changes apart from the other", len(got), got)
	}
	for _, g := range got {
		if g.Seats == nil {
			continue
		}
		if *g.Seats != (Seats{WheelchairSpaces: 3, CompanionSeats: 5}) || !g.Until.Equal(at.Add(time.Hour)) {
			t.Fatalf("got %+v (%+v), want the largest counts 3 and 5 over both starts", g, *g.Seats)
		}
		return
	}
	t.Fatalf("got %+v, want a group of seats changes", got)
}
