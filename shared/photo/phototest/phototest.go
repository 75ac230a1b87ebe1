// Package phototest makes test images in code: PNG, JPEG, GIF and lossless WebP of any size,
// and image headers that announce a huge canvas in a few bytes (decompression bombs).
package phototest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"testing"
)

func picture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	return img
}

// encoded is img as encode writes it; an error fails t.
func encoded(t testing.TB, img image.Image, encode func(io.Writer, image.Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// PNG is a w×h PNG.
func PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	return encoded(t, picture(w, h), png.Encode)
}

// NoisyPNG is a PNG of about n bytes or more (random-looking pixels barely compress).
func NoisyPNG(t testing.TB, n int) []byte {
	t.Helper()
	side := 64
	for side*side*4 < n {
		side *= 2
	}
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	return encoded(t, img, (&png.Encoder{CompressionLevel: png.NoCompression}).Encode)
}

// JPEG is a w×h JPEG.
func JPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	return encoded(t, picture(w, h), func(out io.Writer, img image.Image) error { return jpeg.Encode(out, img, nil) })
}

// GIF is a w×h GIF.
func GIF(t testing.TB, w, h int) []byte {
	t.Helper()
	return encoded(t, picture(w, h), func(out io.Writer, img image.Image) error { return gif.Encode(out, img, nil) })
}

// PNGHeader is a PNG signature and IHDR chunk announcing w×h (8-bit RGBA), with no pixels:
// what a decompression bomb looks like to a header check.
func PNGHeader(w, h uint32) []byte { return PNGHeaderDepth(w, h, 8) }

// PNGHeaderDepth is PNGHeader with RGBA samples of depth bits (8 or 16).
func PNGHeaderDepth(w, h uint32, depth byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, 6 // bit depth, colour type RGBA
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data))) // a bytes.Buffer does not fail
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...))) // same
	}
	chunk("IHDR", ihdr)
	return b.Bytes()
}

// WebP is a w×h (each 1..16384) lossless WebP of one colour, written by hand: a VP8L stream
// with no transform, no colour cache and five one-symbol prefix codes, so the pixels take no
// bits at all (this is also how a tiny file announces a 16384×16384 canvas).
func WebP(w, h int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8) // VP8L signature
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(1, 1)                                       // alpha is used
	bw.write(0, 3)                                       // version
	bw.write(0, 1)                                       // no transform
	bw.write(0, 1)                                       // no colour cache
	bw.write(0, 1)                                       // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} { // green, red, blue, alpha, distance
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // of 8 bits
		bw.write(uint32(sym), 8)
	}
	data := bw.bytes()
	var b bytes.Buffer
	pad := len(data) & 1
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(4+8+len(data)+pad)) // a bytes.Buffer does not fail
	b.WriteString("WEBPVP8L")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(data))) // same
	b.Write(data)
	if pad == 1 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

// write appends the n low bits of v, least significant first (VP8L bit order).
func (b *bitWriter) write(v uint32, n uint) {
	b.acc |= uint64(v&(1<<n-1)) << b.nbits
	b.nbits += n
	for b.nbits >= 8 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc >>= 8
		b.nbits -= 8
	}
}

func (b *bitWriter) bytes() []byte {
	if b.nbits > 0 {
		return append(b.buf, byte(b.acc))
	}
	return b.buf
}

// Secrets are the words the metadata of the *WithMetadata images carry: none of them may be
// left in a stored photo.
var Secrets = []string{"GPS", "55.7558", "SecretCam 9000", "xmpmeta", "ns.adobe.com/xap", "8BIM", "Taken at home",
	"tEXt", "zTXt", "iTXt", "eXIf", "tIME", "XMP ", "EXIF", "trailing payload", "JFXX"}

// exif is a big-endian EXIF payload (APP1 or eXIf) of IFD0 with Make, the Orientation
// orientation (0: none) and a pointer to a GPS directory with latitude 55.7558 N.
func exif(orientation int) []byte {
	var t bytes.Buffer
	be := binary.BigEndian
	w16 := func(v int) { _ = binary.Write(&t, be, uint16(v)) } // a bytes.Buffer does not fail
	w32 := func(v int) { _ = binary.Write(&t, be, uint32(v)) } // same
	entry := func(tag, typ, count, value int) { w16(tag); w16(typ); w32(count); w32(value) }
	t.WriteString("MM\x00\x2a")
	w32(8)
	n := 2
	if orientation > 0 {
		n = 3
	}
	ifd0End := 8 + 2 + 12*n + 4
	makeAt, gpsAt := ifd0End, ifd0End+16
	w16(n)
	entry(0x010f, 2, 15, makeAt) // Make, ASCII
	if orientation > 0 {
		entry(0x0112, 3, 1, orientation<<16) // Orientation, SHORT
	}
	entry(0x8825, 4, 1, gpsAt) // GPS IFD pointer
	w32(0)
	t.WriteString("SecretCam 9000\x00\x00") // 16 bytes
	w16(2)
	entry(0x0001, 2, 2, 'N'<<24) // GPSLatitudeRef "N"
	entry(0x0002, 2, 8, gpsAt+2+24+4)
	w32(0)
	t.WriteString("55.7558\x00") // the latitude, as text for the test's search
	return append([]byte("Exif\x00\x00"), t.Bytes()...)
}

