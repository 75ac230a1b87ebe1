// Package seed generates a realistic demo catalog: events in Russian cities at venues with
// plausible names and coordinates, spread over the coming year, with accessibility answers in
// plausible proportions (a step-free entrance is common, braille rare). The building's facts
// belong to the venue (stated, with who surveyed it and when, on the first event at each
// venue), the services to the event, which may override what it inherits (no wheelchair
// seating for one show); some answers are not_applicable (no parking at all, a single-storey
// building without a lift, tactile exhibits at a concert). The same options always give the
// same events, so a benchmark or a demo can be reproduced.
package seed

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
)

// Options say what to generate.
type Options struct {
	Events  int       // how many
	Seed    uint64    // the same seed gives the same catalog
	Start   time.Time // events start from this day on (default: today, UTC)
	Days    int       // over this many days (default 365)
	FirstID int64     // id of the first event (default 1)
}

// City is one city of the catalog.
type City struct {
	Slug, Name, Timezone string
	Lat, Lon             float64
	Weight               int // share of events, roughly by size
	Streets              []string
}

// Cities are the cities events are spread over.
var Cities = []City{
	{"moscow", "Москва", "Europe/Moscow", 55.7558, 37.6173, 30, []string{"ул. Тверская", "ул. Арбат", "Ленинский пр-т", "ул. Покровка", "Садовая-Кудринская ул.", "пр-т Мира"}},
	{"saint-petersburg", "Санкт-Петербург", "Europe/Moscow", 59.9386, 30.3141, 18, []string{"Невский пр-т", "ул. Рубинштейна", "Литейный пр-т", "наб. реки Фонтанки", "Московский пр-т"}},
	{"novosibirsk", "Новосибирск", "Asia/Novosibirsk", 55.0084, 82.9357, 6, []string{"Красный пр-т", "ул. Ленина", "ул. Советская", "ул. Каменская"}},
	{"yekaterinburg", "Екатеринбург", "Asia/Yekaterinburg", 56.8389, 60.6057, 6, []string{"ул. Ленина", "ул. Малышева", "ул. 8 Марта", "ул. Вайнера"}},
	{"kazan", "Казань", "Europe/Moscow", 55.7961, 49.1064, 6, []string{"ул. Баумана", "ул. Пушкина", "ул. Петербургская", "ул. Кремлёвская"}},
	{"nizhny-novgorod", "Нижний Новгород", "Europe/Moscow", 56.3269, 44.0059, 5, []string{"ул. Большая Покровская", "ул. Рождественская", "ул. Минина"}},
	{"samara", "Самара", "Europe/Samara", 53.1959, 50.1002, 5, []string{"ул. Куйбышева", "ул. Ленинградская", "ул. Фрунзе"}},
	{"krasnodar", "Краснодар", "Europe/Moscow", 45.0355, 38.9753, 5, []string{"ул. Красная", "ул. Северная", "ул. Ставропольская"}},
	{"vladivostok", "Владивосток", "Asia/Vladivostok", 43.1155, 131.8855, 4, []string{"ул. Светланская", "Океанский пр-т", "ул. Алеутская"}},
	{"perm", "Пермь", "Asia/Yekaterinburg", 58.0105, 56.2502, 4, []string{"Комсомольский пр-т", "ул. Ленина", "ул. Петропавловская"}},
	{"rostov-on-don", "Ростов-на-Дону", "Europe/Moscow", 47.2357, 39.7015, 4, []string{"ул. Большая Садовая", "Пушкинская ул.", "Ворошиловский пр-т"}},
	{"omsk", "Омск", "Asia/Omsk", 54.9885, 73.3242, 3, []string{"ул. Ленина", "ул. Карла Маркса", "ул. Гагарина"}},
}

// venueKind is a kind of venue: its name patterns, the categories it hosts, and how likely
// its building answers yes to each building-level code.
type venueKind struct {
	patterns   []string
	categories []string
	building   map[string]float64
}

