package photo

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/photo/phototest"
)

// pixels decodes b as format f into 8-bit NRGBA samples.
func pixels(t *testing.T, b []byte, f Format) *image.NRGBA {
	t.Helper()
	img, err := f.decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %s: %v", f.Name, err)
	}
	out := image.NewNRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out
}

func format(t *testing.T, contentType string) Format {
	t.Helper()
	f, err := Declared(contentType)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// jpegSegments lists the markers of a JPEG up to its first scan, with their payloads.
func jpegSegments(t *testing.T, b []byte) (markers []byte, payloads [][]byte) {
	t.Helper()
	for i := 2; i+4 <= len(b); {
		m, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		markers, payloads = append(markers, m), append(payloads, b[i+4:i+2+n])
		if m == markSOS {
			break
		}
		i += 2 + n
	}
	return markers, payloads
}

// Crafted images carrying GPS EXIF, XMP, IPTC, text chunks and comments are stored without
// any of it, decode to the same pixels, and are named by the hash of what is stored.
func TestStripMetadata(t *testing.T) {
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"JPEG", "image/jpeg", phototest.JPEGWithMetadata(t, 33, 21, 0)},
		{"JPEGAsStored", "image/jpeg", phototest.JPEGWithMetadata(t, 33, 21, 1)},
		{"PNG", "image/png", phototest.PNGWithMetadata(t, 19, 23)},
		{"WebP", "image/webp", phototest.WebPWithMetadata(9, 4, color.NRGBA{200, 100, 50, 255})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := format(t, tt.contentType)
			for _, s := range []string{"GPS", "55.7558", "xmpmeta", "SecretCam 9000", "trailing payload"} {
				if !bytes.Contains(tt.body, []byte(s)) {
					t.Fatalf("the crafted image lacks %q", s) // the test would prove nothing
				}
			}
			info, err := Inspect(tt.body, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range phototest.Secrets {
				if bytes.Contains(info.Data, []byte(s)) {
					t.Errorf("got %q in the stored bytes, want no metadata", s)
				}
			}
			if bytes.Contains(info.Data, []byte("Exif")) {
				t.Errorf("got an EXIF segment for an image shown as stored, want none")
			}
			if sum := sha256.Sum256(info.Data); info.SHA256 != hex.EncodeToString(sum[:]) || info.Bytes != int64(len(info.Data)) {
				t.Errorf("got hash %s of %d bytes, want the hash and size of the stored bytes", info.SHA256, info.Bytes)
			}
			if len(info.Data) >= len(tt.body) {
				t.Errorf("got %d bytes from %d, want fewer", len(info.Data), len(tt.body))
			}
			if before, after := pixels(t, tt.body, f), pixels(t, info.Data, f); !bytes.Equal(before.Pix, after.Pix) || before.Rect != after.Rect {
				t.Errorf("got other pixels after stripping, want the same")
			}
			again, err := Strip(info.Data, f)
			if err != nil || !bytes.Equal(again, info.Data) {
				t.Errorf("got %v and %d bytes stripping again, want the same bytes", err, len(again))
			}
		})
	}
}

// What decoding or display needs stays: JFIF (without its thumbnail), the ICC profile,
// Adobe's transform flag, and an orientation other than "as stored", alone.
func TestStripKeepsWhatDisplayNeeds(t *testing.T) {
	f := format(t, "image/jpeg")
	out, err := Strip(phototest.JPEGWithMetadata(t, 16, 16, 6), f)
	if err != nil {
		t.Fatal(err)
	}
	markers, payloads := jpegSegments(t, out)
	var app []string
	for i, m := range markers {
		if m >= markAPP0 && m <= markAPPF {
			app = append(app, string(payloads[i][:5]))
		}
	}
	if got := strings.Join(app, "|"); got != "JFIF\x00|Exif\x00|ICC_P|Adobe" {
		t.Fatalf("got application segments %q, want JFIF, the orientation, the ICC profile and Adobe's", got)
	}
	if o := exifOrientation(payloads[1]); o != 6 || len(payloads[1]) != 32 {
		t.Fatalf("got orientation %d in %d bytes, want 6 alone", o, len(payloads[1]))
	}
	if jfif := payloads[0]; len(jfif) != 14 || jfif[12] != 0 || jfif[13] != 0 {
		t.Fatalf("got JFIF %x, want no thumbnail", jfif)
	}

	w := format(t, "image/webp")
	web, err := Strip(phototest.WebPWithMetadata(3, 3, color.NRGBA{1, 2, 3, 255}), w)
	if err != nil {
		t.Fatal(err)
	}
	if size := binary.LittleEndian.Uint32(web[4:]); int(size) != len(web)-8 || string(web[12:16]) != "VP8X" || web[20] != 0x10 {
		t.Fatalf("got RIFF size %d of %d bytes, chunk %q, flags %#x; want the size written anew and only the alpha flag", size, len(web), web[12:16], web[20])
	}
}

func TestStripRefusesDamage(t *testing.T) {
	jpg := phototest.JPEG(t, 8, 8)
	pngB := phototest.PNG(t, 8, 8)
	web := phototest.WebP(2, 2, color.NRGBA{A: 255})
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"JPEGCut", "image/jpeg", jpg[:len(jpg)/2]},
		{"JPEGSegmentOverruns", "image/jpeg", []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E'}},
		{"JPEGNoMarker", "image/jpeg", []byte{0xff, 0xd8, 0x00, 0x00}},
		{"PNGNoIEND", "image/png", pngB[:len(pngB)-12]},
		{"PNGChunkOverruns", "image/png", append(append([]byte{}, pngB[:33]...), 0x7f, 0xff, 0xff, 0xff, 't', 'E', 'X', 't')},
		{"PNGUnknownCritical", "image/png", append(append(append([]byte{}, pngB[:33]...), pngChunkBytes("ZZZZ", nil)...), pngB[33:]...)},
		{"WebPSizeOverruns", "image/webp", append([]byte("RIFF\xff\xff\x00\x00WEBP"), web[12:]...)},
		{"WebPChunkOverruns", "image/webp", []byte("RIFF\x0c\x00\x00\x00WEBPVP8L\xff\x00\x00\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := Strip(tt.body, format(t, tt.contentType)); err == nil {
				t.Fatalf("got %d bytes, want the damage refused", len(out))
			}
		})
	}
}

func pngChunkBytes(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(append(b, typ...), data...)
	return binary.BigEndian.AppendUint32(b, 0) // the CRC is not checked while stripping
}

// FuzzStrip feeds the parsers arbitrary bytes: they never panic, never read past the input,
// and what they return is already stripped (stripping it again changes nothing).
func FuzzStrip(f *testing.F) {
	for _, b := range [][]byte{
		phototest.JPEGWithMetadata(f, 8, 8, 6), phototest.JPEG(f, 3, 3),
		phototest.PNGWithMetadata(f, 4, 4), phototest.PNG(f, 2, 2),
		phototest.WebPWithMetadata(2, 2, color.NRGBA{A: 255}), phototest.WebP(1, 1, color.NRGBA{}),
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ft := range Formats {
			out, err := Strip(b, ft)
			if err != nil {
				continue
			}
			again, err := Strip(out, ft)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("%s: got %v stripping %x again, want the same bytes", ft.Name, err, out)
			}
		}
	})
}