const xmp = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="55,45.348N"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`

func jpegSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// JPEGWithMetadata is a w×h JPEG carrying what a phone and an editor leave in one: a JFIF
// header with a thumbnail, a JFXX thumbnail, EXIF with the camera's name, the Orientation
// orientation (0: none) and GPS coordinates, an XMP packet with GPS, Photoshop's IPTC
// resources, a comment, an ICC profile and Adobe's APP14 (which decoding needs), and bytes
// after the end of the image. Each secret it carries is in Secrets.
func JPEGWithMetadata(t testing.TB, w, h, orientation int) []byte {
	t.Helper()
	plain := JPEG(t, w, h)
	var b bytes.Buffer
	b.Write(plain[:2]) // SOI
	b.Write(jpegSegment(0xe0, append([]byte("JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x01\x01"), 200, 10, 10)))
	b.Write(jpegSegment(0xe0, []byte("JFXX\x00\x13thumbnail")))
	b.Write(jpegSegment(0xe1, exif(orientation)))
	b.Write(jpegSegment(0xe1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), xmp...)))
	b.Write(jpegSegment(0xe2, append([]byte("ICC_PROFILE\x00\x01\x01"), make([]byte, 128)...)))
	b.Write(jpegSegment(0xed, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0cCaption text")))
	b.Write(jpegSegment(0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")))
	b.Write(jpegSegment(0xfe, []byte("Taken at home")))
	b.Write(plain[2:])
	b.WriteString("trailing payload")
	return b.Bytes()
}

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data))) // a bytes.Buffer does not fail
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...))) // same
	return b.Bytes()
}

// PNGWithMetadata is a w×h PNG with text chunks (one holding GPS), compressed and
// international text (XMP), an eXIf chunk, a modification time, a private chunk, a gamma
// chunk (which stays) and bytes after IEND. Each secret it carries is in Secrets.
func PNGWithMetadata(t testing.TB, w, h int) []byte {
	t.Helper()
	plain := PNG(t, w, h)
	const ihdrEnd = 8 + 12 + 13
	var b bytes.Buffer
	b.Write(plain[:ihdrEnd])
	b.Write(pngChunk("gAMA", []byte{0, 0, 0xb1, 0x8f}))
	b.Write(pngChunk("tEXt", []byte("Comment\x00Taken at home, GPS 55.7558")))
	b.Write(pngChunk("zTXt", []byte("Software\x00\x00x\x9c\x0b\x4e\x4d\x2e\x4a\x2d\x71\x4e\xcc\x55\xb0\xb4\x30\x30\x00\x00\x3b\x1d\x05\xae")))
	b.Write(pngChunk("iTXt", append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), xmp...)))
	b.Write(pngChunk("eXIf", exif(0)[6:]))
	b.Write(pngChunk("tIME", []byte{0x07, 0xea, 5, 1, 12, 0, 0}))
	b.Write(pngChunk("prVt", []byte("SecretCam 9000")))
	b.Write(plain[ihdrEnd:])
	b.WriteString("trailing payload")
	return b.Bytes()
}

// WebPWithMetadata is WebP(w, h, c) in the extended format (VP8X announcing EXIF and XMP)
// with EXIF (GPS), XMP and an unknown chunk, and bytes after the RIFF chunk. Each secret it
// carries is in Secrets.
func WebPWithMetadata(w, h int, c color.NRGBA) []byte {
	plain := WebP(w, h, c)
	chunk := func(fourcc string, data []byte) []byte {
		b := append([]byte(fourcc), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(b[4:], uint32(len(data)))
		b = append(b, data...)
		if len(data)&1 == 1 {
			b = append(b, 0)
		}
		return b
	}
	vp8x := make([]byte, 10)
	vp8x[0] = 0x10 | 0x08 | 0x04 // alpha, EXIF, XMP
	vp8x[4], vp8x[5], vp8x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	vp8x[7], vp8x[8], vp8x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	body := []byte("WEBP")
	body = append(body, chunk("VP8X", vp8x)...)
	body = append(body, plain[12:]...) // the VP8L chunk
	body = append(body, chunk("EXIF", exif(0))...)
	body = append(body, chunk("XMP ", []byte(xmp))...)
	body = append(body, chunk("SCRT", []byte("SecretCam 9000"))...)
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(append(out, body...), "trailing payload"...)
}
