package photo

import (
	"bytes"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/image/webp"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/photo/phototest"
)

func TestWebPWrittenByHandDecodes(t *testing.T) {
	img, err := webp.Decode(bytes.NewReader(phototest.WebP(3, 2, color.NRGBA{10, 20, 30, 255})))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("got %v, want 3×2", b)
	}
	if r, g, bl, _ := img.At(2, 1).RGBA(); r>>8 != 10 || g>>8 != 20 || bl>>8 != 30 {
		t.Fatalf("got rgb %d %d %d, want 10 20 30", r>>8, g>>8, bl>>8)
	}
}

func TestInspect(t *testing.T) {
	pngB := phototest.PNG(t, 40, 30)
	tests := []struct {
		name      string
		body      []byte
		declared  string
		wantCode  apperr.Code
		wantW     int
		wantH     int
		wantExt   string
		wantError string
	}{
		{name: "OKPNG", body: pngB, declared: "image/png", wantW: 40, wantH: 30, wantExt: "png"},
		{name: "OKJPEG", body: phototest.JPEG(t, 17, 9), declared: "image/jpeg", wantW: 17, wantH: 9, wantExt: "jpg"},
		{name: "OKWebP", body: phototest.WebP(5, 7, color.NRGBA{1, 2, 3, 255}), declared: "image/webp", wantW: 5, wantH: 7, wantExt: "webp"},
		{name: "OKDeclaredWithParameter", body: pngB, declared: "image/png; name=x.png", wantW: 40, wantH: 30, wantExt: "png"},
		{name: "ErrGIFLabelledPNG", body: phototest.GIF(t, 4, 4), declared: "image/png", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrHTMLLabelledPNG", body: []byte("<!doctype html><html><body>hi</body></html>"), declared: "image/png", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrPNGLabelledJPEG", body: pngB, declared: "image/jpeg", wantCode: apperr.UnsupportedMediaType, wantError: "is a PNG image"},
		{name: "ErrTextPlain", body: []byte("hello"), declared: "text/plain", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrGIFDeclared", body: phototest.GIF(t, 4, 4), declared: "image/gif", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrNoContentType", body: pngB, declared: "", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrTruncatedPNG", body: pngB[:len(pngB)-20], declared: "image/png", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrHeaderOnlyPNG", body: phototest.PNGHeader(10, 10), declared: "image/png", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrPNGBombSide", body: phototest.PNGHeader(100_000, 10), declared: "image/png", wantCode: apperr.PayloadTooLarge},
		{name: "ErrPNGBombArea", body: phototest.PNGHeader(9_000, 9_000), declared: "image/png", wantCode: apperr.PayloadTooLarge},
		{name: "ErrPNG16BitBomb", body: phototest.PNGHeaderDepth(6_000, 6_000, 16), declared: "image/png", wantCode: apperr.PayloadTooLarge},
		{name: "ErrPNG8BitSameSizeNotTooLargeButEmpty", body: phototest.PNGHeaderDepth(6_000, 6_000, 8), declared: "image/png", wantCode: apperr.UnsupportedMediaType},
		{name: "ErrWebPBomb", body: phototest.WebP(16384, 16384, color.NRGBA{A: 255}), declared: "image/webp", wantCode: apperr.PayloadTooLarge},
		{name: "ErrRIFFNotWebP", body: []byte("RIFF\x04\x00\x00\x00WAVE"), declared: "image/webp", wantCode: apperr.UnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := func() (Info, error) {
				f, err := Declared(tt.declared)
				if err != nil {
					return Info{}, err
				}
				return Inspect(tt.body, f)
			}()
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("got code %q (%v), want %q", got, err, tt.wantCode)
			}
			if tt.wantError != "" && !strings.Contains(err.Error(), tt.wantError) {
				t.Fatalf("got error %q, want it to say %q", err, tt.wantError)
			}
			if err != nil {
				return
			}
			if info.Width != tt.wantW || info.Height != tt.wantH || info.Format.Ext != tt.wantExt || info.Bytes != int64(len(tt.body)) || len(info.SHA256) != 64 {
				t.Fatalf("got %+v, want %d×%d %s of %d bytes", info, tt.wantW, tt.wantH, tt.wantExt, len(tt.body))
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		limitReq bool // behind http.MaxBytesReader, as in the function
		wantCode apperr.Code
	}{
		{"OKAtLimit", MaxBytes, false, ""},
		{"ErrOneOver", MaxBytes + 1, false, apperr.PayloadTooLarge},
		{"ErrOverBehindMaxBytesReader", MaxBytes + 1<<20, true, apperr.PayloadTooLarge},
		{"ErrEmpty", 0, false, apperr.UnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(make([]byte, tt.size))
			if tt.limitReq {
				r = http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(r), MaxBytes)
			}
			b, err := ReadBody(r)
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("got code %q (%v), want %q", got, err, tt.wantCode)
			}
			if err == nil && len(b) != tt.size {
				t.Fatalf("got %d bytes, want %d", len(b), tt.size)
			}
		})
	}
}

func BenchmarkInspect(b *testing.B) {
	for _, tc := range []struct {
		name string
		body []byte
		ct   string
	}{
		{"JPEG2000x1500", phototest.JPEG(b, 2000, 1500), "image/jpeg"},
		{"PNG2000x1500", phototest.PNG(b, 2000, 1500), "image/png"},
		{"PNGBombHeader", phototest.PNGHeader(100_000, 100_000), "image/png"},
	} {
		f, err := Declared(tc.ct)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				_, _ = Inspect(tc.body, f) // the bomb's refusal is the measured path
			}
		})
	}
}