var kinds = []venueKind{
	{[]string{"Концертный зал «%s»", "Филармония «%s»", "Дворец культуры «%s»"}, []string{"concert", "festival", "standup", "kids"},
		map[string]float64{"step_free_entrance": 0.28, "elevator": 0.40, "wheelchair_seating": 0.40, "accessible_toilet": 0.40, "accessible_parking": 0.25, "companion_seat": 0.30, "guide_dog_allowed": 0.25, "tactile_guidance": 0.06, "hearing_loop": 0.05, "quiet_space": 0.05}},
	{[]string{"Театр «%s»", "Драматический театр «%s»", "Театр оперы и балета «%s»", "Камерный театр «%s»"}, []string{"theatre", "opera", "ballet", "kids"},
		map[string]float64{"step_free_entrance": 0.22, "elevator": 0.35, "wheelchair_seating": 0.35, "accessible_toilet": 0.35, "accessible_parking": 0.20, "companion_seat": 0.35, "guide_dog_allowed": 0.20, "tactile_guidance": 0.08, "hearing_loop": 0.06, "quiet_space": 0.06}},
	{[]string{"Музей «%s»", "Галерея «%s»", "Выставочный центр «%s»", "Арт-пространство «%s»"}, []string{"exhibition", "lecture", "excursion", "kids"},
		map[string]float64{"step_free_entrance": 0.12, "elevator": 0.40, "wheelchair_seating": 0.10, "accessible_toilet": 0.40, "accessible_parking": 0.20, "companion_seat": 0.15, "guide_dog_allowed": 0.35, "tactile_guidance": 0.15, "hearing_loop": 0.03, "quiet_space": 0.10}},
	{[]string{"Клуб «%s»", "Лофт «%s»", "Бар «%s»"}, []string{"concert", "standup", "show"},
		map[string]float64{"step_free_entrance": 0.12, "elevator": 0.10, "wheelchair_seating": 0.15, "accessible_toilet": 0.20, "accessible_parking": 0.10, "companion_seat": 0.10, "guide_dog_allowed": 0.10, "tactile_guidance": 0.01, "hearing_loop": 0.01, "quiet_space": 0.02}},
	{[]string{"Кинотеатр «%s»", "Культурный центр «%s»", "Дом кино «%s»"}, []string{"cinema", "lecture", "festival", "show"},
		map[string]float64{"step_free_entrance": 0.30, "elevator": 0.45, "wheelchair_seating": 0.40, "accessible_toilet": 0.45, "accessible_parking": 0.30, "companion_seat": 0.25, "guide_dog_allowed": 0.20, "tactile_guidance": 0.05, "hearing_loop": 0.04, "quiet_space": 0.04}},
}

// eventLevel are the codes an event (not its building) answers, with the chance of yes per
// category ("*" for any other category).
var eventLevel = map[string]map[string]float64{
	"braille":               {"exhibition": 0.05, "*": 0.015},
	"audio_description":     {"theatre": 0.08, "cinema": 0.10, "exhibition": 0.06, "ballet": 0.05, "*": 0.01},
	"tactile_exhibits":      {"exhibition": 0.12, "excursion": 0.08, "*": 0.002},
	"sign_language":         {"theatre": 0.07, "lecture": 0.10, "excursion": 0.08, "kids": 0.06, "*": 0.03},
	"subtitles":             {"cinema": 0.35, "theatre": 0.08, "opera": 0.20, "lecture": 0.08, "*": 0.02},
	"easy_read":             {"exhibition": 0.08, "kids": 0.08, "excursion": 0.06, "*": 0.02},
	"relaxed_performance":   {"kids": 0.12, "theatre": 0.04, "cinema": 0.05, "*": 0.01},
	"photosensitivity_safe": {"exhibition": 0.30, "lecture": 0.35, "theatre": 0.15, "kids": 0.25, "*": 0.06},
}

var venueNames = []string{
	"Октябрь", "Россия", "Юность", "Космос", "Аврора", "Маяк", "Современник", "Горизонт", "Северное сияние",
	"Гармония", "Рассвет", "Мир", "Победа", "Заря", "Родина", "Спутник", "Старый город", "Новая сцена",
	"Берёзка", "Волна", "Пушкинский", "Ленком", "Эрмитаж", "Синема Парк", "Каро", "Арт-квартал",
	"Манеж", "Артель", "Форма", "Квадрат", "Ткачи", "Винзавод", "Этаж", "Циферблат", "Сфера", "Тёплый",
}

