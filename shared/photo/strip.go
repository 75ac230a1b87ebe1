package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Metadata a photo must not carry out of the building: where and when it was taken (EXIF
// with its GPS directory, XMP, IPTC, a PNG's text and time chunks), the camera and its serial
// number, the software that edited it, comments and thumbnails (which can show what a crop
// removed). Strip removes them from the container and copies the compressed image data as it
// is, so the pixels are untouched (nothing is decoded or encoded again); what decoding or
// faithful display needs stays:
//
//   - JPEG: the JFIF header (APP0; its thumbnail is dropped), the ICC colour profile (APP2
//     ICC_PROFILE: wide-gamut phone photos look wrong without it) and Adobe's APP14 (its
//     transform flag tells a decoder whether the samples are YCbCr, RGB, CMYK or YCCK, so
//     dropping it changes the decoded pixels) stay; every other APPn (EXIF, XMP, IPTC and
//     Photoshop resources, MPF with its preview images, FlashPix...), COM and anything after
//     EOI go. An EXIF orientation other than "as stored" is kept, alone, in a new minimal
//     EXIF segment: without it a phone's portrait photo would be shown on its side.
//   - PNG: the chunks that decoding or colour need stay (IHDR, PLTE, IDAT, IEND, tRNS, gAMA,
//     cHRM, sRGB, iCCP, cICP, mDCV, cLLI, sBIT, bKGD, pHYs and APNG's acTL, fcTL, fdAT); every
//     other ancillary chunk goes (tEXt, zTXt, iTXt, eXIf, tIME, and private ones), and so does
//     anything after IEND. An unknown critical chunk is refused: no decoder could draw it.
//   - WebP: the EXIF and "XMP " chunks and unknown chunks go, VP8X's EXIF and XMP flags are
//     cleared and the RIFF size is written anew; the image, alpha, animation and ICC chunks
//     stay.
//
// A container whose structure is damaged is refused (errStructure): its bytes are not what
// any decoder would read.
func Strip(b []byte, f Format) ([]byte, error) {
	switch f.Ext {
	case "jpg":
		return stripJPEG(b)
	case "png":
		return stripPNG(b)
	case "webp":
		return stripWebP(b)
	}
	return nil, fmt.Errorf("strip: no container parser for %s", f.Name)
}

var errStructure = errors.New("the container's structure is damaged")

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errStructure, fmt.Sprintf(format, args...))
}

// JPEG markers.
const (
	markSOI  = 0xd8
	markEOI  = 0xd9
	markSOS  = 0xda
	markAPP0 = 0xe0
	markAPP1 = 0xe1
	markAPP2 = 0xe2
	markAPPE = 0xee // APP14
	markAPPF = 0xef // APP15
	markCOM  = 0xfe
	markTEM  = 0x01
)

func isRST(m byte) bool { return m >= 0xd0 && m <= 0xd7 }

func stripJPEG(b []byte) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != markSOI {
		return nil, damaged("no JPEG start of image")
	}
	out := make([]byte, 0, len(b))
	out = append(out, 0xff, markSOI)
	for i := 2; ; {
		if i >= len(b) || b[i] != 0xff {
			return nil, damaged("a JPEG marker was expected at byte %d", i)
		}
		for i < len(b) && b[i] == 0xff { // fill bytes before a marker
			i++
		}
		if i >= len(b) {
			return nil, damaged("the JPEG ends inside a marker")
		}
		m := b[i]
		i++
		switch {
		case m == markEOI:
			return append(out, 0xff, markEOI), nil // what follows EOI is not the image
		case m == 0x00 || m == markSOI:
			return nil, damaged("JPEG marker %#02x at byte %d", m, i-1)
		case isRST(m) || m == markTEM:
			out = append(out, 0xff, m) // markers without a length
			continue
		}
		if i+2 > len(b) {
			return nil, damaged("the JPEG ends inside a segment length")
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return nil, damaged("JPEG segment %#02x of %d bytes at byte %d overruns the file", m, n, i)
		}
		seg := b[i : i+n] // length and payload
		out = appendJPEGSegment(out, m, seg)
		i += n
		if m != markSOS {
			continue
		}
		// Entropy-coded data: everything up to the next marker other than a stuffed 0x00 or
		// a restart marker, copied as it is.
		j := i
		for {
			k := bytes.IndexByte(b[j:], 0xff)
			if k < 0 {
				return nil, damaged("the JPEG ends inside the image data")
			}
			j += k
			k = j + 1
			for k < len(b) && b[k] == 0xff {
				k++
			}
			if k >= len(b) {
				return nil, damaged("the JPEG ends inside the image data")
			}
			if b[k] == 0x00 || isRST(b[k]) {
				j = k + 1
				continue
			}
			break
		}
		out = append(out, b[i:j]...)
		i = j
	}
}

