package search

import "strings"

// PhotoURL returns the function that turns a photo's object key into the URL the answers
// carry. With a public base (PUBLIC_PHOTO_BASE_URL) it is base + "/" + key. Without one it is
// the key as a relative path "/photos/<key>": the one place to change when photos are served
// by presigned URLs instead.
func PhotoURL(publicBase string) func(objectKey string) string {
	base := strings.TrimRight(publicBase, "/")
	return func(objectKey string) string { return photoURL(base, objectKey) }
}

func photoURL(base, objectKey string) string {
	return base + "/" + strings.TrimLeft(objectKey, "/")
}