var titles = map[string][]string{
	"concert":    {"Симфонический вечер: Чайковский", "Органная музыка при свечах", "Джазовый квартет «Синяя птица»", "Рок-концерт «Звуки города»", "Хиты 80-х в живом исполнении", "Камерный оркестр: Вивальди «Времена года»", "Романсы и песни военных лет", "Фортепианный вечер: Рахманинов"},
	"theatre":    {"Вишнёвый сад", "Ревизор", "Гамлет", "Горе от ума", "Три сестры", "Мастер и Маргарита", "Бесприданница", "Чайка", "Женитьба", "На дне"},
	"opera":      {"Евгений Онегин", "Пиковая дама", "Кармен", "Травиата", "Борис Годунов", "Волшебная флейта"},
	"ballet":     {"Лебединое озеро", "Щелкунчик", "Жизель", "Спящая красавица", "Дон Кихот", "Ромео и Джульетта"},
	"exhibition": {"Выставка «Импрессионисты»", "Выставка «Русский авангард»", "Выставка «Фотография XX века»", "Выставка «Айвазовский и море»", "Выставка «Космос: от мечты к полёту»", "Выставка «Динозавры»"},
	"show":       {"Шоу иллюзионистов", "Цирковое шоу «Огни»", "Шоу мыльных пузырей", "Лазерное шоу", "Ледовое шоу «Снежная королева»"},
	"cinema":     {"Показ: «Москва слезам не верит»", "Ночь короткого метра", "Ретроспектива Тарковского", "Кино под открытым небом", "Показ: «Служебный роман»"},
	"lecture":    {"Лекция «Как читать картину»", "Лекция «История русского театра»", "Лекция «Мозг и музыка»", "Лекция «Архитектура модерна»"},
	"festival":   {"Фестиваль уличной еды и музыки", "Фестиваль «Джаз в саду»", "Книжный фестиваль", "Фестиваль документального кино"},
	"kids":       {"Спектакль для детей «Кот в сапогах»", "Мастер-класс «Рисуем вместе»", "Сказка «Морозко»", "Кукольный театр «Теремок»"},
	"standup":    {"Стендап: открытый микрофон", "Большой стендап-концерт", "Импровизация: вечер комедии"},
	"excursion":  {"Экскурсия «Тайны старого города»", "Экскурсия по фондам музея", "Экскурсия «Город глазами архитектора»"},
}

var descriptions = []string{
	"Вечер, который подойдёт и для первого знакомства, и для ценителей.",
	"Программа рассчитана на зрителей любого возраста.",
	"Продолжительность около двух часов с антрактом.",
	"Перед началом — короткое вступительное слово.",
	"Билеты для сопровождающих — по запросу в кассе.",
	"Программа может меняться; следите за новостями площадки.",
}

type venue struct {
	v     catalog.Venue
	city  int
	kind  int
	facts catalog.Facts // the building's facts
	// seating: its wheelchair seating was drawn yes (before any not_applicable), which a show
	// may still deny.
	seating bool
}

// Generator makes the events of one catalog.
type Generator struct {
	o   Options
	rng *rand.Rand
	// aux draws what the catalog gained after its first version (who stated a fact and when,
	// not_applicable), so that the answers rng draws stay those of the same seed before.
	aux     *rand.Rand
	venues  [][]venue // by city
	cumCity []int
	zones   []*time.Location
	stated  map[int64]bool // venues whose facts an event has carried
}

// Who states a venue's facts, by share (the rest: nobody says).
var venueSources = []struct {
	source string
	share  float64
}{{"venue_survey", 0.55}, {"visitor_report", 0.20}, {"import_a11yjson", 0.10}, {"organiser", 0.05}}

// notApplicable are the building codes that may not apply at all, with the share of venues of
// each kind (by index of kinds) where they do not: no parking of any kind, a single-storey
// building (no lift), standing exhibitions (no seating), an open-air stage (no toilet).
var notApplicable = map[string][]float64{
	"accessible_parking": {0.15, 0.15, 0.20, 0.30, 0.10},
	"elevator":           {0.15, 0.10, 0.15, 0.35, 0.10},
	"wheelchair_seating": {0, 0, 0.45, 0.10, 0},
	"companion_seat":     {0, 0, 0.45, 0.10, 0},
	"accessible_toilet":  {0.02, 0.01, 0.01, 0.03, 0.01},
}

