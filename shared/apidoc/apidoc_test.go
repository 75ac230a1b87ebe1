package apidoc

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestDocumentIsValid31(t *testing.T) {
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("got openapi %q, want 3.1.0", doc.OpenAPI)
	}
}

// TestParseRefusesBrokenDocuments shows that the validation behind Document can fail: each
// case breaks the real document in one place.
func TestParseRefusesBrokenDocuments(t *testing.T) {
	tests := []struct{ name, old, new string }{
		{"ErrDanglingRef", `$ref: "#/components/schemas/SearchPage"`, `$ref: "#/components/schemas/NoSuchPage"`},
		{"ErrBadType", "    ID:\n      type: integer", "    ID:\n      type: integr"},
		{"ErrPathParamNotDeclared", "/function/upload-photo/{event_id}:", "/function/upload-photo/{photo_id}:"},
		{"ErrNoVersion", "openapi: 3.1.0\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(YAML, []byte(tt.old)) {
				t.Fatalf("the document no longer contains %q; update the test", tt.old)
			}
			broken := bytes.Replace(YAML, []byte(tt.old), []byte(tt.new), 1)
			if _, err := parse(broken); err == nil {
				t.Fatal("got nil error, want the broken document refused")
			}
		})
	}
}

// TestOperationsDocumentCommonAnswers: what any function may answer is documented on each of
// its operations, and every error answer is the envelope.
func TestOperationsDocumentCommonAnswers(t *testing.T) {
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := Operations()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, op := range ops {
		if op.ID == "" || ids[op.ID] {
			t.Errorf("%s %s: got operationId %q, want a unique one", op.Method, op.Path, op.ID)
		}
		ids[op.ID] = true
		if op.Function == "" || op.Method == http.MethodOptions {
			continue
		}
		// A token is checked everywhere; the method is checked first; services can be down.
		for _, want := range []int{401, 405, 500, 503} {
			if !slices.Contains(op.Statuses, want) {
				t.Errorf("%s %s: got statuses %v, want %d among them", op.Method, op.Path, op.Statuses, want)
			}
		}
		operation := doc.Paths.Value(op.Path).GetOperation(op.Method)
		for code, ref := range operation.Responses.Map() {
			resp := ref.Value
			if code[0] != '4' && code[0] != '5' {
				continue
			}
			mt := resp.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
				t.Errorf("%s %s %s: want the Error envelope as application/json", op.Method, op.Path, code)
			}
			if code == "429" || code == "503" {
				h := resp.Headers["Retry-After"]
				if h == nil || !h.Value.Required {
					t.Errorf("%s %s %s: want a required Retry-After header", op.Method, op.Path, code)
				}
			}
		}
	}
}