// appendJPEGSegment appends segment m (seg: its length and payload) as it should be stored.
func appendJPEGSegment(out []byte, m byte, seg []byte) []byte {
	payload := seg[2:]
	switch {
	case m == markAPP0:
		if jfif := []byte("JFIF\x00"); bytes.HasPrefix(payload, jfif) && len(payload) >= 14 {
			// Identifier, version, units and densities; no thumbnail.
			out = append(out, 0xff, markAPP0, 0, 16)
			out = append(out, payload[:12]...)
			return append(out, 0, 0)
		}
		return out
	case m == markAPP1:
		if o := exifOrientation(payload); o >= 2 && o <= 8 {
			return append(out, orientationSegment(o)...)
		}
		return out
	case m == markAPP2:
		if bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")) {
			return append(append(out, 0xff, m), seg...)
		}
		return out
	case m == markAPPE:
		if bytes.HasPrefix(payload, []byte("Adobe")) {
			return append(append(out, 0xff, m), seg...)
		}
		return out
	case m > markAPP0 && m <= markAPPF, m == markCOM:
		return out
	}
	return append(append(out, 0xff, m), seg...)
}

// exifOrientation is the Orientation (tag 0x0112) of IFD0 of an APP1 EXIF payload, or 0.
func exifOrientation(payload []byte) int {
	t, ok := bytes.CutPrefix(payload, []byte("Exif\x00\x00"))
	if !ok || len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	ifd := uint64(bo.Uint32(t[4:]))
	if ifd+2 > uint64(len(t)) {
		return 0
	}
	n := uint64(bo.Uint16(t[ifd:]))
	for k := range n {
		e := ifd + 2 + 12*k
		if e+12 > uint64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 && bo.Uint32(t[e+4:]) == 1 {
			return int(bo.Uint16(t[e+8:]))
		}
	}
	return 0
}

// orientationSegment is an APP1 EXIF segment holding one tag, Orientation o: a big-endian
// TIFF header, IFD0 with one SHORT entry, and no next IFD.
func orientationSegment(o int) []byte {
	seg := []byte{0xff, markAPP1, 0, 34}
	seg = append(seg, "Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"...)
	seg = append(seg, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, 0, 0, 0, 0)
	return seg
}

// pngKept are the PNG chunks that decoding or colour need.
var pngKept = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true, "cICP": true, "mDCV": true, "cLLI": true,
	"sBIT": true, "bKGD": true, "pHYs": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

func stripPNG(b []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(b, []byte(sig)) {
		return nil, damaged("no PNG signature")
	}
	out := make([]byte, 0, len(b))
	out = append(out, sig...)
	for i := len(sig); ; {
		if len(b)-i < 12 {
			return nil, damaged("the PNG ends before its IEND chunk")
		}
		n := uint64(binary.BigEndian.Uint32(b[i:]))
		if n > uint64(len(b)-i-12) {
			return nil, damaged("PNG chunk of %d bytes at byte %d overruns the file", n, i)
		}
		typ := string(b[i+4 : i+8])
		end := i + 12 + int(n)
		switch {
		case pngKept[typ]:
			out = append(out, b[i:end]...)
		case typ[0]&0x20 == 0: // upper case: critical
			return nil, damaged("unknown critical PNG chunk %q", typ)
		}
		if typ == "IEND" {
			return out, nil
		}
		i = end
	}
}

// WebP VP8X flags of metadata.
const (
	vp8xEXIF = 0x08
	vp8xXMP  = 0x04
)

// webpKept are the WebP chunks that decoding, animation or colour need.
var webpKept = map[string]bool{"VP8 ": true, "VP8L": true, "VP8X": true, "ALPH": true, "ANIM": true, "ANMF": true, "ICCP": true}

func stripWebP(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, damaged("no WebP RIFF header")
	}
	size := uint64(binary.LittleEndian.Uint32(b[4:]))
	if size < 4 || size > uint64(len(b)-8) {
		return nil, damaged("the RIFF size %d does not fit the file", size)
	}
	end := 8 + int(size) // what follows the RIFF chunk is not the image
	out := make([]byte, 0, end)
	out = append(out, "RIFF\x00\x00\x00\x00WEBP"...)
	for i := 12; i < end; {
		if end-i < 8 {
			return nil, damaged("a WebP chunk header is cut at byte %d", i)
		}
		fourcc := string(b[i : i+4])
		n := uint64(binary.LittleEndian.Uint32(b[i+4:]))
		padded := n + n&1
		if padded > uint64(end-i-8) {
			return nil, damaged("WebP chunk %q of %d bytes at byte %d overruns the file", fourcc, n, i)
		}
		next := i + 8 + int(padded)
		if webpKept[fourcc] {
			start := len(out)
			out = append(out, b[i:next]...)
			if fourcc == "VP8X" && n > 0 {
				out[start+8] &^= vp8xEXIF | vp8xXMP
			}
		}
		i = next
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}