// irrelevant are the session codes that do not apply to a category, which organisers state as
// not_applicable for some of their events.
var irrelevant = map[string][]string{
	"tactile_exhibits":    {"concert", "theatre", "opera", "ballet", "cinema", "standup", "show", "festival"},
	"relaxed_performance": {"exhibition", "lecture", "excursion"},
	"audio_description":   {"concert", "standup"},
	"subtitles":           {"concert", "exhibition"},
}

// New returns a generator for o.
func New(o Options) (*Generator, error) {
	if o.Events < 0 {
		return nil, fmt.Errorf("seed: events must not be negative")
	}
	if o.Days <= 0 {
		o.Days = 365
	}
	if o.FirstID <= 0 {
		o.FirstID = 1
	}
	if o.Start.IsZero() {
		o.Start = time.Now().UTC()
	}
	o.Start = o.Start.UTC().Truncate(24 * time.Hour)
	g := &Generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		aux: rand.New(rand.NewPCG(o.Seed^0x5bd1e995, o.Seed)), stated: map[int64]bool{}}
	sum := 0
	for ci, c := range Cities {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return nil, fmt.Errorf("seed: zone of %s: %w", c.Slug, err)
		}
		g.zones = append(g.zones, loc)
		sum += c.Weight
		g.cumCity = append(g.cumCity, sum)
		g.venues = append(g.venues, g.makeVenues(ci, c))
	}
	return g, nil
}

// makeVenues builds a city's venues: more for bigger cities, ids city*1000+n.
func (g *Generator) makeVenues(ci int, c City) []venue {
	n := 12 + c.Weight*6
	out := make([]venue, 0, n)
	for i := 0; i < n; i++ {
		k := g.rng.IntN(len(kinds))
		kind := kinds[k]
		name := fmt.Sprintf(kind.patterns[g.rng.IntN(len(kind.patterns))], venueNames[g.rng.IntN(len(venueNames))])
		// Within ~8 km of the centre (1° of latitude is ~111 km).
		r := 0.07 * math.Sqrt(g.rng.Float64())
		a := 2 * math.Pi * g.rng.Float64()
		lat := round(c.Lat+r*math.Sin(a), 5)
		lon := round(c.Lon+r*math.Cos(a)/math.Cos(c.Lat*math.Pi/180), 5)
		v := venue{
			v: catalog.Venue{
				ID: int64(ci+1)*1000 + int64(i+1), Name: name,
				Address: fmt.Sprintf("%s, %d", c.Streets[g.rng.IntN(len(c.Streets))], 1+g.rng.IntN(120)),
				Lat:     &lat, Lon: &lon,
			},
			city: ci, kind: k, facts: catalog.Facts{},
		}
		// One survey (or report) per venue: its facts share who stated them and when.
		var said catalog.Fact
		x := g.aux.Float64()
		for _, s := range venueSources {
			if x < s.share {
				said.Source = s.source
				said.VerifiedAt = g.o.Start.AddDate(0, 0, -g.aux.IntN(1000)).Format(time.DateOnly)
				break
			}
			x -= s.share
		}
		answer := func(code, value string) {
			f := said
			f.Value = value
			v.facts[code] = f
		}
		for _, code := range catalog.Codes {
			p, ok := kind.building[code]
			if !ok {
				continue
			}
			switch x := g.rng.Float64(); {
			case x < p:
				answer(code, catalog.Yes)
			case x < p+(1-p)*0.4: // the rest: some say no, most do not say
				answer(code, catalog.No)
			}
		}
		// A building with a lift or a step-free entrance usually has both.
		if v.facts["elevator"].Value == catalog.Yes && g.rng.Float64() < 0.8 {
			answer("step_free_entrance", catalog.Yes)
		}
		v.seating = v.facts["wheelchair_seating"].Value == catalog.Yes
		for _, code := range catalog.Codes {
			if na := notApplicable[code]; na != nil && g.aux.Float64() < na[k] {
				answer(code, catalog.NotApplicable)
			}
		}
		out = append(out, v)
	}
	return out
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// VenueFacts are the facts of every venue of the catalog, by venue id.
func (g *Generator) VenueFacts() map[int64]catalog.Facts {
	out := map[int64]catalog.Facts{}
	for _, vs := range g.venues {
		for _, v := range vs {
			out[v.v.ID] = v.facts
		}
	}
	return out
}

// Each calls emit with every event in order; it stops at the first error emit returns.
func (g *Generator) Each(emit func(catalog.Event) error) error {
	for i := 0; i < g.o.Events; i++ {
		if err := emit(g.event(g.o.FirstID + int64(i))); err != nil {
			return err
		}
	}
	return nil
}

// Generate returns all events of o at once (for tests and small catalogs).
func Generate(o Options) ([]catalog.Event, error) {
	g, err := New(o)
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Event, 0, o.Events)
	return out, g.Each(func(e catalog.Event) error { out = append(out, e); return nil })
}