func jsonHeader(extra ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

const (
	summary = `{"id":1,"title":"Орган","category":"concert","city":"moscow","venue":{"id":4,"name":"Дом музыки"},
		"starts_at":"2026-12-01T16:00:00Z","ends_at":null,"timezone":"Europe/Moscow",
		"accessibility":["step_free_entrance"],"cover_url":null,"availability":null}`
	details = `{"step_free_entrance":{"value":"yes","from":"venue","source":"venue_survey","verified_at":"2026-05-01"},
		"elevator":{"value":"no","from":"event","source":null,"verified_at":null},
		"wheelchair_seating":{"value":"unknown","from":"none","source":null,"verified_at":null},
		"accessible_toilet":{"value":"yes","from":"venue","source":null,"verified_at":null},
		"accessible_parking":{"value":"not_applicable","from":"venue","source":null,"verified_at":null},
		"companion_seat":{"value":"no","from":"event","source":null,"verified_at":null},
		"tactile_guidance":{"value":"no","from":"event","source":null,"verified_at":null},
		"braille":{"value":"no","from":"event","source":null,"verified_at":null},
		"audio_description":{"value":"no","from":"event","source":null,"verified_at":null},
		"tactile_exhibits":{"value":"no","from":"event","source":null,"verified_at":null},
		"guide_dog_allowed":{"value":"no","from":"event","source":null,"verified_at":null},
		"sign_language":{"value":"no","from":"event","source":"organiser","verified_at":"2026-11-01T10:00:00Z"},
		"subtitles":{"value":"no","from":"event","source":null,"verified_at":null},
		"hearing_loop":{"value":"no","from":"event","source":null,"verified_at":null},
		"easy_read":{"value":"no","from":"event","source":null,"verified_at":null},
		"relaxed_performance":{"value":"no","from":"event","source":null,"verified_at":null},
		"quiet_space":{"value":"no","from":"event","source":null,"verified_at":null},
		"photosensitivity_safe":{"value":"unknown","from":"none","source":null,"verified_at":null}}`
	sheet = `{"step_free_entrance":"yes","elevator":"no","wheelchair_seating":"unknown","accessible_toilet":"yes",
		"accessible_parking":"not_applicable","companion_seat":"no","tactile_guidance":"no","braille":"no",
		"audio_description":"no","tactile_exhibits":"no","guide_dog_allowed":"no","sign_language":"no",
		"subtitles":"no","hearing_loop":"no","easy_read":"no","relaxed_performance":"no","quiet_space":"no",
		"photosensitivity_safe":"unknown"}`
	event = `{"id":7,"title":"Орган","description":"","category":"concert","city":"moscow",
		"venue":{"id":4,"name":"Дом музыки","address":"","lat":null,"lon":null},
		"starts_at":"2026-12-01T16:00:00Z","ends_at":null,"timezone":"Europe/Moscow","age_rating":"",
		"price":null,"accessibility":` + sheet + `,"accessibility_details":` + details + `,"photos":[],"updated_at":"2026-11-01T10:00:00Z",
		"availability":{"wheelchair_spaces":2,"companion_seats":0,"as_of":"2026-11-01T09:00:00.25Z"}}`
	ld = `{"@context":"https://schema.org","@type":"MusicEvent","identifier":"7","name":"Орган","startDate":"2026-12-01T19:00:00+03:00",
		"eventStatus":"https://schema.org/EventScheduled","eventAttendanceMode":"https://schema.org/OfflineEventAttendanceMode",
		"location":{"@type":"Place","identifier":"4","name":"Дом музыки","address":{"@type":"PostalAddress","addressLocality":"Москва"},
		"amenityFeature":[{"@type":"LocationFeatureSpecification","propertyID":"step_free_entrance","name":"Безбарьерный вход","value":true}]}}`
	session = `{"user":{"id":"0b8f4f4e-8f9e-4c65-9d43-0c3f6f1a2b3c","email":"a@b.ru","name":"А","needs":[],"role":"user"},
		"token":"x.y.z","token_type":"Bearer","expires_at":"2026-12-01T16:00:00Z"}`
	function = `{"name":"search-events","image":"dostupno/search-events:0.1.0","namespace":"openfaas-fn","envProcess":"",` +
		`"envVars":{"a":"b"},"labels":{"a":"b"},"annotations":{"a":"b"},"secrets":["jwt-secret"],"limits":{"memory":"256Mi"},` +
		`"invocationCount":3,"replicas":1,"availableReplicas":1,"createdAt":"2026-01-02T03:04:05Z"}`
	envelope = `{"error":{"code":"invalid_argument","message":"unknown constraint code \"stairs\"","field":"constraints"}}`
)

func TestValidateResponse(t *testing.T) {
	tests := []struct {
		name           string
		method, target string
		status         int
		header         http.Header
		body           string
		want           string // "" for no error, else a part of the error
	}{
		{"OKSearch", "GET", "/function/search-events?constraints=braille&limit=5", 200, jsonHeader("X-Cache", "miss"),
			`{"items":[` + summary + `],"next_cursor":"abc","applied_constraints":["braille"]}`, ""},
		{"OKSearchLastPage", "GET", "/function/search-events", 200, jsonHeader("X-Cache", "hit"),
			`{"items":[],"next_cursor":null,"applied_constraints":[],"took_ms":3}`, ""},
		{"OKCatalog", "GET", "/function/search-events/constraints", 200, jsonHeader("X-Cache", "miss"),
			`{"constraints":[{"code":"braille","title":{"ru":"Шрифт Брайля","en":"Braille"},"groups":["С"]}],
			"profiles":[{"code":"vision","mgn":"С","title":{"ru":"З","en":"V"},"constraints":["braille"]}],
			"cities":[{"slug":"moscow","name":"Москва"}],"categories":[]}`, ""},
		{"OKInvalidArgument", "GET", "/function/search-events?constraints=stairs", 400, jsonHeader("X-Cache", "miss"), envelope, ""},
		{"OKLenientSearch", "GET", "/function/search-events?constraints=braille&match=lenient", 200, jsonHeader("X-Cache", "miss"),
			`{"items":[` + strings.Replace(summary, `"cover_url":null`, `"cover_url":null,"unknown":["braille"]`, 1) + `],"next_cursor":null,"applied_constraints":["braille"]}`, ""},
		{"OKEventByPath", "GET", "/function/get-event/7", 200, jsonHeader("ETag", `"v1"`, "X-Cache", "miss", "Vary", "Accept"), event, ""},
		{"OKEventByQuery", "GET", "/function/get-event?id=7", 200, jsonHeader("ETag", `"v1"`, "X-Cache", "hit", "Vary", "Accept"), event, ""},
		{"OKEventJSONLD", "GET", "/function/get-event/7", 200, http.Header{"Content-Type": {"application/ld+json; charset=utf-8"},
			"Etag": {`"v2"`}, "X-Cache": {"miss"}, "Vary": {"Accept"}}, ld, ""},
		{"OKUpsertVenue", "PUT", "/function/upsert-venue", 200, jsonHeader(), `{"id":45,"version":13}`, ""},
		{"OKSeatAvailability", "PUT", "/function/seat-availability", 200, jsonHeader(), `{"count":2,"ignored":1,"version":14}`, ""},
		{"ErrSeatAvailabilityWithoutIgnored", "PUT", "/function/seat-availability", 200, jsonHeader(), `{"count":2,"version":14}`, "ignored"},
		{"OKNotModified", "GET", "/function/get-event/7", 304, http.Header{"Etag": {`"v1"`}}, "", ""},
		{"OKRegister", "POST", "/function/register", 201, jsonHeader(), session, ""},
		{"OKLoginThrottled", "POST", "/function/login", 429, jsonHeader("Retry-After", "60"),
			`{"error":{"code":"rate_limited","message":"too many attempts"}}`, ""},
		{"OKUpsertOne", "PUT", "/function/upsert-event", 200, jsonHeader(), `{"id":7,"version":12}`, ""},
		{"OKUpsertMany", "PUT", "/function/upsert-event", 200, jsonHeader(), `{"count":3,"version":12}`, ""},
		{"OKPhoto", "POST", "/function/upload-photo/7", 201, jsonHeader("Location", "http://x/p.jpg"),
			`{"photo":{"url":"http://x/p.jpg","width":10,"height":20,"content_type":"image/jpeg"}}`, ""},
		{"OKSnapshot", "POST", "/function/cache-snapshot", 204, http.Header{}, "", ""},
		{"OKApply", "POST", "/function/db-writer", 204, http.Header{}, "", ""},
		{"ErrApplyAnswersNoData", "POST", "/function/db-writer", 200, jsonHeader(), `{"applied":2}`, "status is not supported"},
		{"OKWriterStatus", "GET", "/function/db-writer/status", 200, jsonHeader(), `{"replica":"primary","applied_seq":5,"stream_seq":6,"lag":1}`, ""},
		{"OKPreflight", "OPTIONS", "/function/get-event/7", 204, http.Header{}, "", ""},
		{"OKFunctions", "GET", "/system/functions", 200, jsonHeader(), `[` + function + `]`, ""},
		{"OKFunctionsNullMaps", "GET", "/system/functions?namespace=openfaas-fn", 200, jsonHeader(),
			strings.NewReplacer(`{"a":"b"}`, "null", `"2026-01-02T03:04:05Z"`, "null").Replace(`[` + function + `]`), ""},
		{"OKUnknownNamespace", "GET", "/system/functions?namespace=x", 400, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "namespace not valid\n", ""},
		{"OKNamespaces", "GET", "/system/namespaces", 200, jsonHeader(), `["openfaas-fn"]`, ""},
		{"OKCatchUp", "POST", "/function/catch-up", 204, http.Header{}, "", ""},
		{"ErrCatchUpAnswersNoData", "POST", "/function/catch-up", 200, jsonHeader(), `{"writers":[]}`, "status is not supported"},
		{"ErrNoNamespace", "GET", "/system/namespaces", 200, jsonHeader(), `[]`, "minItems"},
		{"ErrNegativeReplicas", "GET", "/system/functions", 200, jsonHeader(), `[` + strings.Replace(function, `"replicas":1`, `"replicas":-1`, 1) + `]`, "replicas"},
		{"ErrAnnotationNotString", "GET", "/system/functions", 200, jsonHeader(), `[` + strings.Replace(function, `"annotations":{"a":"b"}`, `"annotations":{"a":1}`, 1) + `]`, "annotations"},
		{"ErrCreatedAtNotADate", "GET", "/system/functions", 200, jsonHeader(), `[` + strings.Replace(function, `"2026-01-02T03:04:05Z"`, `"yesterday"`, 1) + `]`, "createdAt"},

		{"ErrUnknownPath", "GET", "/function/nothing", 200, jsonHeader(), `{}`, "no such path"},
		{"OKUnlistedMethod", "DELETE", "/function/register", 405, jsonHeader("Allow", "POST"),
			`{"error":{"code":"method_not_allowed","message":"use POST"}}`, ""},
		{"OKUnlistedPathOfFunction", "GET", "/function/db-writer/nothing", 404, jsonHeader(),
			`{"error":{"code":"not_found","message":"no such path"}}`, ""},
		{"ErrUnlistedMethodNot405", "DELETE", "/function/register", 200, jsonHeader(), `{}`, "has no DELETE"},
		{"ErrUnlistedMethodWrongCode", "DELETE", "/function/register", 405, jsonHeader("Allow", "POST"), envelope, "want method_not_allowed"},
		{"ErrUnlistedMethodNoAllow", "DELETE", "/function/register", 405, jsonHeader(),
			`{"error":{"code":"method_not_allowed","message":"use POST"}}`, "Allow"},
		{"ErrUnlistedPathOfUnknownFunction", "GET", "/function/nothing/x", 404, jsonHeader(),
			`{"error":{"code":"not_found","message":"no such path"}}`, "no such path"},
		{"ErrUndocumentedStatus", "GET", "/function/get-event/7", 418, jsonHeader(), envelope, "status is not supported"},
		{"ErrMissingField", "GET", "/function/search-events", 200, jsonHeader("X-Cache", "miss"), `{"items":[]}`, "next_cursor"},
		{"ErrUnknownCode", "GET", "/function/search-events", 200, jsonHeader("X-Cache", "miss"),
			`{"items":[],"next_cursor":null,"applied_constraints":["stairs"]}`, "applied_constraints"},
		{"ErrMissingXCache", "GET", "/function/search-events", 200, jsonHeader(),
			`{"items":[],"next_cursor":null,"applied_constraints":[]}`, "X-Cache"},
		{"ErrMissingETag", "GET", "/function/get-event/7", 200, jsonHeader("X-Cache", "miss"), event, "ETag"},
		{"ErrMissingRetryAfter", "POST", "/function/db-writer", 503, jsonHeader(),
			`{"error":{"code":"unavailable","message":"later"}}`, "Retry-After"},
		{"ErrNotTheEnvelope", "POST", "/function/register", 409, jsonHeader(), `{"message":"taken"}`, "error"},
		{"ErrUnknownErrorCode", "POST", "/function/register", 409, jsonHeader(), `{"error":{"code":"taken","message":"x"}}`, "code"},
		{"ErrNotJSON", "POST", "/function/register", 201, http.Header{"Content-Type": {"text/plain"}}, "ok", "text/plain"},
		{"ErrPartialSheet", "GET", "/function/get-event/7", 200, jsonHeader("ETag", `"v1"`, "X-Cache", "miss", "Vary", "Accept"),
			strings.Replace(event, `"step_free_entrance":"yes",`, "", 1), "accessibility"},
		{"ErrMissingVary", "GET", "/function/get-event/7", 200, jsonHeader("ETag", `"v1"`, "X-Cache", "miss"), event, "Vary"},
		{"ErrDetailFrom", "GET", "/function/get-event/7", 200, jsonHeader("ETag", `"v1"`, "X-Cache", "miss", "Vary", "Accept"),
			strings.Replace(event, `"from":"none"`, `"from":"nobody"`, 1), "from"},
		{"ErrJSONLDAsJSON", "GET", "/function/get-event/7", 200, jsonHeader("ETag", `"v1"`, "X-Cache", "miss", "Vary", "Accept"), ld, "accessibility"},
		{"ErrJSONLDContext", "GET", "/function/get-event/7", 200, http.Header{"Content-Type": {"application/ld+json; charset=utf-8"},
			"Etag": {`"v2"`}, "X-Cache": {"miss"}, "Vary": {"Accept"}}, strings.Replace(ld, "https://schema.org", "http://schema.org", 1), "@context"},
		{"ErrTokenType", "POST", "/function/login", 200, jsonHeader(), strings.Replace(session, "Bearer", "bearer", 1), "token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateResponse(tt.method, tt.target, tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.want != "" && err == nil:
				t.Fatalf("got no error, want one mentioning %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("got %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestFunctionOf(t *testing.T) {
	for path, want := range map[string]string{
		"/function/get-event/{id}": "get-event",
		"/function/login":          "login",
		"/system/functions":        "",
		"/functions/x":             "",
	} {
		if got := FunctionOf(path); got != want {
			t.Errorf("FunctionOf(%q): got %q, want %q", path, got, want)
		}
	}
}
