// Package photo is the photos of events: checking an uploaded image (its real type by the
// bytes, its dimensions before it is decoded, then a full decode), storing it in S3 (MinIO)
// under a content-addressed key, recording it on the event through the write log, and the URLs
// the read functions serve.
package photo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"

	"golang.org/x/image/webp"

	"github.com/dostupno/dostupno/shared/apperr"
)

// Limits of an upload.
const (
	MaxBytes  = 10 << 20   // body size (10 MiB)
	MaxSide   = 10_000     // pixels on either side
	MaxPixels = 40_000_000 // width × height
	// MaxDecoded bounds the memory of the full decode: 40 Mpx at 4 bytes a pixel (8-bit RGBA);
	// a 16-bit PNG is thus held to 20 Mpx.
	MaxDecoded = 4 * MaxPixels
)

// Format is one accepted image format.
type Format struct {
	ContentType string // image/png
	Ext         string // png
	Name        string // PNG, for messages

	magic        func([]byte) bool
	decodeConfig func(io.Reader) (image.Config, error)
	decode       func(io.Reader) (image.Image, error)
}

// Formats are the accepted formats.
var Formats = []Format{
	{ContentType: "image/jpeg", Ext: "jpg", Name: "JPEG", magic: isJPEG, decodeConfig: jpeg.DecodeConfig, decode: jpeg.Decode},
	{ContentType: "image/png", Ext: "png", Name: "PNG", magic: isPNG, decodeConfig: png.DecodeConfig, decode: png.Decode},
	{ContentType: "image/webp", Ext: "webp", Name: "WebP", magic: isWebP, decodeConfig: webp.DecodeConfig, decode: webp.Decode},
}

func isJPEG(b []byte) bool { return bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}) }
func isPNG(b []byte) bool  { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }
func isWebP(b []byte) bool {
	return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
}

// Declared returns the accepted format named by a Content-Type header value (parameters are
// allowed), or an unsupported_media_type error.
func Declared(contentType string) (Format, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		for _, f := range Formats {
			if f.ContentType == mt {
				return f, nil
			}
		}
	}
	return Format{}, apperr.New(apperr.UnsupportedMediaType, "Content-Type must be image/jpeg, image/png or image/webp")
}

// Info is what the checks learned about an image, and the bytes to store.
type Info struct {
	Format Format
	Width  int
	Height int
	Data   []byte // the image without its metadata (Strip): what is stored
	Bytes  int64  // len(Data)
	SHA256 string // hex of Data, the object key's name
}

// decodeSlot lets one full decode run at a time in an instance, so that its peak memory stays
// near one image of MaxPixels whatever the number of concurrent uploads.
var decodeSlot = make(chan struct{}, 1)

// Inspect checks that b is an image of format f and returns it without its metadata: the
// bytes must be of that format (not merely labelled so), its dimensions are read from the
// header and bounded before anything is decoded (a small file can announce a huge canvas),
// its metadata is stripped (Strip), and the whole stripped image must then decode; the
// content hash is of the stripped bytes. A wrong or damaged image is unsupported_media_type;
// absurd dimensions are payload_too_large.
func Inspect(b []byte, f Format) (Info, error) {
	if !f.magic(b) {
		for _, o := range Formats {
			if o.magic(b) {
				return Info{}, apperr.New(apperr.UnsupportedMediaType, "the body is a %s image but Content-Type says %s", o.Name, f.ContentType)
			}
		}
		return Info{}, apperr.New(apperr.UnsupportedMediaType, "the body is not a %s image (JPEG, PNG and WebP are accepted)", f.Name)
	}
	cfg, err := f.decodeConfig(bytes.NewReader(b))
	if err != nil {
		return Info{}, &apperr.Error{Code: apperr.UnsupportedMediaType, Message: fmt.Sprintf("the body is not a valid %s image", f.Name), Err: err}
	}
	if err := checkDimensions(cfg.Width, cfg.Height, bytesPerPixel(cfg.ColorModel)); err != nil {
		return Info{}, err
	}
	clean, err := Strip(b, f)
	if err == nil {
		decodeSlot <- struct{}{}
		_, err = f.decode(bytes.NewReader(clean))
		<-decodeSlot
	}
	if err != nil {
		return Info{}, &apperr.Error{Code: apperr.UnsupportedMediaType, Message: fmt.Sprintf("the %s image is damaged or uses a feature that is not supported", f.Name), Err: err}
	}
	sum := sha256.Sum256(clean)
	return Info{Format: f, Width: cfg.Width, Height: cfg.Height, Data: clean, Bytes: int64(len(clean)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func checkDimensions(w, h, bpp int) error {
	if w <= 0 || h <= 0 {
		return apperr.New(apperr.UnsupportedMediaType, "the image has no pixels (%d×%d)", w, h)
	}
	if w > MaxSide || h > MaxSide || int64(w)*int64(h) > MaxPixels || int64(w)*int64(h)*int64(bpp) > MaxDecoded {
		return apperr.New(apperr.PayloadTooLarge, "the image is %d×%d pixels; at most %d on a side and %d megapixels (%d for 16-bit images) are accepted",
			w, h, MaxSide, MaxPixels/1_000_000, MaxDecoded/8/1_000_000)
	}
	return nil
}

// bytesPerPixel is what the decoder allocates per pixel for images of model m.
func bytesPerPixel(m color.Model) int {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // 4:4:4 at worst
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// ReadBody reads at most MaxBytes from r and fails with payload_too_large as soon as there is
// more (r is typically an http.MaxBytesReader, which also stops the client early; a plain
// reader is cut at MaxBytes+1 here so nothing larger is ever held).
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge()
	case err != nil:
		return nil, &apperr.Error{Code: apperr.InvalidArgument, Message: "the body could not be read to its end", Err: err}
	case len(b) > MaxBytes:
		return nil, tooLarge()
	case len(b) == 0:
		return nil, apperr.New(apperr.UnsupportedMediaType, "the body is empty; send the image bytes")
	}
	return b, nil
}

func tooLarge() error {
	return apperr.New(apperr.PayloadTooLarge, "the image is larger than %d MiB", MaxBytes>>20)
}