func (g *Generator) event(id int64) catalog.Event {
	x := g.rng.IntN(g.cumCity[len(g.cumCity)-1])
	ci := 0
	for g.cumCity[ci] <= x {
		ci++
	}
	city := Cities[ci]
	v := g.venues[ci][g.rng.IntN(len(g.venues[ci]))]
	kind := kinds[v.kind]
	cat := kind.categories[g.rng.IntN(len(kind.categories))]
	names := titles[cat]

	// Local start: a day of the window, 10:00..21:30 on the half hour.
	day := g.rng.IntN(g.o.Days)
	local := g.o.Start.AddDate(0, 0, day)
	start := time.Date(local.Year(), local.Month(), local.Day(), 10+g.rng.IntN(12), 30*g.rng.IntN(2), 0, 0, g.zones[ci])
	end := start.Add(time.Duration(60+30*g.rng.IntN(5)) * time.Minute)
	e := catalog.Event{
		ID:          id,
		Title:       names[g.rng.IntN(len(names))],
		Description: descriptions[g.rng.IntN(len(descriptions))] + " " + descriptions[g.rng.IntN(len(descriptions))],
		Category:    cat, CategoryName: catalog.DisplayName(cat, ""),
		City: city.Slug, CityName: city.Name,
		Venue:    v.v,
		StartsAt: start.UTC(), EndsAt: ptr(end.UTC()),
		Timezone:  city.Timezone,
		AgeRating: []string{"0+", "6+", "12+", "16+", "18+"}[g.rng.IntN(5)],
	}
	if g.rng.IntN(10) > 0 {
		lo := float64(300 * (1 + g.rng.IntN(10)))
		hi := lo * float64(1+g.rng.IntN(5))
		e.Price = &catalog.Price{Min: ptr(lo), Max: ptr(hi), Currency: "RUB"}
	} else {
		e.Price = &catalog.Price{Min: ptr(0.0), Max: ptr(0.0), Currency: "RUB"}
	}
	if !g.stated[v.v.ID] {
		// The first event at a venue carries the venue's facts, as an import of a venue's
		// programme would; the others inherit them.
		g.stated[v.v.ID] = true
		facts := maps.Clone(v.facts)
		e.Venue.Accessibility = &facts
	}
	// The organiser states the session's services, half the time saying when it checked them.
	var said catalog.Fact
	if g.aux.IntN(2) == 0 {
		said = catalog.Fact{Source: "organiser", VerifiedAt: start.AddDate(0, 0, -1-g.aux.IntN(60)).Format(time.DateOnly)}
	}
	acc := catalog.Facts{}
	answer := func(code, value string) {
		f := said
		f.Value = value
		acc[code] = f
	}
	// Seating for wheelchairs and a companion seat are also per hall and per show.
	if v.seating && g.rng.Float64() < 0.15 && v.facts["wheelchair_seating"].Value == catalog.Yes {
		answer("wheelchair_seating", catalog.No)
	}
	for _, code := range catalog.Codes {
		p, ok := eventLevel[code]
		if !ok {
			continue
		}
		pr, ok := p[cat]
		if !ok {
			pr = p["*"]
		}
		switch x := g.rng.Float64(); {
		case x < pr:
			answer(code, catalog.Yes)
		case x < pr+0.2:
			answer(code, catalog.No)
		}
		if slices.Contains(irrelevant[code], cat) && g.aux.Float64() < 0.35 {
			answer(code, catalog.NotApplicable) // the organiser says it does not apply
		}
	}
	e.Accessibility = acc
	return e
}

func ptr[T any](v T) *T { return &v }
