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

// PNG is a w×h PNG.
func PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
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
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// JPEG is a w×h JPEG.
func JPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// GIF is a w×h GIF.
func GIF(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, picture(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
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
